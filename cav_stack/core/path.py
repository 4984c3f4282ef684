"""Polyline paths in ``map``: arc-length projection and sampling (Frenet-style s, d).

s: distance along the path from its first point [m]; d: signed lateral offset [m], positive
to the left of the direction of travel; heading: path tangent [rad] (REP 103).
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


class Polyline:
    """A piecewise-linear path through at least two distinct points (N, 2) [m]."""

    def __init__(self, points: np.ndarray):
        pts = np.asarray(points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"path must be an (N, 2) array, got shape {pts.shape}")
        keep = np.concatenate(([True], np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-6))
        pts = pts[keep]
        if len(pts) < 2:
            raise ValueError("path needs at least two distinct points")
        self.points = pts
        seg = np.diff(pts, axis=0)
        self._seg_len = np.linalg.norm(seg, axis=1)
        self._seg_dir = seg / self._seg_len[:, None]
        self.s = np.concatenate(([0.0], np.cumsum(self._seg_len)))
        self.length = float(self.s[-1])

    def project(self, x: float, y: float) -> tuple[float, float, float]:
        """Closest point of the path to (x, y): returns (s [m], d [m], heading [rad])."""
        s, d, heading = self.project_many(np.array([[x, y]]))
        return float(s[0]), float(d[0]), float(heading[0])

    def project_many(self, xy: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`project` of M points (M, 2) [m] at once: arrays s [m], d [m], heading [rad]."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        rel = xy[:, None, :] - self.points[None, :-1]
        t = np.clip(np.einsum("mij,ij->mi", rel, self._seg_dir), 0.0, self._seg_len)
        foot = self.points[None, :-1] + self._seg_dir[None] * t[..., None]
        offset = xy[:, None, :] - foot
        i = np.argmin(np.sum(offset ** 2, axis=2), axis=1)
        rows = np.arange(len(xy))
        direction = self._seg_dir[i]
        chosen = offset[rows, i]
        d = direction[:, 0] * chosen[:, 1] - direction[:, 1] * chosen[:, 0]
        return self.s[i] + t[rows, i], d, np.arctan2(direction[:, 1], direction[:, 0])

    def sample(self, s: float) -> tuple[float, float, float]:
        """Point at arc length s (clamped to the path, extrapolated linearly beyond its ends)."""
        i = int(np.clip(np.searchsorted(self.s, s, side="right") - 1, 0, len(self._seg_len) - 1))
        t = s - self.s[i]
        direction = self._seg_dir[i]
        x, y = self.points[i] + direction * t
        return float(x), float(y), math.atan2(direction[1], direction[0])

    def offset(self, d: float) -> Polyline:
        """The path shifted laterally by d [m] (positive left), e.g. the neighbouring lane."""
        normals = np.column_stack((-self._seg_dir[:, 1], self._seg_dir[:, 0]))
        vertex_normals = np.vstack((normals[:1], normals[:-1] + normals[1:], normals[-1:]))
        vertex_normals /= np.linalg.norm(vertex_normals, axis=1)[:, None]
        return Polyline(self.points + d * vertex_normals)
