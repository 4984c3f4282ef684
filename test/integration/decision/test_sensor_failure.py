"""sensor_failure: a perception dropout ends in a minimal-risk stop (closed loop, SUMO, stack).

With the ``stack`` graph (ground-truth object list) the bridge withholds the CAV's ``truth/objects``
during the scripted dropout (20..32 s), which the mode selector reads as a sensor failure; the
MPC predicts the last list forward (its cars kept moving) and brakes to the minimal-risk stop line.
"""
import pytest

from cav_stack.eval.report import read_trajectories
from cav_stack.app.runner import run_scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_scenario("sensor_failure", seed=None, out_dir=tmp_path_factory.mktemp("sensor_failure"),
                        controller="stack", duration_s=40.0)


def trace(run):
    rows = read_trajectories(run.out_dir / "trajectories.csv")
    return rows["time"], rows["speed"], rows["accel"]


def test_dropout_gives_a_minimal_risk_stop_without_collision(run):
    report = run.report
    assert report["collisions"] == 0
    (first,) = [s for s in report["modes"]["switches"] if s["mode"] == "minimal_risk"][:1]
    assert 20.0 <= first["time_s"] <= 21.0 and "sensor failure" in first["reason"]
    t, speed, _ = trace(run)
    assert speed[(t > 21.0) & (t < 40.0)].min() < 0.5      # came to a stop (it may drive on after recovery)


def test_minimal_risk_stop_peak_deceleration_is_at_most_4(run):
    t, _, accel = trace(run)
    assert accel[(t > 20.0) & (t < 40.0)].min() >= -4.0
