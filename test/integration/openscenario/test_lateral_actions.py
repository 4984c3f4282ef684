"""LaneChangeAction, LaneOffsetAction, FollowTrajectoryAction, RoutingAction and ActivateControllerAction
executed in SUMO; lateral positions read back from SUMO's truth (lane centres of the test road:
lane -1 at y = -1.75, -2 at -5.25, -3 at -8.75; the road runs along +x). OpenSCENARIO positions
are of the reference point (rear axle), 1.4 m behind the box centre SUMO reports."""
import math

import pytest

from cav_stack.sim.storyboard_motion import SHAPES

pytestmark = pytest.mark.timeout(120)
LANE_Y = {-1: -1.75, -2: -5.25, -3: -8.75}
CENTER_X = 1.4          # box centre ahead of the reference point [m], the test cars' BoundingBox


def ref_y(recording, name, t):
    """y [m] of an entity's reference point at time t."""
    vehicle = recording.vehicle(name, t)
    return vehicle.y - CENTER_X * math.sin(vehicle.yaw)


@pytest.fixture(scope="module")
def recording(run_scenario_file):
    return run_scenario_file("lateral.xosc", 8.0)


def test_relative_lane_change_by_peak_lateral_rate(recording):
    # Sinusoidal, 3.5 m at a peak lateral speed of 1.5 m/s: T = pi/2 * 3.5 / 1.5.
    duration = math.pi / 2 * 3.5 / 1.5
    assert ref_y(recording, "Cutter", 1.0 + duration / 2) == pytest.approx((LANE_Y[-1] + LANE_Y[-2]) / 2, abs=0.1)
    assert ref_y(recording, "Cutter", 1.0 + duration + 0.2) == pytest.approx(LANE_Y[-2], abs=1e-3)
    peak = max(abs(ref_y(recording, "Cutter", t + 0.05) - ref_y(recording, "Cutter", t)) / 0.05
               for t in (1.0 + duration / 2 - 0.05, 1.0 + duration / 2))
    assert peak == pytest.approx(1.5, abs=0.05)


def test_absolute_lane_change_by_time_with_target_offset(recording):
    # Linear over 3 s from lane -3 to lane -1 (7 m), ending 0.5 m left of its centre.
    start, end = LANE_Y[-3], LANE_Y[-1] + 0.5
    assert ref_y(recording, "Changer", 2.5) == pytest.approx(start + (end - start) * 0.5, abs=0.15)
    assert ref_y(recording, "Changer", 4.5) == pytest.approx(end, abs=1e-3)


def test_lane_change_by_distance_relative_to_another_entity(recording):
    # Cubic over 40 m at 10 m/s (4 s), to one lane left of the ego's lane -2: lane -1.
    start, end = LANE_Y[-3], LANE_Y[-1]
    assert ref_y(recording, "Drifter", 2.0) == pytest.approx(start + (end - start) * SHAPES["cubic"](0.25),
                                                                abs=0.15)
    assert ref_y(recording, "Drifter", 5.5) == pytest.approx(end, abs=1e-3)


def test_absolute_lane_offset_within_the_lateral_acceleration(recording):
    # Sinusoidal offset of 1 m at most 0.5 m/s^2: T = pi * sqrt(1 / (2 * 0.5)) = pi s.
    duration = math.pi
    assert ref_y(recording, "Offset", 1.0 + duration / 2) == pytest.approx(LANE_Y[-3] + 0.5, abs=0.05)
    assert ref_y(recording, "Offset", 1.0 + duration + 0.2) == pytest.approx(LANE_Y[-3] + 1.0, abs=1e-3)
    ys = [ref_y(recording, "Offset", 1.0 + k * 0.05) for k in range(int(duration / 0.05))]
    accel = max(abs(a - 2 * b + c) / 0.05 ** 2 for a, b, c in zip(ys, ys[1:], ys[2:], strict=False))
    assert accel <= 0.5 * 1.1


def test_relative_lane_offset_copies_another_entitys_offset(recording):
    # At 6 s, a step to the Offset entity's offset (+1 m) minus 0.5 m, in its own lane -2.
    assert ref_y(recording, "Copier", 5.9) == pytest.approx(LANE_Y[-2], abs=1e-3)
    assert ref_y(recording, "Copier", 6.3) == pytest.approx(LANE_Y[-2] + 0.5, abs=1e-3)


def test_timed_polyline_trajectory(recording):
    # Vertices at 0, 4 and 6 s after the start (1 s): (1200, -1.75), (1240, -5.25), lane -2 at s=1260.
    swerver = recording.vehicle("Swerver", 3.0)
    assert swerver.x - CENTER_X * math.cos(swerver.yaw) == pytest.approx(1220.0, abs=0.6)
    assert ref_y(recording, "Swerver", 3.0) == pytest.approx(-3.5, abs=0.3)
    assert ref_y(recording, "Swerver", 7.0) == pytest.approx(LANE_Y[-2], abs=0.05)
    assert recording.vehicle("Swerver", 7.5).x > recording.vehicle("Swerver", 7.0).x   # drives on afterwards


def test_routing_action_is_logged_and_keeps_the_lane(recording):
    assert any(e.kind == "route" and e.vehicle == "Router" for e in recording.events)
    assert ref_y(recording, "Router", 7.0) == pytest.approx(LANE_Y[-3], abs=1e-3)


def test_activate_controller_hands_the_entity_to_sumo(recording):
    # Before: held at 10 m/s by the storyboard; after: SUMO's driver model accelerates it towards
    # the lane's speed limit (the ego's 20 m/s).
    assert recording.vehicle("Released", 0.9).speed == pytest.approx(10.0, abs=1e-6)
    assert recording.vehicle("Released", 7.0).speed > 12.0
    assert any(e.kind == "activate_controller" and e.vehicle == "Released" for e in recording.events)
