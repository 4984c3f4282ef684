"""Console entry points: each runs one node on ROS 2 through the rclpy backend."""
from __future__ import annotations

import sys


def _spin(node_class_path: str) -> int:
    from cav_stack.nodes.graph import NodeSpec
    from cav_stack.runtime.rclpy_backend import spin

    node_type = NodeSpec(node_class_path, "", (), ()).load_class()
    try:
        return spin(node_type)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1


def idm_baseline_node() -> int:
    return _spin("cav_stack.nodes.idm_baseline_node:IdmBaselineNode")


def v2x_node() -> int:
    return _spin("cav_stack.nodes.v2x_node:V2xNode")


def mode_selector_node() -> int:
    return _spin("cav_stack.nodes.mode_selector_node:ModeSelectorNode")


def mpc_controller_node() -> int:
    return _spin("cav_stack.nodes.mpc_controller_node:MpcControllerNode")
