"""Console entry points: each runs one node on ROS 2 through the rclpy backend, or with
``--backend dds`` in its own process over Cyclone DDS (no ROS installation needed)."""
from __future__ import annotations

import sys

from cav_stack.app.exit_codes import ExitCode, fail


def _spin(node_class_path: str) -> int:
    from cav_stack.app.graph import NodeSpec
    from cav_stack.core.params import ParamsError
    from cav_stack.runtime.rclpy_backend import spin

    if "--backend" in sys.argv:
        return _dds(node_class_path)
    node_type = NodeSpec(node_class_path, "", (), ()).load_class()
    try:
        callback_errors = spin(node_type)
    except (ParamsError, ValueError):
        return ExitCode.USAGE                  # logged by the node as fatal
    except RuntimeError as exc:
        return fail(node_type.node_name, exc, ExitCode.ENVIRONMENT)
    return ExitCode.CALLBACK_ERRORS if callback_errors else ExitCode.OK


def idm_baseline_node() -> int:
    return _spin("cav_stack.nodes.idm_baseline_node:IdmBaselineNode")


def v2x_node() -> int:
    return _spin("cav_stack.nodes.v2x_node:V2xNode")


def route_planner_node() -> int:
    return _spin("cav_stack.nodes.route_planner_node:RoutePlannerNode")


def mode_selector_node() -> int:
    return _spin("cav_stack.nodes.mode_selector_node:ModeSelectorNode")


def mpc_controller_node() -> int:
    return _spin("cav_stack.nodes.mpc_controller_node:MpcControllerNode")


def localization_node() -> int:
    return _spin("cav_stack.nodes.localization_node:LocalizationNode")


def perception_node() -> int:
    return _spin("cav_stack.nodes.perception_node:PerceptionNode")


def _dds(node_class_path: str) -> int:
    """``<node> --backend dds [options of cav-stack node]``: the node over DDS."""
    from cav_stack.app import dds_node

    args = [a for a in sys.argv[1:]]
    index = args.index("--backend")
    if args[index + 1:index + 2] != ["dds"]:
        print("--backend: only 'dds' is available besides ROS 2 (rclpy)", file=sys.stderr)
        return 2
    del args[index:index + 2]
    return dds_node.main([node_class_path, *args])
