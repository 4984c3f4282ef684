"""The decision-and-control stack (``stack``) over DDS gives the in-process run's trajectory.

v2x_node, mode_selector_node and mpc_controller_node each in their own process, in lockstep on
SUMO's clock, on a 25 s highway_cut_in. The MPC starts from ``vehicle/status`` (acceleration and
steering as the plant reports them), which crosses DDS losslessly as float64; the command goes
out as ackermann_msgs/AckermannDriveStamped (float32), the one rounding the wire adds (its
relative size ~6e-8 is below what trajectories.csv holds: 6 significant digits).
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cav_stack.eval.report import read_trajectories
from cav_stack.app.runner import run_scenario

pytest.importorskip("libsumo")

DURATION_S = 25.0
CSV_RTOL = 1e-5
"""trajectories.csv holds 6 significant digits: a float32 rounding may flip the last one."""


def trajectories(out_dir):
    return read_trajectories(out_dir / "trajectories.csv")


@pytest.mark.slow
def test_stack_over_dds_matches_the_in_process_run(tmp_path, dds_env, dds_domain):
    dds_out, reference_out = tmp_path / "dds", tmp_path / "in_process"
    launch = subprocess.run([sys.executable, "-m", "cav_stack.app.dds_launch", "drive",
                             "--scenario", "highway_cut_in", "--out", str(dds_out), "--domain-id", str(dds_domain),
                             "--controller", "stack", "--duration", str(DURATION_S)],
                            env=dds_env, capture_output=True, text=True, timeout=180)
    assert launch.returncode == 0, launch.stderr[-3000:]
    assert "died" not in launch.stderr
    report = json.loads((dds_out / "report.json").read_text())
    reference = run_scenario("highway_cut_in", seed=None, out_dir=reference_out, controller="stack",
                             duration_s=DURATION_S).report

    assert report["collisions"] == reference["collisions"] == 0
    assert report["dds_dropped_members"] == []
    assert report["sim_time_s"] == pytest.approx(reference["sim_time_s"]) == DURATION_S
    assert report["modes"]["switches"] == reference["modes"]["switches"]      # same decisions, same times
    assert len(report["modes"]["switches"]) >= 3                                # incl. a lane change
    assert report["min_gap_m"] == pytest.approx(reference["min_gap_m"], abs=1e-6)
    assert report["max_abs_accel_mps2"] == pytest.approx(reference["max_abs_accel_mps2"], abs=1e-6)
    ours, theirs = trajectories(dds_out), trajectories(reference_out)
    assert len(ours) == len(theirs) == round(DURATION_S / 0.05)
    np.testing.assert_array_equal(ours["time"], theirs["time"])
    for column in ("x", "y", "yaw", "speed", "accel", "accel_cmd", "steer_cmd", "gap"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=CSV_RTOL, atol=1e-6, equal_nan=True,
                                   err_msg=column)
