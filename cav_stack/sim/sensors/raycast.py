"""Ray casting against vehicle boxes and the flat ground plane (``map``, z = 0), vectorised.

Vehicles are oriented boxes standing on the ground: centre (x, y) [m], yaw [rad], half length,
half width and height [m]. A ray is an origin (shared) and unit directions in ``map``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.core.truth import VehicleTruth


@dataclass(frozen=True, eq=False)
class Boxes:
    """Oriented vehicle boxes in ``map``: arrays of shape (B,) [m, rad]."""

    x: np.ndarray
    y: np.ndarray
    yaw: np.ndarray
    half_length: np.ndarray
    half_width: np.ndarray
    height: np.ndarray

    @staticmethod
    def from_vehicles(vehicles: tuple[VehicleTruth, ...] | list[VehicleTruth]) -> Boxes:
        """Boxes of the given vehicles, in their order."""
        arr = np.array([[v.x, v.y, v.yaw, 0.5 * v.length, 0.5 * v.width, v.height] for v in vehicles],
                       dtype=float).reshape(-1, 6)
        return Boxes(*(arr[:, i].copy() for i in range(6)))

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def corners(self) -> np.ndarray:
        """Ground-plane corners (B, 4, 2) [m] counter-clockwise from front-left."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        signs = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
        lx = signs[None, :, 0] * self.half_length[:, None]
        ly = signs[None, :, 1] * self.half_width[:, None]
        return np.stack([self.x[:, None] + c[:, None] * lx - s[:, None] * ly,
                         self.y[:, None] + s[:, None] * lx + c[:, None] * ly], axis=-1)


def _slab_hits(origin: np.ndarray, dirs: np.ndarray, boxes: Boxes, index: int) -> np.ndarray:
    """Entry distance [m] of each ray into box ``index`` (inf where the ray misses)."""
    c, s = math.cos(boxes.yaw[index]), math.sin(boxes.yaw[index])
    ox, oy = origin[0] - boxes.x[index], origin[1] - boxes.y[index]
    o_local = np.array([c * ox + s * oy, -s * ox + c * oy, origin[2]])
    d_local = np.stack([c * dirs[:, 0] + s * dirs[:, 1], -s * dirs[:, 0] + c * dirs[:, 1], dirs[:, 2]], axis=1)
    lo = np.array([-boxes.half_length[index], -boxes.half_width[index], 0.0])
    hi = np.array([boxes.half_length[index], boxes.half_width[index], boxes.height[index]])
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d_local
        t1 = (lo - o_local) * inv
        t2 = (hi - o_local) * inv
    t_min = np.where(np.isnan(t1), -np.inf, np.minimum(t1, t2))
    t_max = np.where(np.isnan(t2), np.inf, np.maximum(t1, t2))
    t_near = t_min.max(axis=1)
    t_far = t_max.min(axis=1)
    hit = (t_near <= t_far) & (t_near > 0.0)
    return np.where(hit, t_near, np.inf)


def azimuth_interval(origin: np.ndarray, boxes: Boxes, index: int) -> tuple[float, float]:
    """Smallest azimuth interval [rad, map] (start, width) seen from ``origin`` covering the box."""
    corners = boxes.corners()[index]
    angles = np.arctan2(corners[:, 1] - origin[1], corners[:, 0] - origin[0])
    centre = math.atan2(boxes.y[index] - origin[1], boxes.x[index] - origin[0])
    rel = wrap_angle(angles - centre)
    return centre + float(rel.min()), float(rel.max() - rel.min())


def cast_rays(origin: np.ndarray, dirs: np.ndarray, boxes: Boxes, ground: bool = True,
              sorted_azimuths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """First hit of each ray: (distance [m], box index or -1 for ground/none).

    origin: (3,) in ``map``; dirs: (R, 3) unit vectors in ``map``. Distances are inf where
    nothing is hit. When ``sorted_azimuths`` (R,) gives each ray's azimuth in ascending order,
    only the rays within a box's azimuth interval are tested against it (the LiDAR grid).
    """
    n_rays = dirs.shape[0]
    best = np.full(n_rays, np.inf)
    owner = np.full(n_rays, -1, dtype=np.int64)
    if ground:
        with np.errstate(divide="ignore"):
            t_ground = np.where(dirs[:, 2] < 0.0, -origin[2] / dirs[:, 2], np.inf)
        best = t_ground
    for b in range(len(boxes)):
        if sorted_azimuths is None:
            t = _slab_hits(origin, dirs, boxes, b)
            closer = t < best
            best = np.where(closer, t, best)
            owner = np.where(closer, b, owner)
            continue
        start, width = azimuth_interval(origin, boxes, b)
        start = wrap_angle(start)
        stop = start + width
        ranges = [(start, min(stop, math.pi))]
        if stop > math.pi:
            ranges.append((-math.pi, stop - 2.0 * math.pi))
        idx = np.concatenate([np.arange(*np.searchsorted(sorted_azimuths, r)) for r in ranges])
        if idx.size == 0:
            continue
        t = _slab_hits(origin, dirs[idx], boxes, b)
        closer = t < best[idx]
        best[idx[closer]] = t[closer]
        owner[idx[closer]] = b
    return best, owner
