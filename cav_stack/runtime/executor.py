"""In-process deterministic executor running nodes of one or many vehicles on simulated time.

Determinism: timers fire in time order, ties broken by the order nodes and timers were
created; a published message is queued and delivered (FIFO, to subscriptions in creation
order) after the running callback returns; every node gets its own random generator spawned
from one seed in creation order. The clock only moves when the executor moves it. A callback
that raises is logged and counted per node (:attr:`InProcessExecutor.callback_errors`); the
node and the run go on.
"""
from __future__ import annotations

import heapq
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import numpy as np

from cav_stack.runtime.callback_guard import CallbackErrors
from cav_stack.runtime.callback_timing import CallbackTiming
from cav_stack.runtime.node import NamedContext, Node, QoS

#: Timer periods are rounded to this resolution [s] so that 0.05 s timers stay exactly aligned.
TIME_RESOLUTION = 1e-6


class TopicTypeError(TypeError):
    """A message of the wrong type was published on a topic, or a topic has two types."""


@dataclass
class _Subscription:
    msg_type: type
    callback: Callable[[Any], None]
    namespace: str = ""


@dataclass
class _Topic:
    name: str
    msg_type: type
    subscriptions: list[_Subscription] = field(default_factory=list)
    latched: Any = None
    has_latched: bool = False


@dataclass(order=True)
class _TimerEvent:
    ticks: int
    seq: int
    timer: _Timer = field(compare=False)


@dataclass
class _Timer:
    period_ticks: int
    callback: Callable[[], None]
    node_label: str
    namespace: str = ""


class _InProcessPublisher:
    def __init__(self, executor: InProcessExecutor, topic: _Topic, qos: QoS):
        self._executor = executor
        self._topic = topic
        self._qos = qos
        self.topic = topic.name

    def publish(self, msg: Any) -> None:
        if not isinstance(msg, self._topic.msg_type):
            raise TopicTypeError(
                f"{self.topic}: expected {self._topic.msg_type.__name__}, got {type(msg).__name__}")
        if self._qos.transient_local:
            self._topic.latched = msg
            self._topic.has_latched = True
        self._executor._enqueue(self._topic, msg)


class _InProcessContext(NamedContext):
    """NodeContext backed by an :class:`InProcessExecutor`."""

    def __init__(self, executor: InProcessExecutor, namespace: str, node_name: str, params: Any,
                 remappings: dict[str, str], rng: np.random.Generator):
        super().__init__(namespace, node_name, params, remappings, rng)
        self._executor = executor

    def now(self) -> float:
        return self._executor.now()

    def create_publisher(self, msg_type: type, topic: str, qos: QoS) -> _InProcessPublisher:
        return _InProcessPublisher(self._executor, self._executor._topic(self.resolve(topic), msg_type), qos)

    def create_subscription(self, msg_type: type, topic: str, callback: Callable[[Any], None],
                            qos: QoS) -> None:
        entry = self._executor._topic(self.resolve(topic), msg_type)
        callback = self._executor.callback_errors.guard(self.label, callback)
        namespace = self.namespace.strip("/")
        entry.subscriptions.append(_Subscription(msg_type, callback, namespace))
        if entry.has_latched:
            self._executor._pending.append((callback, entry.latched, namespace))

    def create_timer(self, period: float, callback: Callable[[], None]) -> None:
        self._executor._add_timer(period, self._executor.callback_errors.guard(self.label, callback), self.label,
                                  self.namespace.strip("/"))


class InProcessExecutor:
    """Runs nodes deterministically on a simulated clock starting at ``start_time`` [s].

    timing: when given, the wall time of every callback is added to it under the namespace of
    the node that owns the callback (``benchmarks/stack_cycle.py``)."""

    def __init__(self, seed: int, start_time: float = 0.0, timing: CallbackTiming | None = None):
        self._seed_sequence = np.random.SeedSequence(seed)
        self._start_ticks = round(start_time / TIME_RESOLUTION)
        self._ticks = self._start_ticks
        self._topics: dict[str, _Topic] = {}
        self._timers: list[_TimerEvent] = []
        self._timer_seq = 0
        self._pending: deque[tuple[Callable[[Any], None], Any, str]] = deque()
        self._timing = timing
        self.nodes: list[Node] = []
        self.topic_counts: dict[str, int] = defaultdict(int)
        self._taps: list[Callable[[str, Any, float], None]] = []
        self.callback_errors = CallbackErrors()

    def now(self) -> float:
        """Current simulated time [s]."""
        return self._ticks * TIME_RESOLUTION

    def add_node(self, node_type: type[Node], *, namespace: str = "", params: Any = None,
                 remappings: dict[str, str] | None = None, **kwargs: Any) -> Node:
        """Create a node of ``node_type`` under ``namespace`` with validated ``params``.

        Extra keyword arguments go to the node's constructor (for in-process-only resources
        such as a simulator handle).
        """
        if node_type.params_type is not None and not isinstance(params, node_type.params_type):
            raise TypeError(f"{node_type.__name__} needs params of type {node_type.params_type.__name__}")
        rng = np.random.default_rng(self._seed_sequence.spawn(1)[0])
        context = _InProcessContext(self, namespace, node_type.node_name, params, remappings or {}, rng)
        node = node_type(context, **kwargs)
        self.nodes.append(node)
        self._drain()
        return node

    def remove_nodes(self, namespace: str) -> list:
        """Remove every node under ``namespace`` (e.g. a CAV that left the road): its timers and
        subscriptions, and the messages queued for them; return the nodes that went (their logs and
        counters are still read for the run's report). Callable from a callback (the running one's
        node must not be among them)."""
        name = namespace.strip("/")
        kept = [node for node in self.nodes if node.namespace.strip("/") != name]
        removed = [node for node in self.nodes if node.namespace.strip("/") == name]
        self.nodes = kept
        for topic in self._topics.values():
            topic.subscriptions = [s for s in topic.subscriptions if s.namespace != name]
        self._timers = [event for event in self._timers if event.timer.namespace != name]
        heapq.heapify(self._timers)
        self._pending = deque(entry for entry in self._pending if entry[2] != name)
        return removed

    def spin_until(self, end_time: float) -> None:
        """Fire every timer due up to and including ``end_time`` [s], in order."""
        end_ticks = round(end_time / TIME_RESOLUTION)
        while self._timers and self._timers[0].ticks <= end_ticks:
            event = heapq.heappop(self._timers)
            self._ticks = event.ticks
            self._run(event.timer.callback, (), event.timer.namespace)
            self._drain()
            heapq.heappush(self._timers, _TimerEvent(event.ticks + event.timer.period_ticks, event.seq, event.timer))
        self._ticks = max(self._ticks, end_ticks)

    def _topic(self, name: str, msg_type: type) -> _Topic:
        entry = self._topics.get(name)
        if entry is None:
            entry = self._topics[name] = _Topic(name, msg_type)
        elif entry.msg_type is not msg_type:
            raise TopicTypeError(f"{name} carries {entry.msg_type.__name__}, not {msg_type.__name__}")
        return entry

    def _add_timer(self, period: float, callback: Callable[[], None], label: str, namespace: str = "") -> None:
        period_ticks = round(period / TIME_RESOLUTION)
        if period_ticks <= 0:
            raise ValueError(f"{label}: timer period must be > 0 s, got {period}")
        timer = _Timer(period_ticks, callback, label, namespace)
        heapq.heappush(self._timers, _TimerEvent(self._ticks + period_ticks, self._timer_seq, timer))
        self._timer_seq += 1

    def add_tap(self, tap: Callable[[str, Any, float], None]) -> None:
        """Call ``tap(topic, msg, now)`` for every message published (recording, reports)."""
        self._taps.append(tap)

    def _enqueue(self, topic: _Topic, msg: Any) -> None:
        self.topic_counts[topic.name] += 1
        now = self.now()
        for tap in self._taps:
            tap(topic.name, msg, now)
        for subscription in topic.subscriptions:
            self._pending.append((subscription.callback, msg, subscription.namespace))

    def _drain(self) -> None:
        while self._pending:
            callback, msg, namespace = self._pending.popleft()
            self._run(callback, (msg,), namespace)

    def _run(self, callback: Callable[..., None], args: tuple, namespace: str) -> None:
        """Call ``callback(*args)``, timed under ``namespace`` when timing is on."""
        if self._timing is None:
            callback(*args)
            return
        cpu = time.thread_time()    # a system call: outside the wall-time measurement
        wall = time.perf_counter()
        callback(*args)
        wall = time.perf_counter() - wall
        self._timing.add(namespace, self.now(), wall, time.thread_time() - cpu)

    def topics(self) -> dict[str, type]:
        """Every topic seen so far with its message type."""
        return {name: entry.msg_type for name, entry in self._topics.items()}
