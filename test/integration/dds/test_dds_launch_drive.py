"""`launch drive` on the DDS backend: highway_cut_in with every node in its own process, in
lockstep on SUMO's clock, gives the in-process run's outcome."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cav_stack.eval.report import read_trajectories
from cav_stack.app.runner import run_scenario

pytest.importorskip("libsumo")


def trajectories(out_dir):
    return read_trajectories(out_dir / "trajectories.csv")


@pytest.mark.slow
def test_highway_cut_in_over_dds_matches_the_in_process_run(tmp_path, dds_env, dds_domain):
    dds_out, reference_out = tmp_path / "dds", tmp_path / "in_process"
    launch = subprocess.run([sys.executable, "-m", "cav_stack.app.dds_launch", "drive",
                             "--scenario", "highway_cut_in", "--out", str(dds_out), "--domain-id", str(dds_domain),
                             "--controller", "idm_baseline"],
                            env=dds_env, capture_output=True, text=True, timeout=180)
    assert launch.returncode == 0, launch.stderr[-3000:]
    assert "died" not in launch.stderr
    report = json.loads((dds_out / "report.json").read_text())
    reference = run_scenario("highway_cut_in", seed=None, out_dir=reference_out, controller="idm_baseline").report

    assert report["collisions"] == reference["collisions"] == 0
    assert report["dds_dropped_members"] == []
    assert report["sim_time_s"] == pytest.approx(reference["sim_time_s"]) == 80.0
    assert report["min_gap_m"] == pytest.approx(reference["min_gap_m"], abs=1e-6)    # the cut-in happened
    assert report["min_gap_m"] < 30.0
    ours, theirs = trajectories(dds_out), trajectories(reference_out)
    assert len(ours) == len(theirs) == 1600
    for column in ("x", "y", "yaw", "speed", "gap"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=0, atol=1e-6, equal_nan=True)
    # AckermannDrive carries the command as float32: the only difference the wire makes
    np.testing.assert_allclose(ours["accel_cmd"], theirs["accel_cmd"], rtol=0, atol=1e-5)
