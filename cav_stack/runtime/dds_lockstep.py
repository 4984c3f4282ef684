"""Deterministic simulation time across processes: the simulator drives ``/clock``, nodes follow in step.

``/clock`` alone (ROS ``use_sim_time``) lets every process run as soon as time moves, so what a
node sees depends on scheduling. Lockstep adds a small protocol on ``/cav_stack/lockstep``
(std_msgs/String holding JSON, reliable, transient local) that reproduces the in-process
executor's order:

1. The clock master (the simulator process, a ``driven`` runtime; :func:`lead` before its
   nodes exist, :func:`run_master` after) announces its start time. Each follower sets its
   clock to it (:func:`join`), creates its nodes and reports ``ready`` (:func:`run_follower`)
   with its rank, its DDS endpoints, its next timer time and its process id (for fault
   injection, :mod:`~cav_stack.runtime.dds_fault`).
2. When all expected followers are ready the master publishes the roster; every process waits
   until each of its readers and writers has matched as many peers as the roster lists for
   that topic (so no message is lost to discovery), and reports ``matched``.
3. Each step at time T (the earliest timer due in any process): the master publishes
   ``/clock`` = T, fires its timers and then publishes ``step T``. A follower of rank r runs step T once the
   master's ``step T`` and the ``done T`` of every member of lower rank are in and it holds
   every sample they announced; it fires its timers due at or before T and reports ``done T``
   with its next timer time. The master starts the next step when every member is done and
   it holds every sample they announced.

How "holds every sample" is known: every sample is written with the sim time as its DDS
source timestamp, and each report counts, per reliable topic, the samples its author wrote
after the start, and those it wrote at the start (in the nodes' constructors) on
transient-local topics that late joiners still get (at most ``depth`` per writer). A process
waits until each reliable reader has taken as many samples stamped after the start, and each
transient-local reader as many stamped at the start, as the members' latest reports add up to
for the topic. This does not depend on the order in which DDS delivers the samples of
different writers, and costs no acknowledgement round trip. Samples written at the start on
volatile topics reach only the readers matched at that time, as in ROS (and as on the
in-process executor, where they reach only the subscriptions that exist then).

Where the order is not the in-process one: members of equal rank (the launcher gives the
nodes of different vehicles equal ranks) run a step concurrently, so a message one of them
publishes at T reaches an equal-rank peer in step T or in the next step; within a step,
samples are handed to callbacks ordered by step, then by subscription, rather than in global
publish order (each process holds what it takes while waiting and hands it over at fixed
points: a follower at the start of its step, the master once a step's samples are all in, so
that the order never depends on arrival times).
Best-effort endpoints (sensor data) are made reliable in a lockstep run
(:meth:`DdsRuntime.count_samples_after`) so that their samples are counted and waited for too.
Processes taking part keep every received sample until taken (``DdsRuntime(deliver_all=True)``)
as the in-process executor delivers every message; a reliable sample lost on the wire and
pushed out of its writer's history (more than ``depth`` newer samples before the repair) is
never counted and stalls the run until the step timeout. A member that misses a step (dead
or hung for ``LockstepTimeouts.step``) is dropped with an error and the run goes on: the
master drops the late members of lowest rank and announces the step again without them, so
that the members of higher rank, which were waiting for them, run it (each further round of
drops takes another step timeout).
"""
from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cav_stack.runtime.dds_backend import DdsRuntime
from cav_stack.runtime.executor import TIME_RESOLUTION
from cav_stack.runtime.node import QoS

LOCKSTEP_TOPIC = "/cav_stack/lockstep"
MASTER_NAME = "/clock_master"
_WRITER_QOS = QoS(depth=1, reliable=True, transient_local=True)
_READER_QOS = QoS(depth=1000, reliable=True, transient_local=True)

logger = logging.getLogger("cav_stack.dds.lockstep")


class LockstepError(RuntimeError):
    """A lockstep member did not answer in time or was dropped."""


@dataclass(frozen=True)
class LockstepTimeouts:
    """Wall-clock limits [s]: start (all members ready and matched), step (one step of all
    members, their samples included)."""

    start: float = 60.0
    step: float = 5.0

    def __post_init__(self) -> None:
        for name in ("start", "step"):
            if getattr(self, name) <= 0.0:
                raise ValueError(f"LockstepTimeouts.{name} must be > 0 s, got {getattr(self, name)}")


class LockstepChannel:
    """This process's view of the lockstep topic: the latest report of every member."""

    def __init__(self, runtime: DdsRuntime, name: str):
        self.name = name
        self.latest: dict[str, dict] = {}
        self._runtime = runtime
        self._send = runtime.advertise("std_msgs/msg/String", LOCKSTEP_TOPIC, _WRITER_QOS, internal=True)
        runtime.subscribe("std_msgs/msg/String", LOCKSTEP_TOPIC, self._receive, _READER_QOS, internal=True)

    def _receive(self, fields: dict) -> None:
        report = json.loads(fields["data"])
        self.latest[report["name"]] = report

    def send(self, **report) -> None:
        self._send({"data": json.dumps({"name": self.name, **report})})

    def master(self) -> dict[str, Any] | None:
        return self.latest.get(MASTER_NAME)

    def heard_master(self) -> dict[str, Any]:
        """The clock master's latest report, once one has been heard."""
        report = self.latest.get(MASTER_NAME)
        if report is None:
            raise LockstepError(f"{self.name}: nothing heard from the clock master yet")
        return report

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
        """Take data until ``condition()`` holds; LockstepError after ``timeout`` [s] wall time."""
        give_up = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > give_up:
                raise LockstepError(f"{self.name}: timed out after {timeout:g} s waiting for {what()}")
            self._runtime.wait(give_up - time.monotonic())


def _unmatched(runtime: DdsRuntime, roster: dict[str, dict]) -> list[str]:
    writers_on: Counter[str] = Counter()
    readers_on: Counter[str] = Counter()
    for member in roster.values():
        writers_on.update(member["pubs"])
        readers_on.update(member["subs"])
    writers, readers = runtime.matched_counts()
    return ([f"writer {topic} matched {n}/{readers_on[topic]} readers" for topic, n in writers
             if n < readers_on[topic]]
            + [f"reader {topic} matched {n}/{writers_on[topic]} writers" for topic, n in readers
               if n < writers_on[topic]])


def _wait_matched(channel: LockstepChannel, runtime: DdsRuntime, roster: dict[str, dict], timeout: float) -> None:
    channel.wait_until(lambda: not _unmatched(runtime, roster), timeout,
                       lambda: "discovery: " + "; ".join(_unmatched(runtime, roster)))


def _late(channel: LockstepChannel, members: Iterable[str], step: int) -> list[str]:
    """Members that have not reported step ``step`` [ticks] done."""
    return [m for m in members if channel.latest[m].get("phase") != "done" or channel.latest[m]["time"] != step]


def _missing_samples(channel: LockstepChannel, runtime: DdsRuntime, members: Iterable[str]) -> list[str]:
    """Reliable readers of this process still short of the samples ``members`` reported sending."""
    own = runtime.sent_counts()
    steps, latched = Counter(own.steps), Counter(own.latched)
    for member in members:
        sent = channel.latest.get(member, {}).get("sent") if member != channel.name else None
        if sent:
            steps.update(sent["steps"])
            latched.update(sent["latched"])
    missing = [f"{topic} ({n}/{steps[topic]} samples)" for topic, n, _ in runtime.received_counts()
               if n < steps[topic]]
    return missing + [f"{topic} ({n}/{latched[topic]} latched samples)" for topic, _, n in runtime.received_counts()
                      if n is not None and n < latched[topic]]


def _sent(runtime: DdsRuntime) -> dict:
    counts = runtime.sent_counts()
    return {"steps": counts.steps, "latched": counts.latched}


def _earliest(times: Iterable[int | None]) -> int | None:
    due = [t for t in times if t is not None]
    return min(due) if due else None


def _blocking(late: list[str], roster: dict[str, dict]) -> list[str]:
    """The late members of lowest rank: the ones that failed by themselves. Members of higher
    rank wait for them and get a fresh step timeout once they are dropped."""
    lowest = min(roster[m]["rank"] for m in late)
    return [m for m in late if roster[m]["rank"] == lowest]


def lead(runtime: DdsRuntime) -> LockstepChannel:
    """Make the runtime the clock master of a run starting at its current time.

    Call before creating the process's nodes (what they publish at creation is counted as
    the start's latched samples), then :func:`run_master`. The runtime must use the
    ``driven`` clock and should deliver all samples.
    """
    if runtime.clock != "driven":
        raise ValueError("the clock master needs a runtime with the 'driven' clock")
    runtime.count_samples_after(runtime.now())
    return LockstepChannel(runtime, MASTER_NAME)


def run_master(runtime: DdsRuntime, channel: LockstepChannel, *, followers: Sequence[str], end_time: float,
               timeouts: LockstepTimeouts = LockstepTimeouts(),
               progress: Callable[[float], None] | None = None) -> list[str]:
    """Drive the run from the runtime's current time to ``end_time`` [s] with ``followers``.

    channel: from :func:`lead`; followers: the names the follower processes report (see
    :func:`follower_name`). progress(now) is called after every step. Returns the names of
    the members dropped during the run.
    """
    start = runtime.now_ticks()
    pubs, subs = runtime.endpoints()
    channel.send(role="master", phase="announce", start=start, sent=_sent(runtime))

    def missing(phases: tuple[str, ...]) -> list[str]:
        return [f for f in followers if channel.latest.get(f, {}).get("phase") not in phases]

    channel.wait_until(lambda: not missing(("ready", "matched")), timeouts.start,
                       lambda: f"followers to be ready: {', '.join(missing(('ready', 'matched')))}")
    roster = {MASTER_NAME: {"rank": 0, "pubs": pubs, "subs": subs}}
    roster.update({f: {key: channel.latest[f][key] for key in ("rank", "pubs", "subs")} for f in followers})
    channel.send(role="master", phase="roster", start=start, roster=roster, sent=_sent(runtime))
    _wait_matched(channel, runtime, roster, timeouts.start)
    channel.wait_until(lambda: not missing(("matched",)), timeouts.start,
                       lambda: f"followers to match: {', '.join(missing(('matched',)))}")
    members = list(followers)
    channel.wait_until(lambda: not _missing_samples(channel, runtime, members), timeouts.start,
                       lambda: "latched samples: " + "; ".join(_missing_samples(channel, runtime, members)))
    dropped: list[str] = []
    end_ticks = round(end_time / TIME_RESOLUTION)
    step = _earliest([runtime.next_timer_ticks()] + [channel.latest[m]["next"] for m in members])
    while step is not None and step <= end_ticks:
        runtime.set_time(step * TIME_RESOLUTION)
        runtime.publish_clock()
        runtime.poll()
        runtime.dispatch_held()
        runtime.fire_timers(step)
        channel.send(role="master", phase="step", start=start, roster=roster, time=step, members=members,
                     sent=_sent(runtime))
        # The predicates below run inside wait_until, within this iteration (B023 is intended): they
        # must see ``members`` as reassigned when a member is dropped.
        tick = step
        while True:
            try:
                channel.wait_until(lambda: not _late(channel, members, tick), timeouts.step,  # noqa: B023
                                   lambda: f"step {tick * TIME_RESOLUTION:.3f} s")  # noqa: B023
                break
            except LockstepError:
                stuck = _blocking(_late(channel, members, tick), roster)
                logger.error("dropping %s: no report of step %.3f s within %g s", ", ".join(stuck),
                             step * TIME_RESOLUTION, timeouts.step)
                dropped += stuck
                members = [m for m in members if m not in stuck]
                channel.send(role="master", phase="step", start=start, roster=roster, time=step, members=members,
                             sent=_sent(runtime))
        channel.wait_until(lambda: not _missing_samples(channel, runtime, members), timeouts.step,  # noqa: B023
                           lambda: "samples of step " + "; ".join(_missing_samples(channel, runtime, members)))  # noqa: B023
        runtime.dispatch_held()
        if progress is not None:
            progress(runtime.now())
        step = _earliest([runtime.next_timer_ticks()] + [channel.latest[m]["next"] for m in members])
    channel.send(role="master", phase="end", start=start, roster=roster, members=members, sent=_sent(runtime))
    return dropped


def follower_name(namespace: str, node_name: str) -> str:
    """The lockstep name of a node process: its fully qualified ROS node name."""
    ns = namespace.strip("/")
    return f"/{ns}/{node_name}" if ns else f"/{node_name}"


def join(runtime: DdsRuntime, name: str, timeouts: LockstepTimeouts = LockstepTimeouts()) -> LockstepChannel:
    """Wait for the clock master and set the runtime's clock to its start time.

    Call before creating the process's nodes so that their timers start where the master's do.
    """
    if runtime.clock != "sim":
        raise ValueError("a lockstep follower needs a runtime with the 'sim' clock")
    channel = LockstepChannel(runtime, name)
    channel.wait_until(lambda: channel.master() is not None, timeouts.start, lambda: "the clock master")
    runtime.set_time(channel.heard_master()["start"] * TIME_RESOLUTION)
    runtime.count_samples_after(runtime.now())
    return channel


def run_follower(runtime: DdsRuntime, channel: LockstepChannel, *, rank: int,
                 timeouts: LockstepTimeouts = LockstepTimeouts()) -> None:
    """Take part in the run until the master ends it (see the module docstring)."""
    if rank < 1:
        raise ValueError(f"follower rank must be >= 1 (the master has rank 0), got {rank}")
    pubs, subs = runtime.endpoints()
    report = {"role": "follower", "rank": rank, "pubs": pubs, "subs": subs, "pid": os.getpid()}
    channel.send(phase="ready", next=runtime.next_timer_ticks(), sent=_sent(runtime), **report)
    channel.wait_until(lambda: channel.heard_master()["phase"] != "announce", timeouts.start, lambda: "the roster")
    _wait_matched(channel, runtime, channel.heard_master()["roster"], timeouts.start)
    channel.send(phase="matched", next=runtime.next_timer_ticks(), sent=_sent(runtime), **report)
    done: int | None = None

    def my_turn() -> bool:
        master = channel.heard_master()
        if master["phase"] == "end":
            return True
        if master["phase"] != "step" or master["time"] == done:
            return False
        roster, t = master["roster"], master["time"]
        return all(channel.latest.get(m, {}).get("phase") == "done" and channel.latest[m]["time"] == t
                   for m in master["members"] if m != channel.name and roster[m]["rank"] < rank) \
            and not _missing_samples(channel, runtime, [MASTER_NAME, *master["members"]])

    while True:
        channel.wait_until(my_turn, timeouts.start, lambda: "the next step of the clock master")
        master = channel.heard_master()
        if master["phase"] == "end":
            return
        if channel.name not in master["members"]:
            raise LockstepError(f"{channel.name}: dropped from the run by the clock master")
        step = master["time"]
        runtime.set_time(step * TIME_RESOLUTION)
        runtime.poll()
        runtime.dispatch_held()
        runtime.fire_timers(step)
        channel.send(phase="done", time=step, next=runtime.next_timer_ticks(), sent=_sent(runtime), **report)
        done = step
