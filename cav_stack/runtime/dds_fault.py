"""Fault injection in a lockstep DDS run: kill a node process at a given simulated time.

The clock master knows the simulated time and, from the followers' lockstep reports, the
process id of every node (all processes of a launch run on this host). A :class:`KillSchedule`
passed as the master's ``progress`` callback sends SIGKILL to each scheduled node once the
step it is due in has completed, so the node dies between two steps: deterministic in
simulated time, whatever the wall-clock load. What follows is the lockstep's handling of a
dead member (dropped after the step timeout) and the graph's handling of a silent input.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
from dataclasses import dataclass
from collections.abc import Sequence

from cav_stack.runtime.dds_lockstep import LockstepChannel
from cav_stack.runtime.executor import TIME_RESOLUTION

logger = logging.getLogger("cav_stack.dds.fault")


@dataclass(frozen=True)
class ProcessKill:
    """SIGKILL the node process ``name`` (fully qualified node name, e.g. ``/cav_0/perception_node``)
    at ``at`` [s] of simulated time (the run's clock: the times of report.json's mode timeline
    and of trajectories.csv)."""

    name: str
    at: float

    def __post_init__(self) -> None:
        if not self.name.startswith("/"):
            raise ValueError(f"node name to kill must be fully qualified (start with '/'), got '{self.name}'")
        if not self.at >= 0.0:
            raise ValueError(f"kill time of {self.name} must be >= 0 s, got {self.at}")

    def __str__(self) -> str:
        return f"{self.name}@{self.at:g}"


def kill_argument(text: str) -> ProcessKill:
    """argparse type of ``--kill NAME@SECONDS``."""
    name, sep, at = text.rpartition("@")
    try:
        if not sep:
            raise ValueError("expected NAME@SECONDS")
        return ProcessKill(name, float(at))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid --kill '{text}': {exc}") from exc


class UnknownKillTargetError(LookupError):
    """A scheduled kill names no follower of the run."""


def check_kill_targets(kills: Sequence[ProcessKill], followers: Sequence[str]) -> None:
    """UnknownKillTargetError if a kill names none of ``followers``."""
    unknown = [str(k) for k in kills if k.name not in followers]
    if unknown:
        raise UnknownKillTargetError(f"--kill names no node process of the run: {', '.join(unknown)} "
                                     f"(nodes: {', '.join(followers) or 'none'})")


class KillSchedule:
    """``progress(now)`` callback of :func:`~cav_stack.runtime.dds_lockstep.run_master` that
    carries out ``kills`` among ``followers`` (their process ids come from ``channel``)."""

    def __init__(self, kills: Sequence[ProcessKill], channel: LockstepChannel, *, followers: Sequence[str]):
        check_kill_targets(kills, followers)
        self._pending = sorted(kills, key=lambda k: k.at)
        self._channel = channel
        self.done: list[tuple[float, ProcessKill]] = []
        """(simulated time [s], kill) of every kill carried out."""

    def __call__(self, now: float) -> None:
        while self._pending and now >= self._pending[0].at - TIME_RESOLUTION / 2:
            kill = self._pending.pop(0)
            pid = self._channel.latest[kill.name]["pid"]
            logger.warning("fault injection: SIGKILL %s (pid %d) at %.3f s", kill.name, pid, now)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                logger.warning("fault injection: %s (pid %d) had already exited", kill.name, pid)
            self.done.append((now, kill))
