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
from cav_stack.share import share_path


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

    def load_class(self) -> type:
        module_name, class_name = self.node_class.split(":")
        return getattr(importlib.import_module(module_name), class_name)


SIM_BRIDGE = NodeSpec("cav_stack.nodes.sim_bridge_node:SimBridgeNode", "sim_bridge_node",
                      ("controllers/sim_bridge.yaml",), ())

CONTROLLERS: dict[str, tuple[NodeSpec, ...]] = {
    "idm_baseline": (
        NodeSpec("cav_stack.nodes.idm_baseline_node:IdmBaselineNode", "idm_baseline_node",
                 ("controllers/idm_baseline.yaml",),
                 (("input/ego_state", "truth/ego_state"), ("input/objects", "truth/objects"),
                  ("input/route", "mission/route"), ("output/command", "control/command"))),
    ),
}


def load_params(spec: NodeSpec, overrides: dict[str, Any]) -> Any:
    """The validated params of ``spec``'s node, with ``overrides`` for the fields it has."""
    node_type = spec.load_class()
    params = None
    for relative in spec.params_files:
        params = load_node_params(share_path(relative), node_type.node_name, node_type.params_type)
    field_names = set(getattr(params, "__dataclass_fields__", {}))
    applicable = {k: v for k, v in overrides.items() if k in field_names}
    return replace(params, **applicable) if applicable else params


def add_controller(executor: InProcessExecutor, controller: str, cav_id: str,
                   param_overrides: dict[str, Any] | None = None, **resources: Any) -> list:
    """Add the nodes of ``controller`` for CAV ``cav_id`` (its namespace) to ``executor``.

    resources: in-process objects handed to node constructors that accept them (e.g. the
    vehicle params and the road map), so nodes do not load them again.
    """
    nodes = []
    for spec in CONTROLLERS[controller]:
        node_type = spec.load_class()
        params = load_params(spec, param_overrides or {})
        accepted = set(getattr(node_type, "resource_names", ()))
        kwargs = {k: v for k, v in resources.items() if k in accepted}
        nodes.append(executor.add_node(node_type, namespace=cav_id, params=params,
                                       remappings=dict(spec.remappings), **kwargs))
    return nodes
