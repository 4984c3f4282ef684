"""The node graph of one CAV: the single source of truth for every backend.

``launch/drive.launch.py`` (ROS 2), the DDS launcher and the in-process runner all build the
graph from :data:`CONTROLLERS`. Each entry lists the nodes of a controller configuration with
their executable, parameter files (relative to the share folder) and topic remappings
(node-relative name -> namespace-relative name).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from typing import Any

from cav_stack.core.params import load_node_params
from cav_stack.runtime.executor import InProcessExecutor
from cav_stack.runtime.node import Node
from cav_stack.core.share import share_path


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph.

    node_class: ``module:Class`` of the node; executable: its console entry point;
    params_files: parameter files relative to the share folder; remappings: node topic name ->
    namespace-relative topic name.
    """

    node_class: str
    executable: str
    params_files: tuple[str, ...]
    remappings: tuple[tuple[str, str], ...]

    def load_class(self) -> type[Node]:
        module_name, class_name = self.node_class.split(":")
        node_type: type[Node] = getattr(importlib.import_module(module_name), class_name)
        return node_type


SIM_BRIDGE = NodeSpec("cav_stack.nodes.sim_bridge_node:SimBridgeNode", "sim_bridge_node",
                      ("controllers/sim_bridge.yaml",), ())

def decision_and_control(ego_state: str, objects: str, sensor_objects: str) -> tuple[NodeSpec, ...]:
    """The V2X, route-planning, mode-selection and MPC nodes, reading the ego state, the object list
    and the onboard evidence for V2X plausibility checks from the given namespace-relative topics.
    The route planner turns the mission (``mission/route``) into ``planning/route``, which the
    mode selector and the MPC follow."""
    return (
        NodeSpec("cav_stack.nodes.v2x_node:V2xNode", "v2x_node", ("v2x/v2x_node.yaml",),
                 (("input/ego_state", ego_state), ("input/trajectory", "planning/trajectory"),
                  ("input/mode", "planning/mode"), ("input/frames", "v2x/rx"), ("output/frames", "v2x/tx"),
                  ("output/reports", "v2x/reports"), ("output/plans", "v2x/plans"), ("output/own_plan", "v2x/own_plan"),
                  ("output/link_quality", "v2x/link_quality"), ("output/signal_timing", "v2x/signal_timing"),
                  ("output/road_events", "v2x/road_events"), ("output/gap_requests", "v2x/gap_requests"),
                  ("output/gap_answers", "v2x/gap_answers"),
                  ("output/health", "diagnostics/v2x"), ("input/sensor_objects", sensor_objects))),
        NodeSpec("cav_stack.nodes.route_planner_node:RoutePlannerNode", "route_planner_node",
                 ("controllers/route_planner.yaml",),
                 (("input/mission", "mission/route"), ("input/ego_state", ego_state),
                  ("input/road_events", "v2x/road_events"), ("output/route", "planning/route"))),
        NodeSpec("cav_stack.nodes.mode_selector_node:ModeSelectorNode", "mode_selector_node",
                 ("controllers/mode_selector.yaml",),
                 (("input/ego_state", ego_state), ("input/objects", objects),
                  ("input/route", "planning/route"), ("input/link_quality", "v2x/link_quality"),
                  ("input/signal_timing", "v2x/signal_timing"), ("input/sensor_health", "diagnostics/perception"),
                  ("input/driver", "driver/state"), ("input/v2x_reports", "v2x/reports"),
                  ("input/stop_request", "control/stop_request"), ("input/gap_requests", "v2x/gap_requests"),
                  ("input/gap_answers", "v2x/gap_answers"), ("input/plans", "v2x/plans"),
                  ("input/own_plan", "v2x/own_plan"), ("output/mode", "planning/mode"))),
        NodeSpec("cav_stack.nodes.mpc_controller_node:MpcControllerNode", "mpc_controller_node",
                 ("controllers/mpc.yaml",),
                 (("input/ego_state", ego_state), ("input/objects", objects),
                  ("input/route", "planning/route"), ("input/mode", "planning/mode"),
                  ("input/v2x_reports", "v2x/reports"), ("input/plans", "v2x/plans"),
                  ("input/vehicle_status", "vehicle/status"),
                  ("output/command", "control/command"), ("output/trajectory", "planning/trajectory"))),
    )


#: Sensing and localisation from the onboard sensor models (sim) or the vehicle's sensors.
PERCEPTION = (
    NodeSpec("cav_stack.nodes.localization_node:LocalizationNode", "localization_node", ("sensors/perception.yaml",),
             (("input/gnss", "sensors/gnss"), ("input/imu", "sensors/imu"), ("input/odometry", "sensors/odometry"),
              ("input/vehicle_status", "vehicle/status"), ("output/ego_state", "localization/ego_state"))),
    NodeSpec("cav_stack.nodes.perception_node:PerceptionNode", "perception_node", ("sensors/perception.yaml",),
             (("input/lidar", "sensors/lidar"), ("input/radar", "sensors/radar"), ("input/camera", "sensors/camera"),
              ("input/ego_state", "localization/ego_state"), ("input/v2x_reports", "v2x/reports"),
              ("output/objects", "perception/objects"), ("output/sensor_objects", "perception/sensor_objects"),
              ("output/health", "diagnostics/perception"))),
)

#: ``stack``: decisions and control on the bridge's ground-truth ego state and objects (named so);
#: ``stack_sensors``: the full stack, on sensor models, fusion and localisation.
STACK = decision_and_control("truth/ego_state", "truth/objects", "truth/objects")
STACK_SENSORS = PERCEPTION + decision_and_control("localization/ego_state", "perception/objects",
                                                  "perception/sensor_objects")

CONTROLLERS: dict[str, tuple[NodeSpec, ...]] = {
    "stack": STACK,
    "stack_sensors": STACK_SENSORS,
    "idm_baseline": (
        NodeSpec("cav_stack.nodes.idm_baseline_node:IdmBaselineNode", "idm_baseline_node",
                 ("controllers/idm_baseline.yaml",),
                 (("input/ego_state", "truth/ego_state"), ("input/objects", "truth/objects"),
                  ("input/route", "mission/route"), ("input/signal_timing", "truth/signal_timing"),
                  ("input/stop_request", "control/stop_request"), ("output/command", "control/command"))),
    ),
}


def launch_node_arguments(controller: str, *, namespace: str, share: str, use_sim_time: bool, seed: int,
                          net_file: str = "") -> list[dict[str, Any]]:
    """The keyword arguments of each ``launch_ros.actions.Node`` of ``controller``'s graph for one
    vehicle (what ``launch/drive.launch.py`` starts): package, executable, namespace, parameters
    and remappings of the node's private topics.

    Parameters: the node's section (``<node_name>: ros__parameters``) of each of its parameter
    files under ``share``, passed as a mapping (a file whose section is keyed by the bare node
    name would not reach a node in a namespace), then the run parameters: ``use_sim_time``,
    ``seed`` (the run's seed: each node's generator is derived from it and the node's fully
    qualified name), ``net_file`` (road map and signal IDs; omitted when empty). The vehicle's
    station index comes from its namespace (``cav_<K>``)."""
    from cav_stack.core.params import read_yaml

    run_params: dict[str, Any] = {"use_sim_time": use_sim_time, "seed": seed}
    if net_file:
        run_params["net_file"] = net_file
    arguments = []
    for spec in CONTROLLERS[controller]:
        node_name = spec.load_class().node_name
        sections = [read_yaml(f"{share}/{relative}")[0][node_name]["ros__parameters"]
                    for relative in spec.params_files]
        arguments.append({"package": "cav_stack", "executable": spec.executable, "namespace": namespace,
                          "output": "screen", "parameters": [*sections, run_params],
                          "remappings": [(f"~/{node_topic}", topic) for node_topic, topic in spec.remappings]})
    return arguments


def load_params(spec: NodeSpec, overrides: dict[str, Any]) -> Any:
    """The validated params of ``spec``'s node, with ``overrides`` for the fields it has."""
    node_type = spec.load_class()
    params: Any = None
    for relative in spec.params_files:
        assert node_type.params_type is not None, f"{spec.node_class} has params files but no params_type"
        params = load_node_params(share_path(relative), node_type.node_name, node_type.params_type)
    field_names = set(getattr(params, "__dataclass_fields__", {}))
    applicable = {k: v for k, v in overrides.items() if k in field_names}
    return replace(params, **applicable) if applicable else params


def controller_params(controller: str, param_overrides: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """The validated params of each node of ``controller`` (graph order), with ``param_overrides``."""
    return tuple(load_params(spec, param_overrides or {}) for spec in CONTROLLERS[controller])


def add_controller(executor: InProcessExecutor, controller: str, cav_id: str,
                   param_overrides: dict[str, Any] | None = None, *, params: tuple[Any, ...] | None = None,
                   **resources: Any) -> list:
    """Add the nodes of ``controller`` for CAV ``cav_id`` (its namespace) to ``executor``.

    params: the nodes' params from :func:`controller_params` (loaded here, with
    ``param_overrides``, when None: a run that adds many CAVs loads them once); resources:
    in-process objects handed to node constructors that accept them (e.g. the vehicle params
    and the road map), so nodes do not load them again.
    """
    nodes = []
    loaded = params if params is not None else controller_params(controller, param_overrides)
    for spec, node_params in zip(CONTROLLERS[controller], loaded, strict=True):
        node_type = spec.load_class()
        accepted = set(getattr(node_type, "resource_names", ()))
        kwargs = {k: v for k, v in resources.items() if k in accepted}
        nodes.append(executor.add_node(node_type, namespace=cav_id, params=node_params,
                                       remappings=dict(spec.remappings), **kwargs))
    return nodes
