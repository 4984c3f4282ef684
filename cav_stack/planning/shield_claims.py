"""Shield claims (:class:`~cav_stack.planning.shield.Claim`) from shared plans, in the road frame of
the CAV that runs the shield: ``s`` [m] along its own lane's centre line (``path``, ``map``
frame), lateral ``d`` [m] to the left of it.

Plans are :class:`~cav_stack.core.messages.SharedPlan` (the own one as sent, the neighbours' as
received): points in ``map`` with ``t`` [s] relative to ``header.stamp``. A neighbour's target lane
is its first point's lateral position plus its ``target_lane_offset``, snapped to the nearest lane
centre of the own lane's grid (a lane change under way has moved it part of a lane already).
"""
from __future__ import annotations

import numpy as np

from cav_stack.core.messages import SharedPlan
from cav_stack.core.path import Polyline
from cav_stack.planning.shield import Claim

#: ManeuverShare intents (ASN.1 enumerator names) that claim a lane change.
LANE_CHANGE_INTENTS = ("laneChangeLeft", "laneChangeRight")


def claim_of(plan: SharedPlan, path: Polyline, target_offset: float, lane_width: float, lane_ends: bool,
             length: float) -> Claim:
    """The claim of ``plan`` for a lane change to the lane ``target_offset`` [m] (left +) of the
    lane its sender is in; ``lane_width`` [m] of the own lane's grid; ``lane_ends``: the sender's
    lane leads nowhere; ``length`` [m] of the sender."""
    xy = np.array([(p.x, p.y) for p in plan.points])
    s, d, _ = path.project_many(xy)
    target = round((float(d[0]) + target_offset) / lane_width) * lane_width
    times = tuple(plan.header.stamp + p.t for p in plan.points)
    return Claim(plan.station_id, plan.header.stamp, lane_ends, target, length, times,
                 tuple(float(v) for v in s), tuple(p.speed for p in plan.points))


def claimed_offset(plan: SharedPlan) -> float | None:
    """The target lane offset [m] a received plan claims (None: it announces no lane change)."""
    if plan.intent not in LANE_CHANGE_INTENTS or not plan.points or plan.target_lane_offset is None:
        return None
    return plan.target_lane_offset
