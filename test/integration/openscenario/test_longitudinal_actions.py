"""SpeedAction shapes and targets, LongitudinalDistanceAction and a WorldPosition teleport, executed in
SUMO: speeds read back from SUMO's truth against the closed-form transitions."""
import math

import pytest

from cav_stack.sim.storyboard_motion import SHAPES

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def recording(run_scenario_file):
    return run_scenario_file("longitudinal.xosc", 12.0)


def test_step_speed_action_jumps_at_its_trigger(recording):
    assert recording.vehicle("Step", 0.9).speed == pytest.approx(10.0, abs=1e-6)
    assert recording.vehicle("Step", 1.2).speed == pytest.approx(15.0, abs=1e-6)


def test_linear_rate_speed_action_accelerates_at_the_rate(recording):
    for t in (2.0, 3.5, 5.0):
        assert recording.vehicle("Linear", t).speed == pytest.approx(10.0 + 2.0 * (t - 1.0), abs=0.11)
    assert recording.vehicle("Linear", 7.5).speed == pytest.approx(20.0, abs=1e-6)


def test_cubic_time_speed_action_follows_smoothstep(recording):
    for t in (2.0, 3.0, 4.0):
        expected = 10.0 + 8.0 * SHAPES["cubic"]((t - 1.0) / 4.0)
        assert recording.vehicle("Cubic", t).speed == pytest.approx(expected, abs=0.1)
    assert recording.vehicle("Cubic", 6.0).speed == pytest.approx(18.0, abs=1e-6)


def test_sinusoidal_distance_speed_action_reaches_relative_target_after_the_distance(recording):
    ego_speed = recording.vehicle("Ego", 1.0).speed
    target = ego_speed - 5.0
    duration = 50.0 / 10.0                     # 50 m at the speed when the action starts
    assert recording.vehicle("Sine", 1.0 + duration / 2).speed == pytest.approx(10.0 + 0.5 * (target - 10.0), abs=0.2)
    assert recording.vehicle("Sine", 1.0 + duration + 0.5).speed == pytest.approx(target, abs=1e-6)


def test_continuous_relative_speed_tracks_the_reference(recording):
    for t in (2.0, 4.0, 7.0):
        assert recording.vehicle("Follower", t).speed == pytest.approx(recording.vehicle("Linear", t).speed + 3.0,
                                                                        abs=0.11)


def test_continuous_longitudinal_distance_keeps_the_gap(recording):
    for t in (2.0, 5.0, 7.5):
        keeper, linear = recording.vehicle("Keeper", t), recording.vehicle("Linear", t)
        gap = (keeper.x - linear.x) - 0.5 * (keeper.length + linear.length)
        assert gap == pytest.approx(30.0, abs=0.6)
        assert math.isclose(keeper.y, linear.y, abs_tol=1e-6)


def test_world_position_teleport_places_the_reference_point(recording):
    parked = recording.vehicle("Parked", 0.5)
    # Reference point (rear axle) at x=1500: the box centre is 1.4 m ahead of it.
    assert parked.x == pytest.approx(1500.0 + 1.4, abs=0.05)
    assert parked.y == pytest.approx(-5.25, abs=0.05)
    assert parked.speed == 0.0


def test_stop_trigger_ends_the_run(recording):
    assert recording.storyboard_done
    assert 8.0 <= recording.end() <= 8.15     # the StopTrigger at 8 s ends it, not the 12 s limit
