"""How much of each vehicle a sensor sees: a small fan of rays aimed across each box."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cav_stack.sim.sensors.raycast import Boxes, azimuth_interval, cast_rays

#: Fractions of a box's azimuth interval and of its height that the probe rays aim at.
_AZIMUTH_FRACTIONS = np.linspace(0.1, 0.9, 7)
_HEIGHT_FRACTIONS = np.array([0.3, 0.8])


@dataclass(frozen=True, eq=False)
class Visibility:
    """Per box: visible fraction [0..1] and the surface points [m, map] (R, 3) the probes hit.

    fraction: (B,); hit_points[b]: array of the probe hits on box b (possibly empty).
    """

    fraction: np.ndarray
    hit_points: tuple[np.ndarray, ...]


def probe_visibility(origin: np.ndarray, boxes: Boxes) -> Visibility:
    """Cast probe rays from ``origin`` (3,) [m, map] at every box; occluders are all boxes."""
    n = len(boxes)
    if n == 0:
        return Visibility(np.zeros(0), ())
    dirs = []
    for b in range(n):
        start, width = azimuth_interval(origin, boxes, b)
        az = start + width * _AZIMUTH_FRACTIONS
        dist = math.hypot(boxes.x[b] - origin[0], boxes.y[b] - origin[1])
        el = np.arctan2(boxes.height[b] * _HEIGHT_FRACTIONS - origin[2], max(dist, 0.1))
        a, e = np.meshgrid(az, el, indexing="ij")
        dirs.append(np.stack([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], axis=-1).reshape(-1, 3))
    per_box = dirs[0].shape[0]
    all_dirs = np.concatenate(dirs)
    ray_range, owner = cast_rays(origin, all_dirs, boxes, ground=True)
    target = np.repeat(np.arange(n), per_box)
    seen = owner == target
    fraction = seen.reshape(n, per_box).mean(axis=1)
    points = origin[None, :] + np.where(np.isfinite(ray_range), ray_range, 0.0)[:, None] * all_dirs
    hits = tuple(points[b * per_box:(b + 1) * per_box][seen[b * per_box:(b + 1) * per_box]] for b in range(n))
    return Visibility(fraction, hits)
