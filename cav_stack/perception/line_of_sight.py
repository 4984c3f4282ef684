"""Whether the ego can see a point: range and occlusion by the objects it tracks.

A point is visible when it is within ``max_range`` [m] of the sensor origin and no tracked
object stands in the way: no track centre lies closer than the point and within
``occluder_half_width`` [m] of the line of sight. All positions in ``map`` [m].
"""
from __future__ import annotations

import math

import numpy as np

from cav_stack.core.messages import TrackList


def line_of_sight(origin_x: float, origin_y: float, tracks: TrackList, max_range: float,
                  occluder_half_width: float):
    """A visibility test ``(x, y) -> bool`` for points seen from (origin_x, origin_y)."""
    centres = np.array([(o.x, o.y) for o in tracks.objects]).reshape(-1, 2) - (origin_x, origin_y)

    def visible(x: float, y: float) -> bool:
        dx, dy = x - origin_x, y - origin_y
        distance = math.hypot(dx, dy)
        if distance > max_range:
            return False
        if distance < 1e-6 or centres.size == 0:
            return True
        ux, uy = dx / distance, dy / distance
        along = centres[:, 0] * ux + centres[:, 1] * uy
        across = np.abs(-centres[:, 0] * uy + centres[:, 1] * ux)
        blocking = (along > 1.0) & (along < distance - 2.5) & (across < occluder_half_width)
        return not bool(blocking.any())

    return visible
