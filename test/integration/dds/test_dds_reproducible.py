"""The full sensing stack (``stack_sensors``) over DDS is reproducible: two launches of the same
run give the same trajectory to the last digit.

Localisation fuses GNSS, odometry and IMU in the order it receives them, so it sees the
arrival order of samples of different topics; the lockstep hands held samples over in an
order fixed by step and subscription (and sensor data is reliable in lockstep runs), never by
arrival time. (The order differs from the in-process executor's global publish order, so
this configuration does not reproduce the in-process trajectory: see test_dds_stack_matches_in_process
for ``stack``, which does.)
"""
from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("libsumo")

DURATION_S = 10.0


def launch(out, env, domain: int) -> str:
    run = subprocess.run([sys.executable, "-m", "cav_stack.app.dds_launch", "drive", "--scenario",
                          "highway_cut_in", "--out", str(out), "--domain-id", str(domain),
                          "--controller", "stack_sensors", "--duration", str(DURATION_S)],
                         env=env, capture_output=True, text=True, timeout=150)
    assert run.returncode == 0, run.stderr[-3000:]
    return (out / "trajectories.csv").read_text()


@pytest.mark.slow
def test_two_launches_of_stack_sensors_give_the_same_trajectory(tmp_path, dds_env, dds_domain):
    first, second = launch(tmp_path / "first", dds_env, dds_domain), launch(tmp_path / "second", dds_env, dds_domain)
    assert len(first.splitlines()) == 1 + round(DURATION_S / 0.05)
    assert first == second
