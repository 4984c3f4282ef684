"""Active merge: the rear gap MOBIL's safety criterion needs, the gap chosen (reachable, soonest,
kept against dithering), and the speed that brings the ego into it."""
from __future__ import annotations

import math

import pytest

from cav_stack.control.idm_baseline import IdmParams, Leader, idm_acceleration
from cav_stack.planning.merge_gap import LaneCar, MergeGapParams, MergeGapPlanner, safe_rear_gap

IDM = IdmParams(30.56, 1.5, 3.0, 1.5, 2.0, 6.0, 4.0, 1.0, 6.0)
SAFE_DECEL, MIN_GAP, EGO_LENGTH = 3.0, 8.0, 4.6
PARAMS = MergeGapParams(approach_speed=2.5, front_time_gap=0.1, max_accel=1.8, max_decel=2.5,
                        lane_change_time=2.5, abort_decel=4.5, switch_margin=1.0, min_slot=0.0,
                        rear_visibility=80.0)


def planner(**changes) -> MergeGapPlanner:
    params = MergeGapParams(**{**PARAMS.__dict__, **changes})
    return MergeGapPlanner(params, EGO_LENGTH, IDM, SAFE_DECEL, MIN_GAP)


@pytest.mark.parametrize("follower, ego", [(26.7, 26.7), (26.7, 29.2), (20.0, 15.0), (5.0, 5.0)])
def test_safe_rear_gap_is_where_the_follower_brakes_exactly_at_the_safe_decel(follower, ego):
    gap = safe_rear_gap(follower, ego, IDM, SAFE_DECEL, 0.0)
    assert idm_acceleration(follower, Leader(gap, ego, -1), IDM) == pytest.approx(-SAFE_DECEL, abs=1e-6)
    assert idm_acceleration(follower, Leader(gap + 1.0, ego, -1), IDM) > -SAFE_DECEL


def test_a_faster_merge_needs_a_shorter_gap_behind_and_never_less_than_min_gap():
    assert safe_rear_gap(26.7, 29.2, IDM, SAFE_DECEL, MIN_GAP) < safe_rear_gap(26.7, 26.7, IDM, SAFE_DECEL, MIN_GAP)
    assert safe_rear_gap(0.0, 10.0, IDM, SAFE_DECEL, MIN_GAP) == MIN_GAP


def main_line(spacing: float, speed: float, first: float, count: int) -> list[LaneCar]:
    return [LaneCar(k, first + k * spacing, speed, 4.5) for k in range(count)]


def test_gaps_too_short_for_the_slot_are_never_chosen():
    """Cars 30 m apart (25.5 m bumper to bumper) at 26.7 m/s leave no slot: 8 m ahead, ~15 m behind
    and the ego's 4.6 m do not fit; 60 m apart they do."""
    lanes = planner()
    assert lanes.gaps(main_line(30.0, 26.7, -150.0, 10), 0.0, 26.7, 500.0, 33.3)[:-1] == []
    found = lanes.gaps(main_line(60.0, 26.7, -150.0, 5), 0.0, 26.7, 500.0, 33.3)
    inner = [g for g in found if g.rear is not None and g.front is not None]
    assert inner and all(g.slot_front - g.slot_rear > 0.0 for g in inner)


def test_the_soonest_reachable_gap_wins_and_a_gap_beyond_the_lane_end_does_not():
    cars = [LaneCar(1, -80.0, 26.7, 4.5), LaneCar(2, -20.0, 26.7, 4.5), LaneCar(3, 60.0, 26.7, 4.5)]
    lanes = planner()
    best = lanes.choose(cars, 0.0, 26.7, 600.0, 33.3)
    assert best is not None and best.key == (2, 3)          # the ego is already beside gap 2-3
    assert best.slot_rear <= 0.0 <= best.slot_front or best.reach_time < 3.0
    assert lanes.choose(cars, 0.0, 26.7, 40.0, 33.3) is None      # no room left to change lanes


def test_the_speed_limit_bounds_which_gaps_are_reachable():
    """On a ramp (limit 22.2 m/s) beside main-line cars at 26.7 m/s, only gaps behind are reachable:
    the ego drops back to them; with the main line's limit it may also go for the one ahead."""
    cars = [LaneCar(1, -70.0, 26.7, 4.5), LaneCar(2, -10.0, 26.7, 4.5), LaneCar(3, 60.0, 26.7, 4.5)]
    on_ramp = planner().gaps(cars, 0.0, 22.0, 600.0, 22.2)
    assert on_ramp and all(g.slot_front < 0.0 for g in on_ramp)
    on_main = planner().gaps(cars, 0.0, 22.0, 600.0, 33.3)
    assert any(g.slot_rear > 0.0 for g in on_main)


def test_a_gap_is_judged_from_where_the_ramp_ends():
    """On the ramp at 22.2 m/s, 140 m before the acceleration lane, the gap beside the ego (2-3) would
    be reached soonest if it could speed up now; it cannot, the main line gains 28 m on it until
    then, so the gap behind (1-2) is chosen, its slot given as it is now."""
    cars = [LaneCar(1, -90.0, 26.7, 4.5), LaneCar(2, -35.0, 26.7, 4.5), LaneCar(3, 10.0, 26.7, 4.5),
            LaneCar(4, 70.0, 26.7, 4.5)]
    assert planner().choose(cars, 0.0, 22.2, 390.0, 33.3).key == (2, 3)
    held = planner().choose(cars, 0.0, 22.2, 390.0, 33.3, hold=140.0)
    now = {g.key: g for g in planner().gaps(cars, 0.0, 22.2, math.inf, math.inf)}
    assert held is not None and held.key == (1, 2)
    assert (held.slot_rear, held.slot_front) == (now[(1, 2)].slot_rear, now[(1, 2)].slot_front)
    assert held.reach_time > 140.0 / 22.2


def test_the_chosen_gap_is_kept_unless_another_is_reached_switch_margin_sooner():
    cars = [LaneCar(1, -60.0, 26.7, 4.5), LaneCar(2, 0.0, 26.7, 4.5), LaneCar(3, 60.0, 26.7, 4.5)]
    lanes = planner(switch_margin=100.0)
    first = lanes.choose(cars, -25.0, 26.7, 600.0, 33.3)
    moved = lanes.choose(cars, 30.0, 26.7, 600.0, 33.3)         # now beside the other gap
    assert first is not None and moved is not None and moved.key == first.key
    fresh = planner(switch_margin=0.0)
    fresh.choose(cars, -25.0, 26.7, 600.0, 33.3)
    assert fresh.choose(cars, 30.0, 26.7, 600.0, 33.3).key == (2, 3)


def test_speed_command_closes_in_then_rides_the_gap_within_the_limit():
    cars = [LaneCar(1, -60.0, 26.0, 4.5), LaneCar(2, 40.0, 26.0, 4.5)]
    lanes = planner()
    gap = lanes.choose(cars, -50.0, 26.0, 600.0, 33.3)
    assert gap is not None and gap.key == (1, 2)
    behind = lanes.speed_command(gap, gap.slot_rear - 2.0, 28.5, 33.3)
    assert behind == pytest.approx(28.5 + math.sqrt(2.0 * PARAMS.max_decel * 2.0))
    assert lanes.speed_command(gap, gap.slot_rear + 1.0, 28.5, 33.3) == pytest.approx(28.5)
    assert lanes.speed_command(gap, gap.slot_front + 30.0, 28.5, 33.3) < 26.0
    assert lanes.speed_command(gap, gap.slot_rear - 20.0, 28.5, 27.0) == 27.0
    # slower than the gap (a ramp car): it aims further into the slot, by what the gap gains meanwhile
    slow = lanes.speed_command(gap, gap.slot_rear + 1.0, 22.0, 33.3)
    assert slow > 28.5


def test_the_lane_behind_the_rearmost_car_seen_is_not_an_open_gap():
    """on_ramp_merge seed 18: on the ramp at 17 m/s, main-line cars at 27 m/s 94 m behind and
    alongside; the "gap" behind the rearmost one seen was reached first by slowing to 6 m/s, cars
    hidden behind it appeared, and the ego stopped at the lane end. Beyond ``rear_visibility`` the
    lane is unknown: that gap is not targeted; within it, it still is."""
    cars = [LaneCar(1, -94.0, 26.8, 4.5), LaneCar(2, -5.5, 27.6, 4.5), LaneCar(3, 35.1, 26.7, 4.5),
            LaneCar(4, 76.1, 25.5, 4.5)]
    behind_last = [g for g in planner().gaps(cars, 0.0, 17.3, 330.0, 33.3) if g.rear is None]
    assert behind_last == []
    seen_far = planner(rear_visibility=200.0).gaps(cars, 0.0, 17.3, 330.0, 33.3)
    assert [g.key for g in seen_far if g.rear is None] == [(None, 1)]
