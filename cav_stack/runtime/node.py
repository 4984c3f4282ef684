"""The Node API every cav_stack node is written against.

A node never talks to a middleware directly: it is handed a :class:`NodeContext` by a
backend (the in-process executor, rclpy, DDS) and uses the rclpy-like methods below.
Topic names are relative (``input/ego_state``) and resolve under the node's namespace and
name (``/cav_0/<node>/input/ego_state``) unless remapped at launch.
Time comes from ``self.now()`` (simulation or ROS time in seconds), never the wall clock.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from collections.abc import Callable

import numpy as np


@dataclass(frozen=True)
class QoS:
    """Quality of service of a topic, ROS 2 style.

    depth: history depth; reliable: reliable (True) or best effort; transient_local: late
    subscribers receive the last message; deadline: expected max period between messages [s]
    (0 disables).
    """

    depth: int = 10
    reliable: bool = True
    transient_local: bool = False
    deadline: float = 0.0


SENSOR_QOS = QoS(depth=5, reliable=False)
LATCHED_QOS = QoS(depth=1, reliable=True, transient_local=True)


class Publisher(Protocol):
    """Publishes messages of one type on one topic."""

    topic: str

    def publish(self, msg: Any) -> None: ...


class NodeContext(Protocol):
    """What a backend provides to a node."""

    namespace: str
    node_name: str
    params: Any
    rng: np.random.Generator
    logger: logging.Logger

    def now(self) -> float: ...

    def create_publisher(self, msg_type: type, topic: str, qos: QoS) -> Publisher: ...

    def create_subscription(self, msg_type: type, topic: str, callback: Callable[[Any], None],
                            qos: QoS) -> None: ...

    def create_timer(self, period: float, callback: Callable[[], None]) -> None: ...


class Node:
    """Base class of every node.

    Subclasses set ``node_name`` (the ROS node name and the params-file section) and
    ``params_type`` (a frozen dataclass loaded from the params files), then create their
    publishers, subscriptions and timers in ``__init__``.
    """

    node_name: ClassVar[str]
    params_type: ClassVar[type[Any] | None] = None

    def __init__(self, context: NodeContext):
        self._context = context

    @property
    def params(self) -> Any:
        """The node's validated parameters (an instance of ``params_type``)."""
        return self._context.params

    @property
    def rng(self) -> np.random.Generator:
        """The node's own seeded random generator."""
        return self._context.rng

    @property
    def logger(self) -> logging.Logger:
        return self._context.logger

    @property
    def namespace(self) -> str:
        return self._context.namespace

    def now(self) -> float:
        """Current time on the node's clock [s]."""
        return self._context.now()

    def create_publisher(self, msg_type: type, topic: str, qos: QoS = QoS()) -> Publisher:
        return self._context.create_publisher(msg_type, topic, qos)

    def create_subscription(self, msg_type: type, topic: str, callback: Callable[[Any], None],
                            qos: QoS = QoS()) -> None:
        self._context.create_subscription(msg_type, topic, callback, qos)

    def create_timer(self, period: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` every ``period`` seconds of node time, first after one period."""
        self._context.create_timer(period, callback)

    def keep_latest(self, attribute: str) -> Callable[[Any], None]:
        """A subscription callback that stores each message in ``self.<attribute>``."""
        def store(msg: Any) -> None:
            setattr(self, attribute, msg)
        return store


def resolve_topic(topic: str, namespace: str, node_name: str, remappings: dict[str, str]) -> str:
    """Resolve a topic name the way ROS 2 does for private (``~/``-like) relative names.

    ``remappings`` maps the node's own name for a topic to the name to use instead; a remapped
    name without a leading ``/`` is relative to the namespace. Unmapped relative names resolve
    to ``/<namespace>/<node_name>/<topic>``; absolute names are kept.
    """
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    if topic in remappings:
        target = remappings[topic]
        return target if target.startswith("/") else f"{ns}/{target}"
    if topic.startswith("/"):
        return topic
    return f"{ns}/{node_name}/{topic.lstrip('~/')}"


class NamedContext:
    """The naming part every backend's NodeContext shares: namespace, node name, validated params,
    the node's generator, its logger (``cav_stack.<ns>.<node>``) and topic resolution."""

    def __init__(self, namespace: str, node_name: str, params: Any, remappings: dict[str, str],
                 rng: np.random.Generator):
        self.namespace = namespace
        self.node_name = node_name
        self.params = params
        self.rng = rng
        self._remappings = remappings
        self.label = ".".join(p for p in (namespace.strip("/"), node_name) if p)
        self.logger = logging.getLogger(f"cav_stack.{self.label}")

    def resolve(self, topic: str) -> str:
        """The fully resolved name of one of this node's topics (remappings applied)."""
        return resolve_topic(topic, self.namespace, self.node_name, self._remappings)
