"""Issue 21 "No chatter": jerk rms while following steadily (the CAV and its leader each keep
their speed within 0.3 m/s over 5 s centred on the sample, :mod:`cav_stack.eval.steady_following`)
at most 0.2 m/s^3, in ``highway_cut_in`` (seed 7, one CAV behind human drivers) and ``platoon``
(8 CAVs, the first behind a scripted car, the others in CACC; its whole 75 s, so that every CAV
follows steadily for at least a window's length after the leader's speed changes).

The MPC used to hold the leader's raw measured acceleration over its 5 s horizon; SUMO redraws
a human driver's acceleration every step, so each tick moved the predicted leader by metres and
the command chattered at ~10 Hz (0.46-0.50 m/s^3 in highway_cut_in). The sensed acceleration is
now low-passed (0.3 s) with a manoeuvre gate on the mean of two samples
(``LeaderAccelEstimate``): 0.094 in highway_cut_in; without it (the estimate raw) this test
fails there (0.456). ~1-4 min of wall time per run on the shared 2-core machine.
"""
from __future__ import annotations

import pytest

from cav_stack.app.runner import run_scenario

pytestmark = pytest.mark.slow

MAX_STEADY_JERK_RMS = 0.2   # [m/s^3]
MIN_STEADY_TIME = 5.0       # [s] of steady following per CAV (a window's length), so the figure means
                            # something; the platoon's cav_6 has 9.8 s in 75 s


@pytest.fixture(scope="module", params=[("highway_cut_in", 7, None), ("platoon", None, None)],
                ids=["highway_cut_in", "platoon"])
def run(request, tmp_path_factory):
    scenario, seed, duration = request.param
    out = tmp_path_factory.mktemp(scenario)
    return run_scenario(scenario, seed=seed, out_dir=out, duration_s=duration, controller="stack").report


def test_steady_following_is_free_of_command_chatter(run):
    for cav_id, cav in run["cavs"].items():
        assert cav["steady_following_s"] >= MIN_STEADY_TIME, cav_id
        jerk_rms = cav["steady_following_jerk_rms_mps3"]
        assert jerk_rms <= MAX_STEADY_JERK_RMS, (cav_id, jerk_rms)


def test_steady_following_runs_are_collision_free(run):
    assert run["collisions"] == 0
