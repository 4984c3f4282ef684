"""Lane-change decision with the MOBIL model.

MOBIL (A. Kesting, M. Treiber, D. Helbing, "General Lane-Changing Model MOBIL for Car-Following
Models", Transportation Research Record 1999, 2007): a change to a neighbouring lane is safe when
the new follower's IDM deceleration stays above -b_safe, and it is worth it when the ego's gain
plus politeness times the followers' net gain exceeds a threshold. Accelerations come from
:func:`cav_stack.control.idm_baseline.idm_acceleration` on the gaps measured along the path.
"""
from __future__ import annotations

from dataclasses import dataclass

from cav_stack.control.idm_baseline import IdmParams, Leader, idm_acceleration


@dataclass(frozen=True)
class MobilParams:
    """politeness [-]; threshold [m/s^2]: minimum net gain; safe_decel [m/s^2] (positive):
    strongest braking imposed on the new follower; min_gap [m]: minimum gaps front and rear."""

    politeness: float
    threshold: float
    safe_decel: float
    min_gap: float


@dataclass(frozen=True)
class LaneNeighbours:
    """Vehicles around the ego in one lane: gaps [m] (bumper to bumper) and speeds [m/s].

    front_gap / front_speed: the vehicle ahead (None: free); rear_gap / rear_speed: the vehicle
    behind (None: none); rear_front_gap: the rear vehicle's current gap to its own leader.
    """

    front_gap: float | None
    front_speed: float | None
    rear_gap: float | None
    rear_speed: float | None
    rear_front_gap: float | None = None


@dataclass(frozen=True)
class LaneChangeEvaluation:
    """MOBIL outcome for one target lane: safe, the net incentive [m/s^2] and whether to go."""

    safe: bool
    incentive: float
    change: bool


def _leader(gap: float | None, speed: float | None) -> Leader | None:
    return None if gap is None or speed is None else Leader(gap, speed, -1)


def evaluate_lane_change(ego_speed: float, current: LaneNeighbours, target: LaneNeighbours,
                         ego_length: float, idm: IdmParams, mobil: MobilParams) -> LaneChangeEvaluation:
    """MOBIL safety and incentive criteria for moving from ``current`` to ``target`` lane."""
    if (target.front_gap is not None and target.front_gap < mobil.min_gap) or \
            (target.rear_gap is not None and target.rear_gap < mobil.min_gap):
        return LaneChangeEvaluation(False, float("-inf"), False)
    ego_now = idm_acceleration(ego_speed, _leader(current.front_gap, current.front_speed), idm)
    ego_after = idm_acceleration(ego_speed, _leader(target.front_gap, target.front_speed), idm)
    new_follower_gain = 0.0
    if target.rear_gap is not None and target.rear_speed is not None:
        before = idm_acceleration(target.rear_speed, _leader(target.rear_front_gap, target.front_speed), idm)
        after = idm_acceleration(target.rear_speed, Leader(target.rear_gap, ego_speed, -1), idm)
        if after < -mobil.safe_decel:
            return LaneChangeEvaluation(False, float("-inf"), False)
        new_follower_gain = after - before
    old_follower_gain = 0.0
    if (current.rear_gap is not None and current.front_gap is not None and current.rear_speed is not None
            and current.front_speed is not None):
        joined = current.rear_gap + ego_length + current.front_gap
        before = idm_acceleration(current.rear_speed, Leader(current.rear_gap, ego_speed, -1), idm)
        after = idm_acceleration(current.rear_speed, Leader(joined, current.front_speed, -1), idm)
        old_follower_gain = after - before
    incentive = ego_after - ego_now + mobil.politeness * (new_follower_gain + old_follower_gain)
    return LaneChangeEvaluation(True, incentive, incentive > mobil.threshold)
