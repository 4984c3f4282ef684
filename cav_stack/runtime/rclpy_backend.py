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
from typing import Any, Callable

import numpy as np

from cav_stack.core.params import ParamsError, bind_params
from cav_stack.runtime.callback_guard import EXIT_CALLBACK_ERRORS, CallbackErrors
from cav_stack.runtime.node import Node, QoS
from cav_stack.runtime.ros_conversions import conversion_for

RCLPY_MISSING = ("rclpy is not importable: source a ROS 2 installation (e.g. `source /opt/ros/jazzy/setup.bash`) "
                 "to run cav_stack nodes on ROS 2; without ROS use `cav-stack drive` (in-process runtime)")


def _import_rclpy():
    try:
        return importlib.import_module("rclpy")
    except ImportError as exc:
        raise RuntimeError(RCLPY_MISSING) from exc


def _ros_qos(qos: QoS):
    from rclpy.duration import Duration
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    profile = QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=qos.depth,
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
        self._conversion = conversion_for(msg_type)
        self._publisher = ros_node.create_publisher(self._conversion.ros_type(), _private(topic), _ros_qos(qos))
        self.topic = self._publisher.topic_name

    def publish(self, msg: Any) -> None:
        self._publisher.publish(self._conversion.to_ros(msg))


class RclpyContext:
    """NodeContext backed by an rclpy node."""

    def __init__(self, ros_node, params: Any, seed: int):
        self._ros_node = ros_node
        self.namespace = ros_node.get_namespace()
        self.node_name = ros_node.get_name()
        self.params = params
        self.rng = np.random.default_rng(seed)
        self.logger = logging.getLogger(f"cav_stack.{self.namespace.strip('/')}.{self.node_name}")
        self.callback_errors = CallbackErrors()

    def now(self) -> float:
        return self._ros_node.get_clock().now().nanoseconds * 1e-9

    def create_publisher(self, msg_type: type, topic: str, qos: QoS) -> _RclpyPublisher:
        return _RclpyPublisher(self._ros_node, msg_type, topic, qos)

    def create_subscription(self, msg_type: type, topic: str, callback: Callable[[Any], None],
                            qos: QoS) -> None:
        conversion = conversion_for(msg_type)
        guarded = self.callback_errors.guard(self.node_name, callback)
        self._ros_node.create_subscription(conversion.ros_type(), _private(topic),
                                           lambda ros_msg: guarded(conversion.from_ros(ros_msg)),
                                           _ros_qos(qos))

    def create_timer(self, period: float, callback: Callable[[], None]) -> None:
        self._ros_node.create_timer(period, self.callback_errors.guard(self.node_name, callback))


def spin(node_type: type[Node], argv: list[str] | None = None) -> int:
    """Create ``node_type`` as a ROS 2 node (parameters from the ROS command line) and spin it."""
    rclpy = _import_rclpy()
    from rclpy.node import Node as RosNode

    rclpy.init(args=argv if argv is not None else sys.argv)
    ros_node = RosNode(node_type.node_name, automatically_declare_parameters_from_overrides=True)
    context = None
    try:
        values = {name: p.value for name, p in ros_node.get_parameters_by_prefix("").items()
                  if name not in ("use_sim_time", "seed")}
        seed = ros_node.get_parameter("seed").value if ros_node.has_parameter("seed") else 0
        params = bind_params(node_type.params_type, _unflatten(values), f"<ros parameters of {node_type.node_name}>") \
            if node_type.params_type is not None else None
        context = RclpyContext(ros_node, params, seed)
        node_type(context)
        rclpy.spin(ros_node)
    except ParamsError as exc:
        ros_node.get_logger().fatal(str(exc))
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        ros_node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return EXIT_CALLBACK_ERRORS if context is not None and context.callback_errors.counts else 0
