"""DDS backend: cav_stack nodes in their own processes over Cyclone DDS, wire-compatible with ROS 2.

A :class:`DdsRuntime` is the executor of one process: one DDS domain participant, the nodes
added to it, their timers and the process clock. Topics are named, typed and encoded the way
rmw_cyclonedds_cpp does (``rt/`` prefix, ``pkg::msg::dds_::Type_``, XCDR1; see
:mod:`~cav_stack.runtime.dds_types` and :mod:`~cav_stack.runtime.dds_qos`), so ``ros2 topic
echo`` on the same domain sees them. Core messages cross through
:mod:`~cav_stack.runtime.ros_conversions`.

Clocks (``clock=``):
  ``wall``   ROS time is the system time; timers run on it.
  ``sim``    time follows ``/clock`` (rosgraph_msgs/Clock, like ``use_sim_time``); timers fire
             when the clock passes their due time; 0 until the first ``/clock`` arrives.
  ``driven`` the owner of the runtime sets the time (:meth:`DdsRuntime.set_time`) and publishes
             ``/clock`` (the simulator process; see :mod:`~cav_stack.runtime.dds_lockstep`).
Timer times use the in-process executor's resolution, so a node sees the same ``now()``
values on both backends.

Callbacks run on the thread calling :meth:`DdsRuntime.spin` / :meth:`DdsRuntime.wait`, one at
a time: samples are taken from the readers in subscription order, each reader in arrival order.

Health events: a subscription may pass ``on_health`` (see :meth:`DdsContext.create_subscription`)
to receive a :class:`~cav_stack.core.messages.DiagnosticStatus` when the topic misses its QoS
deadline (level STALE), when its publishers lose liveliness or all go away (STALE), and when a
publisher becomes alive again (OK). Deadlines and leases are wall-clock DDS QoS, as in ROS 2.
"""
from __future__ import annotations

import heapq
import signal
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any
from collections.abc import Callable

import numpy as np

from cav_stack.core.messages import DiagnosticStatus, Header
from cav_stack.runtime.callback_guard import CallbackErrors
from cav_stack.runtime.dds_config import check_domain_id
from cav_stack.runtime.dds_import import cyclonedds_module
from cav_stack.runtime.dds_qos import dds_qos, dds_topic_name
from cav_stack.runtime.executor import TIME_RESOLUTION, TopicTypeError
from cav_stack.runtime.node import NamedContext, Node, QoS
from cav_stack.runtime.ros_conversions import clock_fields, clock_seconds, conversion_for

CLOCK_TOPIC = "/clock"
CLOCK_READER_QOS = QoS(depth=1, reliable=False)
"""What a ROS 2 node subscribes /clock with (best effort matches every publisher)."""
CLOCK_WRITER_QOS = QoS(depth=1, reliable=True)

CLOCKS = ("wall", "sim", "driven")
STALE, OK = 3, 0
"""diagnostic_msgs/DiagnosticStatus levels used by health events."""

MAX_WAIT_S = 0.01
"""Longest a wait blocks without data [s]: bounds the latency of health events."""

HealthCallback = Callable[[DiagnosticStatus], None]


class DdsRuntimeError(RuntimeError):
    """The DDS runtime was misused or a DDS operation failed."""


def interrupt_on_sigterm() -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt in the main thread, so a node process
    stops cleanly (participant deleted, peers notified) on Ctrl-C or a supervisor's terminate,
    even when started with SIGINT ignored (a background job of a non-interactive shell)."""
    def interrupt(signum, frame) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


_NS_PER_TICK = round(TIME_RESOLUTION * 1e9)


def _ticks(seconds: float) -> int:
    return round(seconds / TIME_RESOLUTION)


@dataclass
class _Reader:
    """One DDS reader with what to do with its samples.

    steps, latched: samples taken stamped after / at or before the counting start (see
    :meth:`DdsRuntime.count_samples_after`).
    """

    ros_topic: str
    reader: Any
    on_fields: Callable[[dict], None]
    qos: QoS
    internal: bool
    on_health: HealthCallback | None = None
    health_label: str = ""
    held: bool = False
    steps: int = 0
    latched: int = 0


@dataclass
class _Writer:
    """One DDS writer; latched: samples written at or before the counting start."""

    ros_topic: str
    writer: Any
    qos: QoS
    internal: bool
    latched: int = 0


@dataclass(frozen=True)
class SampleCounts:
    """Reliable samples of one process per DDS topic since its clock started.

    steps: written (or taken) stamped after the counting start; latched: written before it on
    transient-local topics and still in the writers' histories (so a late-joining reader gets
    them), or taken with such a stamp by a transient-local reader.
    """

    steps: dict[str, int]
    latched: dict[str, int]


@dataclass(order=True)
class _TimerEvent:
    ticks: int
    seq: int
    period_ticks: int = field(compare=False)
    callback: Callable[[], None] = field(compare=False)


class DdsPublisher:
    """Publishes core messages of one type on one ROS topic over DDS."""

    def __init__(self, runtime: DdsRuntime, msg_type: type, ros_topic: str, qos: QoS):
        self._msg_type = msg_type
        self._conversion = runtime.conversion_of(msg_type)
        self._send = runtime.advertise(self._conversion.ros_type_name, ros_topic, qos)
        self.topic = ros_topic

    def publish(self, msg: Any) -> None:
        if not isinstance(msg, self._msg_type):
            raise TopicTypeError(f"{self.topic}: expected {self._msg_type.__name__}, got {type(msg).__name__}")
        self._send(self._conversion.to_fields(msg))


class DdsContext(NamedContext):
    """NodeContext backed by a :class:`DdsRuntime`."""

    def __init__(self, runtime: DdsRuntime, namespace: str, node_name: str, params: Any,
                 remappings: dict[str, str], rng: np.random.Generator):
        super().__init__(namespace, node_name, params, remappings, rng)
        self._runtime = runtime

    def now(self) -> float:
        return self._runtime.now()

    def create_publisher(self, msg_type: type, topic: str, qos: QoS) -> DdsPublisher:
        return DdsPublisher(self._runtime, msg_type, self.resolve(topic), qos)

    def create_subscription(self, msg_type: type, topic: str, callback: Callable[[Any], None],
                            qos: QoS, on_health: HealthCallback | None = None) -> None:
        """Subscribe ``callback`` to ``topic``; ``on_health`` receives the topic's health events.

        A health event is a DiagnosticStatus named after the resolved topic: level 3 (STALE)
        when the deadline ``qos.deadline`` [s] is missed or the publishers lost liveliness or
        left, level 0 (OK) when a publisher is alive again.
        """
        conversion = self._runtime.conversion_of(msg_type)
        guarded = self._runtime.callback_errors.guard(self.label, callback)
        self._runtime.subscribe(conversion.ros_type_name, self.resolve(topic),
                                lambda fields: guarded(conversion.from_fields(fields)), qos,
                                on_health=on_health)

    def create_timer(self, period: float, callback: Callable[[], None]) -> None:
        self._runtime.add_timer(period, self._runtime.callback_errors.guard(self.label, callback))


class DdsRuntime:
    """Runs the nodes of one process on one DDS domain participant.

    domain_id: DDS domain (the ROS_DOMAIN_ID); clock: one of :data:`CLOCKS`; seed: the run's
    seed, from which each node's generator is derived by its ``seed_index`` exactly as the
    in-process executor derives it from the node's creation order; deliver_all: readers keep
    every sample until taken (DDS KEEP_ALL) instead of the newest ``depth``, so that, as on
    the in-process executor, every message reaches the callback (lockstep runs use it).
    """

    def __init__(self, domain_id: int, *, clock: str = "wall", seed: int = 0, deliver_all: bool = False):
        if clock not in CLOCKS:
            raise ValueError(f"unknown clock '{clock}' (known: {', '.join(CLOCKS)})")
        check_domain_id(domain_id)
        self.clock = clock
        self.domain_id = domain_id
        self._seed = seed
        self._deliver_all = deliver_all
        self._open_participant()
        self._topics: dict[str, tuple[str, Any]] = {}
        self._readers: list[_Reader] = []
        self._writers: list[_Writer] = []
        self._timers: list[_TimerEvent] = []
        self._timer_seq = 0
        self._time_ticks = 0
        self._count_after_ns: int | None = None
        self._held: list[tuple[int, int, int, _Reader, Any]] = []
        self._sent: Counter[str] = Counter()
        self._clock_send: Callable[[dict], None] | None = None
        self.nodes: list[Node] = []
        self.callback_errors = CallbackErrors()
        if clock == "sim":
            self.subscribe("rosgraph_msgs/msg/Clock", CLOCK_TOPIC, self._on_clock, self.clock_reader_qos)
        elif clock == "driven":
            self._clock_send = self.advertise("rosgraph_msgs/msg/Clock", CLOCK_TOPIC, CLOCK_WRITER_QOS)

    #: QoS of the ``sim`` clock's /clock reader.
    clock_reader_qos = CLOCK_READER_QOS
    #: How a core message type crosses this middleware (see :mod:`~cav_stack.runtime.ros_conversions`).
    conversion_of = staticmethod(conversion_for)

    def _open_participant(self) -> None:
        """Create this process's Cyclone DDS participant and wait set (the middleware-specific start)."""
        self._dds = {name: cyclonedds_module(f"cyclonedds.{name}")
                     for name in ("core", "domain", "pub", "sub", "topic", "util")}
        from cav_stack.runtime import dds_types

        self._types: Any = dds_types
        self._participant = self._dds["domain"].DomainParticipant(self.domain_id)
        self._waitset = self._dds["core"].WaitSet(self._participant)

    # -- time ---------------------------------------------------------------------------
    def now(self) -> float:
        """Current time on the process clock [s]."""
        if self.clock == "wall":
            return _ticks(time.time()) * TIME_RESOLUTION
        return self._time_ticks * TIME_RESOLUTION

    def now_ticks(self) -> int:
        return round(self.now() / TIME_RESOLUTION)

    def set_time(self, seconds: float) -> None:
        """Move a ``driven`` or ``sim`` clock to ``seconds`` (never backwards)."""
        if self.clock == "wall":
            raise DdsRuntimeError("the wall clock cannot be set")
        ticks = _ticks(seconds)
        if ticks < self._time_ticks:
            raise DdsRuntimeError(f"time cannot go back from {self.now()} s to {seconds} s")
        self._time_ticks = ticks

    def publish_clock(self) -> None:
        """Publish the current time on ``/clock`` (``driven`` clock only)."""
        if self._clock_send is None:
            raise DdsRuntimeError("only a driven clock publishes /clock")
        self._clock_send(clock_fields(self.now()))

    def _on_clock(self, fields: dict) -> None:
        ticks = _ticks(clock_seconds(fields))
        if ticks > self._time_ticks:
            self._time_ticks = ticks

    # -- nodes ---------------------------------------------------------------------------
    def add_node(self, node_type: type[Node], *, namespace: str = "", params: Any = None,
                 remappings: dict[str, str] | None = None, seed_index: int = 0, **kwargs: Any) -> Node:
        """Create a node of ``node_type`` under ``namespace`` with validated ``params``.

        seed_index: the node's creation index in the equivalent in-process run (its generator
        is the ``seed_index``-th child of the run's seed sequence). Extra keyword arguments go to
        the node's constructor.
        """
        if node_type.params_type is not None and not isinstance(params, node_type.params_type):
            raise TypeError(f"{node_type.__name__} needs params of type {node_type.params_type.__name__}")
        rng = np.random.default_rng(np.random.SeedSequence(self._seed, spawn_key=(seed_index,)))
        context = DdsContext(self, namespace, node_type.node_name, params, remappings or {}, rng)
        node = node_type(context, **kwargs)
        self.nodes.append(node)
        return node

    def add_timer(self, period: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` every ``period`` [s] of process time, first one period from now."""
        period_ticks = _ticks(period)
        if period_ticks <= 0:
            raise ValueError(f"timer period must be > 0 s, got {period}")
        heapq.heappush(self._timers, _TimerEvent(self.now_ticks() + period_ticks, self._timer_seq,
                                                 period_ticks, callback))
        self._timer_seq += 1

    def next_timer_ticks(self) -> int | None:
        """Due time of the next timer in :data:`TIME_RESOLUTION` units (None: no timers)."""
        return self._timers[0].ticks if self._timers else None

    def fire_timers(self, until_ticks: int) -> None:
        """Fire every timer due up to ``until_ticks`` in time order, taking data in between."""
        while self._timers and self._timers[0].ticks <= until_ticks:
            event = heapq.heappop(self._timers)
            event.callback()
            self.poll()
            heapq.heappush(self._timers, _TimerEvent(event.ticks + event.period_ticks, event.seq,
                                                     event.period_ticks, event.callback))

    # -- endpoints -----------------------------------------------------------------------
    def _topic(self, ros_type_name: str, ros_topic: str):
        name = dds_topic_name(ros_topic)
        known = self._topics.get(name)
        if known is not None:
            if known[0] != ros_type_name:
                raise TopicTypeError(f"{ros_topic} carries {known[0]}, not {ros_type_name}")
            return known[1]
        topic = self._dds["topic"].Topic(self._participant, name, self._types.idl_type(ros_type_name))
        self._topics[name] = (ros_type_name, topic)
        return topic

    def advertise(self, ros_type_name: str, ros_topic: str, qos: QoS, *,
                  internal: bool = False) -> Callable[[dict], None]:
        """Create a writer; returns the function that publishes a ROS field dictionary.

        internal: the endpoint belongs to the runtime's own protocols and is left out of
        :meth:`endpoints`.
        """
        topic = self._topic(ros_type_name, ros_topic)
        qos = self._wire_qos(qos, internal)
        writer = self._dds["pub"].DataWriter(self._participant, topic, qos=dds_qos(qos, writer=True))
        entry = _Writer(ros_topic, writer, qos, internal)
        self._writers.append(entry)
        idl = topic.data_type
        to_idl = self._types.to_idl
        counted = qos.reliable and not internal
        dds_name = dds_topic_name(ros_topic)

        def send(fields: dict) -> None:
            if self._count_after_ns is None:
                writer.write(to_idl(idl, fields))
                return
            stamp_ns = self._time_ticks * _NS_PER_TICK
            writer.write(to_idl(idl, fields), timestamp=stamp_ns)
            if counted:
                self._count_sent(entry, dds_name, stamp_ns)
        return send

    def _count_sent(self, entry: _Writer, dds_name: str, stamp_ns: int) -> None:
        """Count a sample written on a reliable node writer at ``stamp_ns`` (process clock) while counting."""
        if self._count_after_ns is not None and stamp_ns > self._count_after_ns:
            self._sent[dds_name] += 1
        elif entry.qos.transient_local:
            entry.latched += 1

    def subscribe(self, ros_type_name: str, ros_topic: str, on_fields: Callable[[dict], None], qos: QoS, *,
                  on_health: HealthCallback | None = None, internal: bool = False) -> None:
        """Create a reader handing each sample's ROS field dictionary to ``on_fields``."""
        dds_core = self._dds["core"]
        topic = self._topic(ros_type_name, ros_topic)
        qos = self._wire_qos(qos, internal)
        reader = self._dds["sub"].DataReader(self._participant, topic,
                                             qos=dds_qos(qos, writer=False, keep_all=self._deliver_all))
        condition = dds_core.ReadCondition(reader, dds_core.SampleState.Any | dds_core.ViewState.Any
                                           | dds_core.InstanceState.Any)
        self._waitset.attach(condition)
        self._readers.append(_Reader(ros_topic, reader, on_fields, qos, internal, on_health,
                                     f"{ros_topic} (deadline {qos.deadline:g} s)" if qos.deadline else ros_topic,
                                     held=self._count_after_ns is not None and not internal))

    def _wire_qos(self, qos: QoS, internal: bool) -> QoS:
        """``qos`` made reliable for a node endpoint of a counting (lockstep) run: a best-effort
        sample (sensor data) may arrive after the step it belongs to, and what a node sees would
        depend on scheduling; reliable, it is counted and waited for like any other."""
        if self._count_after_ns is None or internal or qos.reliable:
            return qos
        return replace(qos, reliable=True)

    def endpoints(self) -> tuple[list[str], list[str]]:
        """DDS topic names of this process's writers and readers (one entry per endpoint)."""
        return ([dds_topic_name(w.ros_topic) for w in self._writers if not w.internal],
                [dds_topic_name(r.ros_topic) for r in self._readers if not r.internal])

    def count_samples_after(self, time_s: float) -> None:
        """Stamp every sample written from now on with the process clock (as its DDS source
        timestamp) and count reliable samples written and taken, split at ``time_s`` [s] (see
        :meth:`sent_counts`, :meth:`received_counts`). Endpoints created from now on are
        reliable, best-effort ones included, and their readers hold the samples they take until
        :meth:`dispatch_held`. Call before creating the nodes."""
        self._count_after_ns = _ticks(time_s) * _NS_PER_TICK

    def sent_counts(self) -> SampleCounts:
        """Samples this process wrote on its reliable non-internal writers."""
        latched: Counter[str] = Counter()
        for w in self._writers:
            if w.latched:
                latched[dds_topic_name(w.ros_topic)] += min(w.latched, w.qos.depth)
        return SampleCounts(dict(self._sent), dict(latched))

    def received_counts(self) -> list[tuple[str, int, int | None]]:
        """(DDS topic, step samples taken, latched samples taken or None for a volatile reader)
        of every reliable non-internal reader."""
        return [(dds_topic_name(r.ros_topic), r.steps, r.latched if r.qos.transient_local else None)
                for r in self._readers if r.qos.reliable and not r.internal]

    def matched_counts(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """(topic, matched remote endpoints) of every non-internal writer and reader."""
        writers = [(dds_topic_name(w.ros_topic), w.writer.get_publication_matched_status().current_count)
                   for w in self._writers if not w.internal]
        readers = [(dds_topic_name(r.ros_topic), r.reader.get_subscription_matched_status().current_count)
                   for r in self._readers if not r.internal]
        return writers, readers

    # -- spinning ------------------------------------------------------------------------
    def poll(self) -> None:
        """Dispatch every sample and health event available now (samples of holding readers:
        take and count them, see :meth:`dispatch_held`)."""
        for index, entry in enumerate(self._readers):
            while True:
                samples = entry.reader.take(N=64)
                if not samples:
                    break
                for sample in samples:
                    info = sample.sample_info
                    if not info.valid_data:
                        continue
                    if self._count_after_ns is not None:
                        if info.source_timestamp > self._count_after_ns:
                            entry.steps += 1
                        else:
                            entry.latched += 1
                    if entry.held:
                        self._held.append((info.source_timestamp, index, len(self._held), entry, sample))
                    else:
                        entry.on_fields(self._types.from_idl(sample))
            if entry.on_health is not None:
                self._check_health(entry)

    def dispatch_held(self) -> None:
        """Hand the held samples to their callbacks in an order that does not depend on when
        they arrived: by source timestamp (sim time of the step they were written in), then by
        reader (creation order), then as taken (a writer's samples in the order written)."""
        held, self._held = sorted(self._held, key=lambda h: h[:3]), []
        for _, _, _, entry, sample in held:
            entry.on_fields(self._types.from_idl(sample))

    def _check_health(self, entry: _Reader) -> None:
        deadline = entry.reader.get_requested_deadline_missed_status()
        if deadline.total_count_change > 0:
            self._health(entry, STALE, f"no message within the deadline ({deadline.total_count} missed)",
                         (("missed_deadlines", str(deadline.total_count)),))
        liveliness = entry.reader.get_liveliness_changed_status()
        if liveliness.not_alive_count_change > 0 or (liveliness.alive_count_change < 0
                                                      and liveliness.alive_count == 0):
            self._health(entry, STALE, "publisher lost liveliness or left",
                         (("alive_publishers", str(liveliness.alive_count)),))
        elif liveliness.alive_count_change > 0:
            self._health(entry, OK, "publisher alive", (("alive_publishers", str(liveliness.alive_count)),))

    def _health(self, entry: _Reader, level: int, message: str, values: tuple[tuple[str, str], ...]) -> None:
        if entry.on_health is not None:
            entry.on_health(DiagnosticStatus(Header(self.now(), ""), entry.ros_topic, level,
                                             f"{entry.health_label}: {message}", values))

    def wait(self, timeout: float) -> None:
        """Block until data arrives or ``timeout`` [s] passes (at most :data:`MAX_WAIT_S`), then poll."""
        seconds = min(max(timeout, 0.0), MAX_WAIT_S)
        self._waitset.wait(self._dds["util"].duration(seconds=seconds))
        self.poll()

    def spin(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Dispatch data and fire timers on a ``wall`` or ``sim`` clock until ``should_stop()``."""
        if self.clock == "driven":
            raise DdsRuntimeError("a driven clock is advanced by its owner (see dds_lockstep.run_master)")
        while not should_stop():
            due = self.next_timer_ticks()
            self.wait(MAX_WAIT_S if due is None else (due - self.now_ticks()) * TIME_RESOLUTION)
            self.fire_timers(self.now_ticks())

    def close(self) -> None:
        """Delete the participant and every entity of this process (peers see them leave)."""
        if self._participant is None:
            return
        participant, self._participant = self._participant, None
        self._readers.clear()
        self._writers.clear()
        self._topics.clear()
        self._waitset = None
        participant.__del__()  # dds_delete of the participant deletes all its entities now
