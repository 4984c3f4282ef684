"""Fault injection of DDS runs: ``--kill NAME@SECONDS`` parsing, target checks, and the
schedule killing a real process at its simulated time (and not before)."""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest

from cav_stack.runtime.dds_fault import (KillSchedule, ProcessKill, UnknownKillTargetError, check_kill_targets,
                                         kill_argument)


def test_kill_argument_parses_name_and_sim_time():
    assert kill_argument("/cav_0/perception_node@10.5") == ProcessKill("/cav_0/perception_node", 10.5)
    assert str(kill_argument("/cav_1/mpc_controller@3")) == "/cav_1/mpc_controller@3"


@pytest.mark.parametrize("text", ["/cav_0/perception_node", "/cav_0/perception_node@soon",
                                  "cav_0/perception_node@1", "/cav_0/perception_node@-1", "@1"])
def test_kill_argument_rejects_malformed_text(text):
    with pytest.raises(argparse.ArgumentTypeError, match="invalid --kill"):
        kill_argument(text)


def test_kill_of_an_unknown_node_is_refused_naming_the_nodes():
    with pytest.raises(UnknownKillTargetError, match=r"/cav_0/perception@1 .*nodes: /cav_0/perception_node"):
        check_kill_targets([ProcessKill("/cav_0/perception", 1.0)], ["/cav_0/perception_node"])


def test_schedule_kills_the_process_once_its_step_is_done():
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        channel = SimpleNamespace(latest={"/a/victim": {"pid": victim.pid}, "/a/bystander": {"pid": bystander.pid}})
        schedule = KillSchedule([ProcessKill("/a/victim", 10.0)], channel, followers=["/a/victim", "/a/bystander"])
        for now in (9.9, 9.95):
            schedule(now)
        assert victim.poll() is None and schedule.done == []
        schedule(10.0)
        assert victim.wait(timeout=10) == -signal.SIGKILL
        assert schedule.done == [(10.0, ProcessKill("/a/victim", 10.0))]
        schedule(10.05)                                    # once only
        assert len(schedule.done) == 1 and bystander.poll() is None
    finally:
        for process in (victim, bystander):
            process.kill()
            process.wait()
