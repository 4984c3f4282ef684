"""A reference polyline (lane centre in ``map``) with arc length, heading and curvature.

The MPC works in the path frame of this polyline: arc length ``s`` [m] along it and signed
lateral offset ``ey`` [m] (positive left). Beyond both ends the path continues straight along
its first and last segment, so any horizon length is defined.
"""
from __future__ import annotations

from typing import overload

import numpy as np
from numpy.typing import ArrayLike

from cav_stack.core.frames import wrap_angle

#: Consecutive vertices closer than this [m] are merged.
_MIN_SEGMENT = 1e-6


class ReferencePath:
    """Arc-length parametrised polyline in ``map``.

    vertices: array (M, 2) of x, y [m], M >= 2 distinct points, all finite.
    Raises ValueError with the reason when the polyline is malformed.
    """

    def __init__(self, vertices: np.ndarray):
        pts = np.asarray(vertices, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"path must be an array of shape (M, 2), got shape {pts.shape}")
        if not np.all(np.isfinite(pts)):
            raise ValueError("path contains non-finite coordinates")
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = np.linalg.norm(np.diff(pts, axis=0), axis=1) > _MIN_SEGMENT
        pts = pts[keep]
        if len(pts) < 2:
            raise ValueError("path needs at least two distinct points")
        self.vertices = pts
        seg = np.diff(pts, axis=0)
        self.segment_lengths = np.linalg.norm(seg, axis=1)
        self.s_vertices = np.concatenate(([0.0], np.cumsum(self.segment_lengths)))
        self.length = float(self.s_vertices[-1])
        self.segment_headings = np.unwrap(np.arctan2(seg[:, 1], seg[:, 0]))
        # Heading is interpolated between segment midpoints; curvature is its slope there.
        self._s_mid = self.s_vertices[:-1] + 0.5 * self.segment_lengths
        if len(self._s_mid) > 1:
            self._kappa_mid = np.diff(self.segment_headings) / np.diff(self._s_mid)
        else:
            self._kappa_mid = np.zeros(0)

    @overload
    def heading(self, s: float) -> float: ...

    @overload
    def heading(self, s: np.ndarray) -> np.ndarray: ...

    def heading(self, s: float | np.ndarray) -> float | np.ndarray:
        """Path heading [rad, map] at arc length(s) ``s`` [m] (smoothed between vertices)."""
        return np.interp(s, self._s_mid, self.segment_headings)

    def curvature(self, s: ArrayLike) -> np.ndarray:
        """Path curvature [1/m] (positive left) at arc length(s) ``s`` [m]; 0 beyond the ends."""
        s = np.asarray(s, dtype=float)
        if self._kappa_mid.size == 0:
            return np.zeros_like(s)
        idx = np.searchsorted(self._s_mid, s, side="right") - 1
        inside = (idx >= 0) & (idx < self._kappa_mid.size)
        return np.where(inside, self._kappa_mid[np.clip(idx, 0, self._kappa_mid.size - 1)], 0.0)

    def point(self, s: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Map position (x, y) [m] of the path at arc length(s) ``s`` [m], extrapolated straight."""
        s = np.asarray(s, dtype=float)
        idx = np.clip(np.searchsorted(self.s_vertices, s, side="right") - 1, 0, len(self.segment_lengths) - 1)
        t = (s - self.s_vertices[idx]) / self.segment_lengths[idx]
        start = self.vertices[idx]
        end = self.vertices[idx + 1]
        return start[..., 0] + t * (end[..., 0] - start[..., 0]), start[..., 1] + t * (end[..., 1] - start[..., 1])

    def to_map(self, s: float | np.ndarray, lateral: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Map position (x, y) [m] of path-frame coordinates (s [m], lateral offset [m, left])."""
        x, y = self.point(s)
        theta = self.heading(s)
        return x - np.asarray(lateral) * np.sin(theta), y + np.asarray(lateral) * np.cos(theta)

    def project(self, x: float, y: float, yaw: float) -> tuple[float, float, float]:
        """Path frame of a map pose: (s [m], lateral offset [m, left], heading error [rad]).

        The closest point over all segments is taken; the first and last segment extend
        beyond the ends so poses before or after the path project onto their extensions.
        """
        start = self.vertices[:-1]
        seg = self.vertices[1:] - start
        rel = np.array([x, y]) - start
        t = np.einsum("ij,ij->i", rel, seg) / self.segment_lengths**2
        lo = np.zeros_like(t)
        hi = np.ones_like(t)
        lo[0] = -np.inf
        hi[-1] = np.inf
        t = np.clip(t, lo, hi)
        foot = start + t[:, None] * seg
        dist = np.linalg.norm(np.array([x, y]) - foot, axis=1)
        i = int(np.argmin(dist))
        s = float(self.s_vertices[i] + t[i] * self.segment_lengths[i])
        normal = np.array([-np.sin(self.segment_headings[i]), np.cos(self.segment_headings[i])])
        lateral = float(np.dot(np.array([x, y]) - foot[i], normal))
        heading_error = float(wrap_angle(yaw - float(self.heading(s))))
        return s, lateral, heading_error
