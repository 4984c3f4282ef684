"""The process runtime of :mod:`~cav_stack.runtime.dds_backend` on rclpy: one real ROS 2 node per process.

:class:`RclpyRuntime` is a :class:`~cav_stack.runtime.dds_backend.DdsRuntime` whose middleware
is rclpy (rmw_fastrtps_cpp from the ``ros`` extra, or a sourced ROS 2 installation) instead of
the Cyclone DDS Python binding: the clocks, timers, node creation (seeds), sample counting and
held dispatch are the DDS runtime's, so :mod:`~cav_stack.runtime.dds_lockstep` drives a run of
rclpy processes exactly as it drives DDS processes. Each process is one rclpy node named after
the cav_stack node it runs, in the vehicle's namespace, with ``use_sim_time`` set when it
follows ``/clock``; its topics are ordinary ROS 2 topics of the standard types chosen in
:mod:`~cav_stack.runtime.ros_conversions` (:func:`installed_conversion`).

What differs from DDS: rclpy cannot set a sample's source timestamp, so samples carry the
wall-clock source timestamp the rmw sets, and the step a sample was written in is the last
``/clock`` published at or before it (the clock master publishes ``/clock`` before its timers
fire, and no member writes a step's samples before it has seen that step's ``/clock``; a
``sim`` runtime therefore waits for ``/clock`` = T before running step T, and takes ``/clock``
reliably). The split between samples written at the start (latched) and in steps is the first
``/clock`` after the start. All processes of a run are on one machine, so their wall clocks
agree. Topic health events (deadline, liveliness) are not available on this runtime.
"""
from __future__ import annotations

import bisect
import time
from collections import defaultdict
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from cav_stack.runtime.dds_backend import (
    CLOCK_TOPIC, MAX_WAIT_S, DdsRuntime, DdsRuntimeError, HealthCallback, _NS_PER_TICK, _Reader, _Writer,
)
from cav_stack.runtime.dds_qos import dds_topic_name
from cav_stack.runtime.executor import TIME_RESOLUTION, TopicTypeError
from cav_stack.runtime.node import QoS
from cav_stack.runtime.rclpy_backend import import_rclpy, ros_qos
from cav_stack.runtime.ros_conversions import installed_conversion
from cav_stack.runtime.ros_messages import fill_message, message_fields, ros_message_class

if TYPE_CHECKING:   # rclpy is imported at run time only (the ros extra), through import_rclpy
    from rclpy.publisher import Publisher

CLOCK_WAIT_S = 5.0
"""Longest a ``sim`` runtime waits for the ``/clock`` of a step it is told to run [s]."""


class RclpyRuntime(DdsRuntime):
    """Runs the nodes of one process as the rclpy node ``namespace/node_name``.

    domain_id: ROS_DOMAIN_ID; clock, seed, deliver_all: as for :class:`DdsRuntime`.
    """

    clock_reader_qos = QoS(depth=1000, reliable=True)
    conversion_of = staticmethod(installed_conversion)

    def __init__(self, domain_id: int, *, node_name: str, namespace: str = "", clock: str = "wall", seed: int = 0,
                 deliver_all: bool = False):
        self._ros_name = (node_name, namespace)
        self._clock_walls: list[int] = []
        self._clock_ticks: list[int] = []
        self._stamps: dict[int, list[int]] = defaultdict(list)
        super().__init__(domain_id, clock=clock, seed=seed, deliver_all=deliver_all)

    def _open_participant(self) -> None:
        rclpy = import_rclpy()
        from rclpy.node import Node as RosNode
        from rclpy.parameter import Parameter
        from rclpy.signals import SignalHandlerOptions

        self._types = SimpleNamespace(from_idl=message_fields)
        self._context = rclpy.Context()
        rclpy.init(args=[], context=self._context, domain_id=self.domain_id,
                   signal_handler_options=SignalHandlerOptions.NO)
        node_name, namespace = self._ros_name
        self.ros_node = RosNode(node_name, namespace="/" + namespace.strip("/"), context=self._context,
                                start_parameter_services=False,
                                parameter_overrides=[Parameter("use_sim_time", value=self.clock == "sim")])
        self._wait_set: Any = None

    # -- time ---------------------------------------------------------------------------
    def set_time(self, seconds: float) -> None:
        """Move the clock to ``seconds``; a counting ``sim`` runtime first waits for that ``/clock``."""
        ticks = round(seconds / TIME_RESOLUTION)
        if self.clock == "sim" and self._count_after_ns is not None:
            give_up = time.monotonic() + CLOCK_WAIT_S
            while not self._clock_ticks or self._clock_ticks[-1] < ticks:
                if time.monotonic() > give_up:
                    raise DdsRuntimeError(f"no /clock of {seconds:.3f} s within {CLOCK_WAIT_S:g} s")
                self.wait(give_up - time.monotonic())
        super().set_time(seconds)

    def publish_clock(self) -> None:
        self._note_clock(time.time_ns(), self._time_ticks)
        super().publish_clock()

    def _note_clock(self, wall_ns: int, ticks: int) -> None:
        if not self._clock_ticks or ticks > self._clock_ticks[-1]:
            self._clock_walls.append(wall_ns)
            self._clock_ticks.append(ticks)

    def _step_ns(self, wall_ns: int) -> int:
        """Process-clock time [ns] of the step a sample with source timestamp ``wall_ns`` was written in."""
        index = bisect.bisect_right(self._clock_walls, wall_ns) - 1
        ticks = self._clock_ticks[index] if index >= 0 else 0
        return max(ticks * _NS_PER_TICK, self._count_after_ns or 0)

    # -- endpoints -----------------------------------------------------------------------
    def _check_type(self, ros_type_name: str, ros_topic: str) -> type:
        name = dds_topic_name(ros_topic)
        known = self._topics.setdefault(name, (ros_type_name, None))
        if known[0] != ros_type_name:
            raise TopicTypeError(f"{ros_topic} carries {known[0]}, not {ros_type_name}")
        return ros_message_class(ros_type_name)

    def advertise(self, ros_type_name: str, ros_topic: str, qos: QoS, *,
                  internal: bool = False) -> Callable[[dict[str, Any]], None]:
        cls = self._check_type(ros_type_name, ros_topic)
        qos = self._wire_qos(qos, internal)
        # the message class is looked up by name at run time, so its type is unknown here
        publisher: Publisher[Any] = self.ros_node.create_publisher(cls, ros_topic, ros_qos(qos))
        entry = _Writer(ros_topic, publisher, qos, internal)
        self._writers.append(entry)
        counted = qos.reliable and not internal
        dds_name = dds_topic_name(ros_topic)

        def send(fields: dict[str, Any]) -> None:
            publisher.publish(fill_message(cls(), fields))
            if counted and self._count_after_ns is not None:
                self._count_sent(entry, dds_name, self._time_ticks * _NS_PER_TICK)
        return send

    def subscribe(self, ros_type_name: str, ros_topic: str, on_fields: Callable[[dict[str, Any]], None], qos: QoS, *,
                  on_health: HealthCallback | None = None, internal: bool = False) -> None:
        if on_health is not None:
            raise DdsRuntimeError("topic health events need the Cyclone DDS backend")
        cls = self._check_type(ros_type_name, ros_topic)
        qos = self._wire_qos(qos, internal)
        subscription = self.ros_node.create_subscription(cls, ros_topic, lambda msg: None,
                                                         ros_qos(qos, keep_all=self._deliver_all))
        self._readers.append(_Reader(ros_topic, subscription, on_fields, qos, internal, None, ros_topic,
                                     held=self._count_after_ns is not None and not internal))
        self._wait_set = None

    def received_counts(self) -> list[tuple[str, int, int | None]]:
        """As :meth:`DdsRuntime.received_counts`, the samples split at the first ``/clock`` after the start."""
        first = bisect.bisect_right(self._clock_ticks, (self._count_after_ns or 0) // _NS_PER_TICK)
        split = self._clock_walls[first] if first < len(self._clock_walls) else None
        counts = []
        for index, r in enumerate(self._readers):
            if not r.qos.reliable or r.internal:
                continue
            stamps = self._stamps[index]
            steps = 0 if split is None else len(stamps) - bisect.bisect_left(stamps, split)
            counts.append((dds_topic_name(r.ros_topic), steps, len(stamps) - steps if r.qos.transient_local else None))
        return counts

    def matched_counts(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        return ([(dds_topic_name(w.ros_topic), w.writer.get_subscription_count()) for w in self._writers
                 if not w.internal],
                [(dds_topic_name(r.ros_topic), r.reader.get_publisher_count()) for r in self._readers
                 if not r.internal])

    # -- spinning ------------------------------------------------------------------------
    def poll(self) -> None:
        """Take every sample available now: hand it to its callback, or hold it (counting readers)."""
        for index, entry in enumerate(self._readers):
            subscription = entry.reader
            while (taken := subscription.handle.take_message(subscription.msg_type, False)) is not None:
                msg, info = taken
                stamp = info["source_timestamp"]
                if entry.ros_topic == CLOCK_TOPIC and not entry.internal:
                    self._note_clock(stamp, round((msg.clock.sec * 1_000_000_000 + msg.clock.nanosec) / _NS_PER_TICK))
                if self._count_after_ns is not None:
                    bisect.insort(self._stamps[index], stamp)
                if entry.held:
                    self._held.append((stamp, index, len(self._held), entry, msg))
                else:
                    entry.on_fields(message_fields(msg))

    def dispatch_held(self) -> None:
        """Hand the held samples over by the step they were written in, then as the DDS runtime does."""
        self._held = [(self._step_ns(stamp), index, n, entry, msg) for stamp, index, n, entry, msg in self._held]
        super().dispatch_held()

    def wait(self, timeout: float) -> None:
        """Block until a subscription has data or ``timeout`` [s] passes (at most MAX_WAIT_S), then poll."""
        from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy

        if self._readers:
            if self._wait_set is None:
                self._wait_set = _rclpy.WaitSet(len(self._readers), 0, 0, 0, 0, 0, self._context.handle)
            self._wait_set.clear_entities()
            for entry in self._readers:
                self._wait_set.add_subscription(entry.reader.handle)
            self._wait_set.wait(round(min(max(timeout, 0.0), MAX_WAIT_S) * 1e9))
        else:
            time.sleep(min(max(timeout, 0.0), MAX_WAIT_S))
        self.poll()

    def close(self) -> None:
        """Destroy the node and shut this process's rclpy context down (peers see the node leave)."""
        if self._context is None:
            return
        context, self._context = self._context, None
        self._readers.clear()
        self._writers.clear()
        self._wait_set = None
        self.ros_node.destroy_node()
        context.try_shutdown()
