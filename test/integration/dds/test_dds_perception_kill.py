"""Fault injection over DDS: the perception process is killed mid-run (SIGKILL), the CAV makes
a minimal-risk stop without collision.

highway_cut_in, ``stack_sensors`` (localisation and perception on the bridge's sensor models),
one process per node. The launcher's ``--kill`` has the simulator process kill
``/cav_0/perception_node`` after the step at KILL_AT_S of simulated time (deterministic in sim
time, whatever the load). The lockstep master drops the dead member after STEP_TIMEOUT_S wall
seconds and the run goes on; the mode selector, its ``input/objects`` silent for longer than
``sensor_timeout`` (controllers/mode_selector.yaml), switches to minimal risk.

Measured on a loaded 2-core machine: 45-60 s wall. Not covered here: a kill at 10 s, while the CAV
runs at 37 m/s and already brakes in ACC, also stops without collision but peaks at 4.8 m/s^2
(the stop line lies beyond the MPC's 5 s horizon at first, so braking builds up late).
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cav_stack.eval.report import read_trajectories

pytest.importorskip("libsumo")

PERCEPTION = "/cav_0/perception_node"
KILL_AT_S = 16.0
"""4 s before the scripted cut-in, which then happens during the stop (the CAV at 16.5 m/s in
this run, after a background car's cut-in at 9.8 s)."""
DURATION_S = 32.0
STEP_TIMEOUT_S = 3.0
MAX_DECEL_MPS2 = 4.0
"""Peak deceleration a minimal-risk stop may use (the selector targets 3 m/s^2)."""


@pytest.mark.slow
def test_killing_perception_leads_to_a_minimal_risk_stop(tmp_path, dds_env, dds_domain, mode_selector_params):
    out = tmp_path / "run"
    launch = subprocess.run([sys.executable, "-m", "cav_stack.app.dds_launch", "drive",
                             "--scenario", "highway_cut_in", "--out", str(out), "--domain-id", str(dds_domain),
                             "--controller", "stack_sensors", "--duration", str(DURATION_S),
                             "--step-timeout", str(STEP_TIMEOUT_S), "--kill", f"{PERCEPTION}@{KILL_AT_S:g}"],
                            env=dds_env, capture_output=True, text=True, timeout=240)
    # the launcher reports the dead process, and fails the run for it
    assert f"process {PERCEPTION} (pid" in launch.stderr and "died with exit code -9" in launch.stderr, \
        launch.stderr[-3000:]
    assert launch.returncode == 1
    report = json.loads((out / "report.json").read_text())
    assert report["dds_killed_members"] == [{"name": PERCEPTION, "time_s": KILL_AT_S}]
    assert report["dds_dropped_members"] == [PERCEPTION]         # only the dead one: the others went on
    assert report["sim_time_s"] == pytest.approx(DURATION_S)
    assert report["collisions"] == 0

    timeout = mode_selector_params.sensor_timeout
    switches = report["modes"]["switches"]
    before = [s for s in switches if s["time_s"] <= KILL_AT_S]
    assert before and all(s["mode"] != "minimal_risk" for s in before)    # healthy until the kill
    after = [s for s in switches if s["time_s"] > KILL_AT_S]
    assert after and after[0]["mode"] == "minimal_risk", switches
    assert "perception" in after[0]["reason"]
    # the selector (10 Hz) sees the silence (age of the newest tracks) once it exceeds the timeout
    assert KILL_AT_S < after[0]["time_s"] <= KILL_AT_S + timeout + 0.15
    assert all(s["mode"] == "minimal_risk" for s in after)            # no recovery without perception

    trace = read_trajectories(out / "trajectories.csv")
    speed_at_kill = trace["speed"][np.searchsorted(trace["time"], KILL_AT_S)]
    # it was driving at road speed: 16.5 m/s in this run since the radio's station clock phase
    # (2fd234d) changed what the fused tracker gets, and with it the CAV's lane changes: a
    # background car cut in 15 m ahead at 9.8 s and the CAV braked and changed lanes (33 m/s before)
    assert speed_at_kill > 15.0
    assert trace["speed"][-1] < 0.1                                     # and came to a stop
    assert -trace["accel"].min() <= MAX_DECEL_MPS2
