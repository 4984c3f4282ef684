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
#: Largest half-width [m] of the arc around a vertex over which the heading turns from one
#: segment's to the next one's. Within it the heading is linear in s (constant curvature); a
#: shorter adjacent segment narrows it to half that segment's length, so a polyline of short
#: segments (a curve) turns between segment midpoints. A long segment keeps its own heading
#: along the rest of its length: a kink where two edges join must not tilt the heading of the
#: whole next segment (a 1.5 m joint between a ramp and a 245 m lane did, by up to 25 degrees).
_MAX_TURN_HALF_WIDTH = 5.0


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
        # Heading turns linearly over [s_i - w_i, s_i + w_i] around each inner vertex i and is the
        # segment's own elsewhere; curvature is the slope inside those arcs, 0 outside.
        half = np.minimum(0.5 * np.minimum(self.segment_lengths[:-1], self.segment_lengths[1:]),
                          _MAX_TURN_HALF_WIDTH)
        inner = self.s_vertices[1:-1]
        self._turn_start, self._turn_end = inner - half, inner + half
        self._turn_curvature = np.diff(self.segment_headings) / (2.0 * half)
        knots_s = np.column_stack((self._turn_start, self._turn_end)).ravel()
        knots_heading = np.column_stack((self.segment_headings[:-1], self.segment_headings[1:])).ravel()
        self._knots_s = np.concatenate((self.s_vertices[:1], knots_s, self.s_vertices[-1:]))
        self._knots_heading = np.concatenate((self.segment_headings[:1], knots_heading, self.segment_headings[-1:]))

    @overload
    def heading(self, s: float) -> float: ...

    @overload
    def heading(self, s: np.ndarray) -> np.ndarray: ...

    def heading(self, s: float | np.ndarray) -> float | np.ndarray:
        """Path heading [rad, map] at arc length(s) ``s`` [m] (turning near vertices, see ``_MAX_TURN_HALF_WIDTH``)."""
        heading: float | np.ndarray = np.interp(s, self._knots_s, self._knots_heading)
        return heading

    def curvature(self, s: ArrayLike) -> np.ndarray:
        """Path curvature [1/m] (positive left) at arc length(s) ``s`` [m]; 0 beyond the ends."""
        s = np.asarray(s, dtype=float)
        if self._turn_curvature.size == 0:
            return np.zeros_like(s)
        idx = np.clip(np.searchsorted(self._turn_start, s, side="right") - 1, 0, self._turn_curvature.size - 1)
        inside = (s >= self._turn_start[idx]) & (s < self._turn_end[idx])
        return np.where(inside, self._turn_curvature[idx], 0.0)

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
