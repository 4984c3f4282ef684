"""`cav-stack launch drive --backend ros2 --scenario platoon --controller stack`: eight CAVs, each
node its own rclpy process (33 processes), hear each other over V2X under their own identities.

The report's ``v2x_receptions`` (eval/v2x_receptions.py) counts, per receiving CAV, the BSMs its
V2X node accepted from each other CAV, and the station IDs each CAV sent under. One simulated
second is enough: every CAV accepts BSMs from every CAV within three places of it (134 m). The
run is the in-process run: the same collisions and the same reception counts, BSM for BSM.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest


pytest.importorskip("libsumo")

DURATION_S = 1.0
CAVS = [f"cav_{k}" for k in range(8)]
NEIGHBOURHOOD = 3
"""Places apart (44.6 m each) within which every pair must have accepted BSMs after DURATION_S."""


@pytest.mark.slow
def test_platoon_cavs_accept_each_others_bsms_over_ros2(tmp_path, ros_env):
    out = tmp_path / "ros2"
    run = subprocess.run([sys.executable, "-m", "cav_stack.app.cli", "launch", "drive", "--backend", "ros2",
                          "--scenario", "platoon", "--controller", "stack", "--duration", str(DURATION_S),
                          "--step-timeout", "30", "--out", str(out)],
                         env=ros_env, capture_output=True, text=True, timeout=500)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    receptions = report["v2x_receptions"]
    assert sorted(receptions) == CAVS
    stations = [station for cav in CAVS for station in receptions[cav]["station_ids"]]
    assert len(stations) == len(set(stations)) == len(CAVS)         # one temporary ID each, none shared
    for k, cav in enumerate(CAVS):
        heard = receptions[cav]["accepted_bsms"]
        assert set(heard) <= set(CAVS) - {cav}                         # every accepted sender is another CAV
        near = [CAVS[j] for j in range(len(CAVS)) if 0 < abs(j - k) <= NEIGHBOURHOOD]
        assert all(heard.get(other, 0) > 0 for other in near), (cav, heard)

    # the in-process run in a process of its own: libsumo holds one simulation per process, and
    # this worker has run other simulations and rclpy nodes before
    in_process = subprocess.run([sys.executable, "-m", "cav_stack.app.cli", "drive", "--scenario", "platoon",
                                 "--controller", "stack", "--duration", str(DURATION_S),
                                 "--out", str(tmp_path / "in_process")],
                                capture_output=True, text=True, timeout=300)
    assert in_process.returncode == 0, in_process.stderr[-3000:]
    reference = json.loads((tmp_path / "in_process" / "report.json").read_text())
    assert reference["callback_errors"] == {}
    assert report["collisions"] == reference["collisions"] == 0
    assert receptions == reference["v2x_receptions"]
    assert (report["v2x"]["frames_sent"], report["v2x"]["frames_delivered"]) == \
        (reference["v2x"]["frames_sent"], reference["v2x"]["frames_delivered"])
