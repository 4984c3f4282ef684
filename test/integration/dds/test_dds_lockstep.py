"""Lockstep sim time across processes, and a node process killed mid-run.

The test process is the clock master (a driven runtime) running a stand-in for the future
mode selector: at each 20 Hz tick it records the newest perception track list it holds, and
it takes the perception topic's health events. The perception stand-in (FakePerception,
20 Hz, deadline 0.2 s) runs in a child process following /clock in lockstep.
"""
from __future__ import annotations

import pytest

from cav_stack.core.messages import DiagnosticStatus, TrackList
from cav_stack.runtime.dds_backend import DdsRuntime
from cav_stack.runtime.dds_lockstep import LockstepTimeouts, lead, run_master
from cav_stack.runtime.executor import TIME_RESOLUTION
from cav_stack.runtime.node import Node, NodeContext

from dds_helper_nodes import PERCEPTION_QOS  # noqa: E402  (test/integration/dds on sys.path via rootdir)

PERCEPTION = "/cav_3/fake_perception"
START = 100.0


class ModeSelectorStandIn(Node):
    """Records (now, stamp of the newest tracks) every 0.05 s and the perception health events."""

    node_name = "mode_selector"

    def __init__(self, context: NodeContext):
        super().__init__(context)
        self.seen: list[tuple[float, float | None]] = []
        self.health: list[tuple[float, DiagnosticStatus]] = []
        self._newest: TrackList | None = None
        context.create_subscription(TrackList, f"{PERCEPTION}/output/objects", self._on_tracks, PERCEPTION_QOS,
                                    on_health=lambda status: self.health.append((self.now(), status)))
        self.create_timer(0.05, self._tick)

    def _on_tracks(self, msg: TrackList) -> None:
        self._newest = msg

    def _tick(self) -> None:
        self.seen.append((self.now(), None if self._newest is None else self._newest.header.stamp))


def ticks(seconds: float) -> int:
    return round(seconds / TIME_RESOLUTION)


@pytest.fixture
def master(dds_domain):
    runtime = DdsRuntime(dds_domain, clock="driven", deliver_all=True)
    runtime.set_time(START)
    channel = lead(runtime)
    node = runtime.add_node(ModeSelectorStandIn, namespace="cav_3")
    yield runtime, channel, node
    runtime.close()


def test_follower_runs_in_step_with_the_clock_master(master, spawn):
    runtime, channel, selector = master
    spawn("dds_helper_nodes:FakePerception", "--namespace", "cav_3", "--clock", "lockstep", "--rank", "1")
    dropped = run_master(runtime, channel, followers=[PERCEPTION], end_time=START + 2.0,
                         timeouts=LockstepTimeouts(start=30.0, step=5.0))
    assert dropped == []
    assert runtime.now() == START + 2.0 and len(selector.seen) == 40
    # in-process order: the master's timer at t runs before the follower's at t, so the newest
    # tracks at t are the follower's of t - 0.05 s: every step, none missing, none early
    assert selector.seen[0] == (START + 0.05, None)
    for now, stamp in selector.seen[1:]:
        assert ticks(stamp) == ticks(now) - ticks(0.05)
    assert [s.level for _, s in selector.health] == [0]        # alive throughout


def test_killed_perception_is_reported_stale_and_dropped(master, spawn):
    runtime, channel, selector = master
    perception = spawn("dds_helper_nodes:FakePerception", "--namespace", "cav_3", "--clock", "lockstep")

    def kill_mid_run(now: float) -> None:
        if now >= START + 1.0 and perception.poll() is None:
            perception.kill()
    dropped = run_master(runtime, channel, followers=[PERCEPTION], end_time=START + 2.0,
                         timeouts=LockstepTimeouts(start=30.0, step=1.0), progress=kill_mid_run)
    assert dropped == [PERCEPTION]
    assert runtime.now() == START + 2.0                             # the run went on without it
    stale = [(t, s) for t, s in selector.health if s.level == 3]
    assert stale and stale[0][1].name == f"{PERCEPTION}/output/objects"
    assert START + 1.0 <= stale[0][0] <= START + 1.1                # raised while the master waited at the kill
    last_stamp = max(stamp for _, stamp in selector.seen if stamp is not None)
    assert START + 0.95 <= last_stamp <= START + 1.05


def test_dead_member_is_dropped_alone_while_higher_ranks_wait_for_it(master, spawn):
    """A member of higher rank waits for the dead one each step: only the dead one is dropped,
    the other is released by the step announced again without it."""
    runtime, channel, selector = master
    perception = spawn("dds_helper_nodes:FakePerception", "--namespace", "cav_3", "--clock", "lockstep",
                       "--rank", "1")
    spawn("dds_helper_nodes:OdometryEcho", "--namespace", "cav_3", "--clock", "lockstep", "--rank", "2")

    def kill_mid_run(now: float) -> None:
        if now >= START + 1.0 and perception.poll() is None:
            perception.kill()
    dropped = run_master(runtime, channel, followers=[PERCEPTION, "/cav_3/odometry_echo"], end_time=START + 2.0,
                         timeouts=LockstepTimeouts(start=30.0, step=1.0), progress=kill_mid_run)
    assert dropped == [PERCEPTION]
    assert runtime.now() == START + 2.0
    assert channel.latest["/cav_3/odometry_echo"]["time"] == ticks(START + 2.0)   # ran to the end
