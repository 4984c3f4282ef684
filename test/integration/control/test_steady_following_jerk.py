"""Issue 21 "No chatter": jerk rms while following steadily (the CAV and its leader each keep
their speed within 0.3 m/s for 5 s, :mod:`cav_stack.eval.steady_following`) at most 0.2 m/s^3,
in ``highway_cut_in`` (seed 7, one CAV behind human drivers) and ``platoon`` (8 CAVs, the first
behind a human driver, the others in CACC).

Not met yet (strict xfail: the test fails once the chatter is gone, so the mark must go): the
MPC holds the leader's measured acceleration over its 5 s horizon, and SUMO redraws a car's
acceleration every step (driver imperfection), so each tick moves the predicted leader by metres
(0.52 m/s^3 in highway_cut_in, 0.27 in platoon). Low-passing the sensed acceleration (0.5 s)
brought highway_cut_in to 0.13 m/s^3 but made dense_lane_change miss its off-ramp, and the
platoon's followers stayed at 0.23 (see README, "Real-time budget"). ~1-2 min of wall time per
run on the shared 2-core machine.
"""
from __future__ import annotations

import pytest

from cav_stack.app.runner import run_scenario

pytestmark = pytest.mark.slow

MAX_STEADY_JERK_RMS = 0.2   # [m/s^3]
MIN_STEADY_TIME = 10.0      # [s] of steady following per CAV, so the figure means something


@pytest.fixture(scope="module", params=[("highway_cut_in", 7, None), ("platoon", None, 50.0)],
                ids=["highway_cut_in", "platoon"])
def run(request, tmp_path_factory):
    scenario, seed, duration = request.param
    out = tmp_path_factory.mktemp(scenario)
    return run_scenario(scenario, seed=seed, out_dir=out, duration_s=duration, controller="stack").report


@pytest.mark.xfail(strict=True, reason="issue 21: the leader's raw acceleration, held over the horizon, "
                                       "makes the command chatter")
def test_steady_following_is_free_of_command_chatter(run):
    for cav_id, cav in run["cavs"].items():
        assert cav["steady_following_s"] >= MIN_STEADY_TIME, cav_id
        jerk_rms = cav["steady_following_jerk_rms_mps3"]
        assert jerk_rms <= MAX_STEADY_JERK_RMS, (cav_id, jerk_rms)


def test_steady_following_runs_are_collision_free(run):
    assert run["collisions"] == 0
