"""The joint-action shield's rule: both sides of a conflict reach the same decision each on its
own, and a lost (stale) claim makes the shield yield."""
from __future__ import annotations

import pytest

from cav_stack.planning.shield import Claim, JointActionShield, ShieldParams, conflict, priority

PARAMS = ShieldParams(clearance=2.0, time_gap=0.5, lane_width=3.6, max_age=0.6, forget_after=5.0, step=0.1)


def _claim(station: int, s0: float, *, stamp: float = 10.0, lane_ends: bool = False, target_d: float = 3.6,
           speed: float = 25.0) -> Claim:
    """A lane change into the lane ``target_d`` [m], starting at ``s0`` [m], 5 s at ``speed``."""
    times = tuple(stamp + 0.5 * k for k in range(11))
    return Claim(station, stamp, lane_ends, target_d, 4.6, times,
                 tuple(s0 + speed * (t - stamp) for t in times), (speed,) * len(times))


def test_abreast_claims_of_one_lane_conflict_and_distant_or_other_lane_ones_do_not():
    ramp, next_lane = _claim(7, 100.0, lane_ends=True), _claim(3, 103.0)
    assert conflict(ramp, next_lane, PARAMS) and conflict(next_lane, ramp, PARAMS)
    assert not conflict(ramp, _claim(3, 160.0), PARAMS)                    # 60 m apart all along
    assert not conflict(ramp, _claim(3, 103.0, target_d=7.2), PARAMS)      # the lane beyond


@pytest.mark.parametrize("ramp_station, lane_station", [(7, 3), (3, 7)])
def test_both_sides_agree_and_the_merging_car_goes_first(ramp_station, lane_station):
    """Each CAV decides on its own claim and the other's share: the same winner, whatever the
    station IDs (the merging car, whose lane ends, proceeds); the other yields."""
    ramp = _claim(ramp_station, 100.0, lane_ends=True)
    lane = _claim(lane_station, 103.0, stamp=10.2)       # shared one generation later
    ramp_side, lane_side = JointActionShield(PARAMS), JointActionShield(PARAMS)
    on_ramp = ramp_side.decide(10.3, ramp, [lane])
    in_lane = lane_side.decide(10.3, lane, [ramp])
    assert on_ramp.proceed and not in_lane.proceed and in_lane.yield_to == ramp_station
    assert ramp_side.log[0].proceeds == lane_side.log[0].proceeds == ramp_station
    assert ramp_side.log[0].yields == lane_side.log[0].yields == lane_station


def test_same_class_ties_break_on_the_lower_station_id_on_both_sides():
    a, b = _claim(41, 100.0), _claim(12, 101.0, target_d=3.6)
    assert priority(b) < priority(a)
    assert not JointActionShield(PARAMS).decide(10.1, a, [b]).proceed
    assert JointActionShield(PARAMS).decide(10.1, b, [a]).proceed


def test_a_lost_message_makes_the_shield_yield_even_to_a_lower_priority_claim():
    """The ramp car would go first; but the other's last claim is 1 s old (its newer shares were
    lost): unsure, it yields; once a fresh share arrives the rule decides again."""
    ramp = _claim(3, 100.0, stamp=11.0, lane_ends=True)
    stale = _claim(7, 75.0, stamp=10.0)                 # beside it at t = 11 s, shared at 10 s
    shield = JointActionShield(PARAMS)
    decision = shield.decide(11.0, ramp, [stale])
    assert not decision.proceed and decision.unsure and decision.yield_to == 7
    fresh = _claim(7, 101.0, stamp=11.0)
    shield_fresh = JointActionShield(PARAMS)
    assert shield_fresh.decide(11.1, ramp, [fresh]).proceed


def test_a_decision_holds_while_the_pair_conflicts_and_ends_with_it():
    shield = JointActionShield(PARAMS)
    own, other = _claim(9, 100.0), _claim(2, 102.0)
    assert not shield.decide(10.1, own, [other]).proceed
    assert not shield.decide(10.2, own, [other]).proceed
    assert len(shield.log) == 1                              # one resolution, kept
    assert shield.decide(10.3, own, []).proceed              # the other withdrew its claim
    assert shield.decide(10.4, None, [other]).proceed        # no own lane change: nothing to shield


def test_a_claim_older_than_forget_after_is_dropped():
    own = _claim(9, 100.0, stamp=20.0)
    old = _claim(2, 100.0, stamp=10.0)
    assert JointActionShield(PARAMS).decide(20.0, own, [old]).proceed


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="forget_after"):
        ShieldParams(clearance=2.0, time_gap=0.5, lane_width=3.6, max_age=1.0, forget_after=0.5, step=0.1)
    with pytest.raises(ValueError, match="decrease"):
        Claim(1, 0.0, False, 0.0, 4.6, (1.0, 0.5), (0.0, 1.0), (1.0, 1.0))
