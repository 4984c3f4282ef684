"""R157 figures and the reference driver (Annex 4, Appendix 3) on synthetic truth, against the
closed-form stopping distance of its perception, reaction and jerk-limited braking phases."""
import math

import numpy as np
import pytest

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.eval.r157 import (BRAKE_BUILD_UP_S, MAX_DECEL_MPS2, PERCEPTION_TIME_S, REACTION_TIME_S, R157Recorder,
                                 family_of)
from cav_stack.world.road_map import Lane, RoadMap

DT = 0.05
V0 = 60.0 / 3.6
CUT_OUT_AT = 2.0          # [s] the lead starts leaving the lane at 1 m/s lateral speed


def straight_map() -> RoadMap:
    lane = Lane("e_0", "e", 0, np.array([[0.0, 0.0], [3000.0, 0.0]]), 3000.0, 3.5, 30.0)
    return RoadMap([lane], {"e": ("e_0",)}, [])


def car(name, x, y, speed, yaw=0.0):
    return VehicleTruth(name, x, y, yaw, speed, 0.0, 5.0, 2.0, 1.5, "e", 0, x)


def stopping_distance() -> float:
    """Distance [m] from the risk perception point to standstill of the reference driver at V0."""
    delay = PERCEPTION_TIME_S + REACTION_TIME_S
    jerk = MAX_DECEL_MPS2 / BRAKE_BUILD_UP_S
    ramp = V0 * BRAKE_BUILD_UP_S - jerk * BRAKE_BUILD_UP_S ** 3 / 6.0
    after_ramp = V0 - 0.5 * MAX_DECEL_MPS2 * BRAKE_BUILD_UP_S
    return V0 * delay + ramp + after_ramp ** 2 / (2.0 * MAX_DECEL_MPS2)


def cut_out_run(obstacle_gap: float, ego_brakes: bool) -> dict:
    """Ego at V0 behind a lead at V0 that leaves the lane at CUT_OUT_AT, revealing a stopped car
    ``obstacle_gap`` [m] (bumper to bumper) ahead of the ego's position at the risk perception point."""
    recorder = R157Recorder("ego", straight_map(), "cut_out")
    t_risk = CUT_OUT_AT + 0.375          # lateral 0.375 m at 1 m/s
    obstacle_x = V0 * t_risk + 5.0 + obstacle_gap
    ego_x, ego_v = 0.0, V0
    for k in range(int(20.0 / DT)):
        t = k * DT
        lead_y = 0.0 if t < CUT_OUT_AT else min(t - CUT_OUT_AT, 3.5)
        vehicles = [car("ego", ego_x, 0.0, ego_v), car("lead", ego_x + 40.0, lead_y, V0),
                    car("obstacle", obstacle_x, 0.0, 0.0)]
        recorder(WorldTruth(stamp=t, vehicles=tuple(vehicles)), {})
        if ego_brakes and t >= t_risk:
            ego_v = max(ego_v - 9.0 * DT, 0.0)
        ego_x += ego_v * DT
    return recorder.summary()["r157"]


def test_family_from_the_scenario_name():
    assert family_of("alks_scenario_4_4_1_cut_in_no_collision_template") == "cut_in"
    assert family_of("alks_scenario_4_5_1_cut_out_fully_blocking_template") == "cut_out"
    assert family_of("alks_scenario_4_6_1_forward_detection_deceleration") == "deceleration"
    assert family_of("alks_scenario_4_1_1_free_driving_template") is None


@pytest.mark.parametrize("margin, reference_collides", [(+1.5, False), (-1.5, True)])
def test_reference_driver_stops_within_its_closed_form_distance(margin, reference_collides):
    result = cut_out_run(stopping_distance() + margin, ego_brakes=True)
    reference = result["reference_driver"]
    assert reference["risk_perception_s"] == pytest.approx(CUT_OUT_AT + 0.375, abs=DT + 1e-9)
    assert reference["collision"] is reference_collides


def test_stack_collision_where_the_reference_avoids_it_fails():
    result = cut_out_run(stopping_distance() + 5.0, ego_brakes=False)
    assert result["collision"] and result["collision_event"]["with"] == "obstacle"
    assert result["impact_speed_mps"] == pytest.approx(V0, abs=1e-3)
    assert result["reference_driver"]["collision"] is False
    assert result["passed"] is False


def test_softer_impact_than_the_reference_passes():
    # Unavoidable for both: the ego (braking at 9 m/s^2 from the risk point) hits slower than the reference.
    result = cut_out_run(10.0, ego_brakes=True)
    assert result["collision"] and result["reference_driver"]["collision"]
    assert result["impact_speed_mps"] < result["reference_driver"]["impact_speed_mps"]
    assert result["passed"] is True


def test_min_distance_and_ttc_to_the_obstacle():
    result = cut_out_run(200.0, ego_brakes=True)
    assert not result["collision"] and result["passed"]
    assert 0.0 < result["min_distance_m"] < 200.0
    assert math.isfinite(result["min_ttc_s"])


def test_following_distance_against_the_r157_table():
    from cav_stack.eval.r157 import minimum_time_gap
    assert minimum_time_gap(7.2 / 3.6) == pytest.approx(1.0)
    assert minimum_time_gap(60.0 / 3.6) == pytest.approx(1.6)
    assert minimum_time_gap(45.0 / 3.6) == pytest.approx(1.45)
    recorder = R157Recorder("ego", straight_map(), None)
    for k in range(100):                # 1.2 s behind a car at 60 km/h, then 2.0 s: 2.5 s below 1.6 s
        gap = V0 * (1.2 if k < 50 else 2.0)
        recorder(WorldTruth(stamp=k * DT, vehicles=(car("ego", V0 * k * DT, 0.0, V0),
                                                    car("lead", V0 * k * DT + gap + 5.0, 0.0, V0))), {})
    result = recorder.summary()["r157"]
    assert result["min_following_ratio"] == pytest.approx(1.2 / 1.6, abs=1e-3)
    assert result["following_below_min_s"] == pytest.approx(50 * DT)


def test_speeds_are_taken_along_the_lane():
    # A vehicle changing lanes at 30 degrees closes on the ego at its speed along the lane only,
    # as the ego's impact speed is measured along the ego's heading.
    recorder = R157Recorder("ego", straight_map(), "cut_in")
    cutter = car("cutter", 30.0, 2.0, 10.0, yaw=-math.pi / 6)
    recorder(WorldTruth(stamp=0.0, vehicles=(car("ego", 0.0, 0.0, V0), cutter)), {})
    assert recorder.tracks["cutter"].speed[0] == pytest.approx(10.0 * math.cos(math.pi / 6))
    assert recorder.tracks["ego"].speed[0] == pytest.approx(V0)


@pytest.mark.parametrize("lead_decel, risk_at", [(3.0, None), (6.0, 2.0)])
def test_deceleration_risk_perception_starts_beyond_5_mps2(lead_decel, risk_at):
    """Annex 4 Appendix 3: risk perception of a braking lead begins once it decelerates harder
    than 5 m/s^2; a softer stop gives no reference outcome (the stack must simply not collide)."""
    recorder = R157Recorder("ego", straight_map(), "deceleration")
    lead_v = V0
    for k in range(int(8.0 / DT)):
        t = k * DT
        if t >= 2.0:
            lead_v = max(lead_v - lead_decel * DT, 0.0)
        lead = car("lead", 200.0 + V0 * t, 0.0, lead_v)          # its position does not matter here
        recorder(WorldTruth(stamp=t, vehicles=(car("ego", V0 * t, 0.0, V0), lead)), {})
    risk = recorder.risk_perception_time()
    assert (risk[0] if risk else None) == (pytest.approx(risk_at) if risk_at else None)
