"""The DDS runtime within one process: names and types on the wire, clocks, seeds, health events."""
from __future__ import annotations

import time

import numpy as np
import pytest

from cav_stack.core import messages as core
from cav_stack.runtime import dds_types
from cav_stack.runtime.dds_backend import DdsContext, DdsRuntime, DdsRuntimeError
from cav_stack.runtime.executor import InProcessExecutor, TopicTypeError
from cav_stack.runtime.node import Node, QoS

from cyclonedds.domain import DomainParticipant  # noqa: E402  (conftest skips without cyclonedds)
from cyclonedds.sub import DataReader  # noqa: E402
from cyclonedds.topic import Topic  # noqa: E402

ODOMETRY = dds_types.idl_type("nav_msgs/msg/Odometry")


def spin_for(runtime: DdsRuntime, seconds: float, until=lambda: False) -> None:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up and not until():
        runtime.wait(0.01)


class EgoPublisher(Node):
    node_name = "ego_publisher"

    def __init__(self, context):
        super().__init__(context)
        self.pub = self.create_publisher(core.EgoState, "output/ego", QoS(deadline=0.2))


class Ticker(Node):
    """Records now() at every timer call and draws one number from its generator."""

    node_name = "ticker"

    def __init__(self, context, period: float = 0.05):
        super().__init__(context)
        self.times: list[float] = []
        self.draws: list[float] = []
        self.create_timer(period, self._tick)

    def _tick(self) -> None:
        self.times.append(self.now())
        self.draws.append(float(self.rng.random()))


@pytest.fixture
def runtimes(dds_domain):
    created = []

    def make(clock: str = "wall", seed: int = 0, deliver_all: bool = False) -> DdsRuntime:
        runtime = DdsRuntime(dds_domain, clock=clock, seed=seed, deliver_all=deliver_all)
        created.append(runtime)
        return runtime
    yield make
    for runtime in created:
        runtime.close()


def test_topic_and_type_names_match_a_plain_dds_reader_of_the_ros_type(runtimes, dds_domain):
    runtime = runtimes()
    node = runtime.add_node(EgoPublisher, namespace="cav_0", remappings={"output/ego": "truth/ego_state"})
    participant = DomainParticipant(dds_domain)
    reader = DataReader(participant, Topic(participant, "rt/cav_0/truth/ego_state", ODOMETRY))
    ego = core.EgoState(core.Header(5.5, "map"), 10.0, -2.0, 0.5, 20.0, yaw_rate=0.1)
    samples = []
    give_up = time.monotonic() + 5.0
    while not samples and time.monotonic() < give_up:
        if reader.get_subscription_matched_status().current_count:
            node.pub.publish(ego)
        runtime.wait(0.05)
        samples = reader.take(N=10)
    assert samples, "a reader of nav_msgs::msg::dds_::Odometry_ on rt/cav_0/truth/ego_state got nothing"
    odom = samples[0]
    assert odom.header.stamp.sec == 5 and odom.header.frame_id == "map"
    assert (odom.pose.pose.position.x, odom.twist.twist.linear.x) == (10.0, 20.0)


def test_messages_cross_between_participants(runtimes):
    publisher_side, subscriber_side = runtimes(), runtimes()
    node = publisher_side.add_node(EgoPublisher)
    received = []
    context = DdsContext(subscriber_side, "", "listener", None, {}, np.random.default_rng(0))
    context.create_subscription(core.EgoState, "/ego_publisher/output/ego", received.append, QoS())
    ego = core.EgoState(core.Header(1.0, "map"), 1.0, 2.0, -3.0, 4.0)
    give_up = time.monotonic() + 5.0
    while not received and time.monotonic() < give_up:
        node.pub.publish(ego)
        spin_for(subscriber_side, 0.05)
    assert received and received[0].header == ego.header and (received[0].x, received[0].speed) == (1.0, 4.0)
    assert received[0].yaw == pytest.approx(-3.0, abs=1e-12)


@pytest.mark.parametrize("deliver_all, expected", [(False, [4]), (True, [0, 1, 2, 3, 4])])
def test_deliver_all_keeps_samples_beyond_the_depth(runtimes, deliver_all, expected):
    publisher_side, subscriber_side = runtimes(), runtimes(deliver_all=deliver_all)
    node = publisher_side.add_node(EgoPublisher)
    received = []
    context = DdsContext(subscriber_side, "", "listener", None, {}, np.random.default_rng(0))
    context.create_subscription(core.EgoState, "/ego_publisher/output/ego", received.append, QoS(depth=1))
    probe = core.EgoState(core.Header(0.0, "map"), -1.0, 0.0, 0.0, 0.0)
    give_up = time.monotonic() + 5.0
    while not received and time.monotonic() < give_up:          # until matched
        node.pub.publish(probe)
        spin_for(subscriber_side, 0.05)
    received.clear()
    for k in range(5):                                            # a burst before the next take
        node.pub.publish(core.EgoState(core.Header(0.0, "map"), float(k), 0.0, 0.0, 0.0))
    time.sleep(0.2)
    subscriber_side.poll()
    assert [int(msg.x) for msg in received] == expected


def test_driven_clock_gives_the_in_process_timer_times_and_generators(runtimes):
    runtime = runtimes("driven", seed=11)
    runtime.set_time(3.0)
    ticker = runtime.add_node(Ticker, seed_index=1)
    for step in range(1, 21):
        runtime.set_time(3.0 + 0.05 * step)
        runtime.fire_timers(runtime.now_ticks())
    executor = InProcessExecutor(11, start_time=3.0)
    executor.add_node(Ticker)                       # creation index 0
    reference = executor.add_node(Ticker)           # creation index 1
    executor.spin_until(4.0)
    assert ticker.times == reference.times and len(ticker.times) == 20
    assert ticker.draws == reference.draws


def test_sim_clock_follows_clock_topic(runtimes):
    master, follower = runtimes("driven"), runtimes("sim")
    ticker = follower.add_node(Ticker, period=0.1)
    master.set_time(1.0)
    spin_for(follower, 5.0, until=lambda: follower.now() == 1.0 or master.publish_clock())
    follower.fire_timers(follower.now_ticks())
    assert follower.now() == 1.0
    assert ticker.times == [1.0] * 10          # every period the clock passed, at the clock's time (as ROS)


def test_wrong_types_are_refused(runtimes):
    runtime = runtimes()
    node = runtime.add_node(EgoPublisher)
    with pytest.raises(TopicTypeError, match="expected EgoState"):
        node.pub.publish(core.ControlCommand(core.Header(0.0, "base_link"), 0.0, 0.0))
    context = DdsContext(runtime, "", "other", None, {}, np.random.default_rng(0))
    with pytest.raises(TopicTypeError, match="carries nav_msgs/msg/Odometry"):
        context.create_publisher(core.ControlCommand, "/ego_publisher/output/ego", QoS())


def test_clock_misuse_is_refused(runtimes, dds_domain):
    with pytest.raises(ValueError, match="unknown clock"):
        DdsRuntime(dds_domain, clock="steady")
    with pytest.raises(ValueError, match=r"0\.\.232"):
        DdsRuntime(300)
    wall, driven = runtimes("wall"), runtimes("driven")
    with pytest.raises(DdsRuntimeError, match="cannot be set"):
        wall.set_time(1.0)
    with pytest.raises(DdsRuntimeError, match="only a driven clock"):
        wall.publish_clock()
    driven.set_time(2.0)
    with pytest.raises(DdsRuntimeError, match="cannot go back"):
        driven.set_time(1.0)
    with pytest.raises(DdsRuntimeError, match="advanced by its owner"):
        driven.spin()


def test_silent_and_departed_publishers_raise_health_events(runtimes):
    publisher_side, subscriber_side = runtimes(), runtimes()
    node = publisher_side.add_node(EgoPublisher)
    events: list[core.DiagnosticStatus] = []
    context = DdsContext(subscriber_side, "", "listener", None, {}, np.random.default_rng(0))
    received = []
    context.create_subscription(core.EgoState, "/ego_publisher/output/ego", received.append, QoS(deadline=0.2),
                                on_health=events.append)
    ego = core.EgoState(core.Header(0.0, "map"), 0.0, 0.0, 0.0, 0.0)
    give_up = time.monotonic() + 5.0
    while len(received) < 3 and time.monotonic() < give_up:      # publishing at ~20 Hz
        node.pub.publish(ego)
        spin_for(subscriber_side, 0.05)
    assert [e.level for e in events] == [0]                       # publisher alive, no miss yet
    silent_since = time.monotonic()
    spin_for(subscriber_side, 1.0, until=lambda: len(events) > 1)
    assert events[1].level == 3 and "deadline" in events[1].message
    assert time.monotonic() - silent_since < 0.2 + 0.15          # noticed within its deadline
    assert events[1].name == "/ego_publisher/output/ego"
    publisher_side.close()
    spin_for(subscriber_side, 2.0, until=lambda: any("left" in e.message for e in events))
    assert any(e.level == 3 and "left" in e.message for e in events)


def test_best_effort_endpoints_of_a_counting_run_are_reliable_and_counted(runtimes):
    """In a lockstep run sensor data (best effort in ROS) is counted and waited for like any
    other sample, and held until the step hands it over; outside one it stays best effort and
    uncounted."""
    from cav_stack.runtime.node import SENSOR_QOS

    writer_side, reader_side, plain = (runtimes(clock="driven", deliver_all=True) for _ in range(3))
    for runtime in (writer_side, reader_side):
        runtime.set_time(1.0)
        runtime.count_samples_after(0.5)
    rng = np.random.default_rng(0)
    publisher = DdsContext(writer_side, "", "sensor", None, {}, rng).create_publisher(core.EgoState, "/s/ego",
                                                                                      SENSOR_QOS)
    received, unreliable = [], []
    DdsContext(reader_side, "", "fusion", None, {}, rng).create_subscription(core.EgoState, "/s/ego",
                                                                             received.append, SENSOR_QOS)
    DdsContext(plain, "", "monitor", None, {}, rng).create_subscription(core.EgoState, "/s/ego",
                                                                        unreliable.append, SENSOR_QOS)
    spin_for(reader_side, 10.0, until=lambda: reader_side.matched_counts()[1] == [("rt/s/ego", 1)])
    for k in range(3):
        publisher.publish(core.EgoState(core.Header(1.0, "map"), float(k), 0.0, 0.0, 0.0))
    spin_for(reader_side, 10.0, until=lambda: reader_side.received_counts() == [("rt/s/ego", 3, None)])
    assert writer_side.sent_counts().steps == {"rt/s/ego": 3}
    assert reader_side.received_counts() == [("rt/s/ego", 3, None)]
    assert received == []                                         # held until the step hands them over
    reader_side.dispatch_held()
    assert [msg.x for msg in received] == [0.0, 1.0, 2.0]
    assert plain.received_counts() == []                          # best effort: not counted


def test_held_samples_are_handed_over_by_step_then_subscription_whatever_the_arrival(runtimes):
    writer_side, late_side, reader_side = (runtimes(clock="driven", deliver_all=True) for _ in range(3))
    for runtime in (writer_side, late_side, reader_side):
        runtime.set_time(1.0)
        runtime.count_samples_after(0.5)
    rng = np.random.default_rng(0)
    writer = DdsContext(writer_side, "", "sensors", None, {}, rng)
    first, second = (writer.create_publisher(core.EgoState, f"/s/{name}", QoS()) for name in ("a", "b"))
    late = DdsContext(late_side, "", "late", None, {}, rng).create_publisher(core.EgoState, "/s/b", QoS())
    order: list[tuple[str, float]] = []
    reader = DdsContext(reader_side, "", "fusion", None, {}, rng)
    for name in ("a", "b"):
        reader.create_subscription(core.EgoState, f"/s/{name}", lambda m, n=name: order.append((n, m.x)), QoS())
    spin_for(reader_side, 10.0, until=lambda: sorted(reader_side.matched_counts()[1]) == [("rt/s/a", 1),
                                                                                          ("rt/s/b", 2)])

    ego = lambda x: core.EgoState(core.Header(0.0, "map"), x, 0.0, 0.0, 0.0)  # noqa: E731
    writer_side.set_time(2.0)
    second.publish(ego(20.0))                     # the later subscription, first
    first.publish(ego(21.0))
    spin_for(reader_side, 10.0, until=lambda: sum(n for _, n, _ in reader_side.received_counts()) == 2)
    late_side.set_time(1.5)                       # an earlier step's sample, arriving last
    late.publish(ego(15.0))
    spin_for(reader_side, 10.0, until=lambda: sum(n for _, n, _ in reader_side.received_counts()) == 3)
    reader_side.dispatch_held()
    assert order == [("b", 15.0), ("a", 21.0), ("b", 20.0)]


def test_callback_exceptions_are_counted_and_the_dds_node_keeps_running(runtimes):
    publisher_side, subscriber_side = runtimes(), runtimes("driven")
    node = publisher_side.add_node(EgoPublisher)
    received = []

    def fragile(ego: core.EgoState) -> None:
        received.append(ego)
        if len(received) == 1:
            raise RuntimeError("injected subscription failure")

    context = DdsContext(subscriber_side, "cav_0", "listener", None, {}, np.random.default_rng(0))
    context.create_subscription(core.EgoState, "/ego_publisher/output/ego", fragile, QoS())
    ticks = []

    def fragile_tick() -> None:
        ticks.append(subscriber_side.now())
        if len(ticks) == 2:
            raise ZeroDivisionError("injected timer failure")

    context.create_timer(0.05, fragile_tick)
    give_up = time.monotonic() + 5.0
    while len(received) < 3 and time.monotonic() < give_up:
        node.pub.publish(core.EgoState(core.Header(1.0, "map"), 1.0, 2.0, -3.0, 4.0))
        spin_for(subscriber_side, 0.05)
    for step in range(1, 5):                         # the 2nd tick raises, the 3rd and 4th still run
        subscriber_side.set_time(0.05 * step)
        subscriber_side.fire_timers(subscriber_side.now_ticks())
    assert len(received) >= 3 and len(ticks) == 4
    assert subscriber_side.callback_errors.summary() == {"cav_0.listener": 2}
