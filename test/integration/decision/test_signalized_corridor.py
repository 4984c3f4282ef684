"""The IDM baseline on signalized_corridor drives like a human at signals (closed loop, SUMO)."""
import numpy as np
import pytest

from cav_stack.app.runner import run_scenario

pytestmark = pytest.mark.slow     # a 220 s run: ~35 s of wall time on the shared 2-core machine


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return run_scenario("signalized_corridor", seed=None, out_dir=tmp_path_factory.mktemp("corridor_idm"),
                        controller="idm_baseline", duration_s=None)


@pytest.fixture(scope="module")
def trajectory(baseline):
    return np.genfromtxt(baseline.out_dir / "trajectories.csv", delimiter=",", names=True, dtype=None,
                         encoding="utf-8")


def test_baseline_stops_once_at_the_red_of_j1_and_completes_the_route(baseline, trajectory):
    cav = baseline.report["cavs"]["cav_0"]
    assert baseline.report["collisions"] == 0
    assert cav["stops"] == 1                     # J1 turns red at 13 s, ahead of it at the limit
    assert cav["route_completed"] and 150.0 < cav["travel_time_s"] < 220.0
    # Comfortable stop, no emergency braking (max_decel 6 m/s^2). Deceleration only: after the route
    # ends SUMO's own model drives the car off the network at its vType's acceleration.
    assert trajectory["accel"].min() > -3.0


def test_baseline_waits_before_the_j1_stop_line_until_green(trajectory):
    t, x, v = trajectory["time"], trajectory["x"], trajectory["speed"]
    front = x + 2.3                              # box centre + half the CAV's length (heading east)
    j1_line = 392.7 + 0.1                        # eb_0 ends at x = 392.7 (+ rounding)
    red = (t > 13.0) & (t < 40.0)                # J1 red (tll offset 40 s)
    assert front[red].max() < j1_line
    stopped = t[(v < 0.5) & (t > 5.0) & (t < 45.0)]
    assert stopped.size and stopped.max() < 43.0  # starts off when it turns green (IDM start-up)
