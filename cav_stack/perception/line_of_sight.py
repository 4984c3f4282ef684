"""Whether the ego can see a road user near a point: range and occlusion by the objects it tracks.

A disc of ``radius`` [m] around a point is visible when all of it is within ``max_range`` [m]
of the sensor origin and no tracked object stands in the way of any of it: an occluder is a
track centre more than 1 m in front of the sensor, short of the disc by more than
``TARGET_HALF_LENGTH`` [m] (a track closer to the disc may be the road user itself), and
within ``occluder_half_width`` [m] of the cone from the origin to the disc (whose half-width
grows linearly from 0 at the origin to ``radius`` at the point). A disc around the sensor itself
is not vouched for (except the bare origin point). All positions in ``map`` [m].
"""
from __future__ import annotations

import math
from collections.abc import Callable

from cav_stack.core.messages import TrackList

TARGET_HALF_LENGTH = 2.5
"""Half the length of a passenger car [m]: tracks this close to the disc do not occlude it."""
SENSOR_CLEARANCE = 1.0
"""Tracks less than this far ahead along the line of sight [m] (beside the ego) do not occlude."""


def line_of_sight(origin_x: float, origin_y: float, tracks: TrackList, max_range: float,
                  occluder_half_width: float) -> Callable[..., bool]:
    """A visibility test ``(x, y, radius=0) -> bool`` for discs seen from (origin_x, origin_y).

    The test runs once per V2X sender and sensor frame over a few dozen tracks: a plain loop
    that stops at the first occluder costs less there than numpy's per-call overhead."""
    centres = [(o.x - origin_x, o.y - origin_y) for o in tracks.objects]

    def visible(x: float, y: float, radius: float = 0.0) -> bool:
        if radius < 0.0 or not math.isfinite(radius):
            raise ValueError(f"radius must be finite and >= 0, got {radius}")
        dx, dy = x - origin_x, y - origin_y
        distance = math.hypot(dx, dy)
        if distance + radius > max_range:
            return False
        if distance <= radius:  # the disc wraps the sensor: no line of sight to all of it is vouched for
            return radius == 0.0
        ux, uy = dx / distance, dy / distance
        near_end = distance - radius - TARGET_HALF_LENGTH
        for cx, cy in centres:
            along = cx * ux + cy * uy
            if (SENSOR_CLEARANCE < along < near_end
                    and abs(-cx * uy + cy * ux) < occluder_half_width + radius * along / distance):
                return False
        return True

    return visible
