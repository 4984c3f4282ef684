"""In-process executor: time order, delivery order, namespaces, latching, determinism."""
import time
from dataclasses import dataclass

import numpy as np
import pytest

from cav_stack.core.messages import ControlCommand, Header
from cav_stack.runtime.callback_timing import CallbackTiming
from cav_stack.runtime.executor import InProcessExecutor, TopicTypeError
from cav_stack.runtime.node import LATCHED_QOS, Node, resolve_topic


@dataclass(frozen=True)
class RateParams:
    rate_hz: float


class Talker(Node):
    node_name = "talker"
    params_type = RateParams

    def __init__(self, context, log):
        super().__init__(context)
        self.log = log
        self.pub = self.create_publisher(ControlCommand, "output/command")
        self.create_timer(1.0 / self.params.rate_hz, self.tick)

    def tick(self):
        value = float(self.rng.normal())
        self.log.append(("talk", self.namespace, round(self.now(), 6), value))
        self.pub.publish(ControlCommand(Header(self.now(), "base_link"), value, 0.0))


class Listener(Node):
    node_name = "listener"
    params_type = RateParams

    def __init__(self, context, log):
        super().__init__(context)
        self.log = log
        self.create_subscription(ControlCommand, "input/command", self.on_command)
        self.create_timer(1.0 / self.params.rate_hz, lambda: log.append(("tick", self.namespace, round(self.now(), 6))))

    def on_command(self, msg):
        self.log.append(("heard", self.namespace, round(self.now(), 6), msg.accel))


def build(seed):
    log = []
    executor = InProcessExecutor(seed)
    for ns in ("cav_0", "cav_1"):
        executor.add_node(Talker, namespace=ns, params=RateParams(20.0), log=log)
        executor.add_node(Listener, namespace=ns, params=RateParams(10.0), log=log,
                          remappings={"input/command": "talker/output/command"})
    return executor, log


def test_timers_fire_in_time_order_and_messages_stay_in_namespace():
    executor, log = build(1)
    executor.spin_until(0.1)
    times = [entry[2] for entry in log]
    assert times == sorted(times)
    assert [e[0] for e in log if e[2] == 0.05] == ["talk", "heard", "talk", "heard"]
    for entry in log:
        if entry[0] == "heard":
            talk = next(e for e in log if e[0] == "talk" and e[1] == entry[1] and e[2] == entry[2])
            assert talk[3] == entry[3]
    assert sum(1 for e in log if e[0] == "tick") == 2        # 10 Hz listeners at 0.1 s
    assert executor.now() == pytest.approx(0.1)


def test_same_seed_same_run_different_seed_different_noise():
    a_exec, a_log = build(7)
    b_exec, b_log = build(7)
    c_exec, c_log = build(8)
    for executor in (a_exec, b_exec, c_exec):
        executor.spin_until(1.0)
    assert a_log == b_log
    assert a_log != c_log


def test_no_drift_over_many_ticks():
    executor, log = build(3)
    executor.spin_until(100.0)
    talks = [e for e in log if e[0] == "talk" and e[1] == "cav_0"]
    assert len(talks) == 2000
    assert talks[-1][2] == pytest.approx(100.0, abs=1e-9)


def test_wrong_message_type_is_refused():
    executor, _ = build(1)
    talker = executor.nodes[0]
    with pytest.raises(TopicTypeError):
        talker.pub.publish("not a command")


def test_latched_topic_reaches_late_subscriber():
    received = []

    class Latcher(Node):
        node_name = "latcher"

        def __init__(self, context):
            super().__init__(context)
            self.create_publisher(ControlCommand, "/route", LATCHED_QOS).publish(
                ControlCommand(Header(0.0, "map"), 1.0, 0.0))

    class Late(Node):
        node_name = "late"

        def __init__(self, context):
            super().__init__(context)
            self.create_subscription(ControlCommand, "/route", received.append, LATCHED_QOS)

    executor = InProcessExecutor(0)
    executor.add_node(Latcher)
    executor.add_node(Late)
    assert [m.accel for m in received] == [1.0]


def test_topic_resolution():
    assert resolve_topic("input/x", "cav_0", "mpc", {}) == "/cav_0/mpc/input/x"
    assert resolve_topic("input/x", "cav_0", "mpc", {"input/x": "truth/ego"}) == "/cav_0/truth/ego"
    assert resolve_topic("input/x", "cav_0", "mpc", {"input/x": "/clock"}) == "/clock"
    assert resolve_topic("/abs", "cav_0", "mpc", {}) == "/abs"
    assert resolve_topic("out", "", "mpc", {}) == "/mpc/out"


def test_params_type_is_enforced():
    with pytest.raises(TypeError):
        InProcessExecutor(0).add_node(Talker, params=None, log=[])


def test_taps_see_every_published_message_with_time():
    executor, _ = build(2)
    seen = []
    executor.add_tap(lambda topic, msg, now: seen.append((topic, round(now, 6))))
    executor.spin_until(0.1)
    assert seen == [("/cav_0/talker/output/command", 0.05), ("/cav_1/talker/output/command", 0.05),
                    ("/cav_0/talker/output/command", 0.1), ("/cav_1/talker/output/command", 0.1)]


class Faulty(Node):
    """Raises in its subscription on the second message and in its timer at t = 0.2 s."""

    node_name = "faulty"
    params_type = RateParams

    def __init__(self, context, log):
        super().__init__(context)
        self.log = log
        self.received = 0
        self.create_subscription(ControlCommand, "input/command", self.on_command)
        self.create_timer(1.0 / self.params.rate_hz, self.tick)

    def on_command(self, msg):
        self.received += 1
        if self.received == 2:
            raise RuntimeError("injected subscription failure")

    def tick(self):
        if abs(self.now() - 0.2) < 1e-9:
            raise ZeroDivisionError("injected timer failure")
        self.log.append(("faulty", round(self.now(), 6)))


def test_callback_exceptions_are_counted_per_node_and_the_node_keeps_running(caplog):
    executor = InProcessExecutor(seed=1)
    log = []
    executor.add_node(Talker, namespace="a", params=RateParams(10.0), log=log)
    faulty = executor.add_node(Faulty, namespace="a", params=RateParams(10.0), log=log,
                               remappings={"input/command": "talker/output/command"})
    executor.spin_until(1.0)
    assert executor.callback_errors.summary() == {"a.faulty": 2}
    assert faulty.received == 10                      # every later message still delivered
    assert ("faulty", 0.3) in log and ("faulty", 1.0) in log    # the timer fires after its failure
    assert sum(1 for entry in log if entry[0] == "talk") == 10  # other nodes unaffected
    assert "injected timer failure" in caplog.text and "injected subscription failure" in caplog.text


class SlowListener(Listener):
    """A listener whose message callback busy-waits ``delay`` seconds of CPU time."""

    delay = 0.002

    def on_command(self, msg):
        start = time.thread_time()
        while time.thread_time() - start < self.delay:
            pass
        super().on_command(msg)


def test_callback_timing_counts_each_vehicles_callbacks_per_tick():
    """The work a message causes is counted under the receiving node's namespace, per 50 ms tick;
    nodes without a namespace (the sim bridge) are not a vehicle's stack."""
    log, timing = [], CallbackTiming(0.05)
    executor = InProcessExecutor(1, timing=timing)
    executor.add_node(Talker, namespace="", params=RateParams(20.0), log=log)       # like the bridge
    executor.add_node(SlowListener, namespace="cav_0", params=RateParams(10.0), log=log,
                      remappings={"input/command": "/talker/output/command"})
    executor.spin_until(1.0)
    assert timing.namespaces() == ["cav_0"]
    samples = timing.per_tick(skip_ticks=2)
    assert len(samples) == 18                                   # ticks 3..20 of cav_0
    wall, cpu = samples[:, 0], samples[:, 1]
    assert np.all(cpu >= SlowListener.delay) and np.all(wall >= 0.9 * cpu)
    assert np.all(cpu < 10 * SlowListener.delay)
    with pytest.raises(ValueError):
        CallbackTiming(0.0)


def test_remove_nodes_stops_a_namespace_and_leaves_the_others_running():
    executor, log = build(4)
    executor.spin_until(0.1)
    assert len(executor.remove_nodes("/cav_1")) == 2
    assert [node.namespace.strip("/") for node in executor.nodes] == ["cav_0", "cav_0"]
    del log[:]
    executor.spin_until(0.3)
    assert log and all(entry[1].strip("/") == "cav_0" for entry in log)
    assert any(entry[0] == "heard" for entry in log)
    assert executor.remove_nodes("cav_1") == []


def test_remove_nodes_from_a_callback_drops_the_messages_queued_for_them():
    executor, log = build(5)

    class Remover(Node):
        node_name = "remover"
        params_type = RateParams

        def __init__(self, context):
            super().__init__(context)
            self.pub = self.create_publisher(ControlCommand, "/cav_1/talker/output/command")
            self.create_timer(0.25, self.tick)

        def tick(self):
            self.pub.publish(ControlCommand(Header(self.now(), "base_link"), 99.0, 0.0))
            executor.remove_nodes("cav_1")

    executor.add_node(Remover, params=RateParams(4.0))
    executor.spin_until(0.5)
    assert not any(entry[0] == "heard" and entry[3] == 99.0 for entry in log)
    assert not any(entry[1].strip("/") == "cav_1" and entry[2] > 0.25 for entry in log)
