"""The resources a node process hands its node: what the in-process runner shares between nodes.

A node lists what it accepts in ``resource_names``: ``vehicle`` (controllers/vehicle.yaml),
``road_map`` (the run's SUMO network, which also gives the signal IDs SPaT refers to) and
``station`` (the vehicle's station index: its V2X credentials). A process builds them from its
parameters or command line (:func:`build_resources`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from cav_stack.control.vehicle_models import load_vehicle_params
from cav_stack.core.identity import station_from_namespace
from cav_stack.core.share import share_path
from cav_stack.world.road_map import RoadMap


def build_resources(node_type: type, net_file: Path | None, station: int | None, namespace: str) -> dict[str, Any]:
    """The resources ``node_type`` accepts, built in this process.

    net_file: SUMO network of the road map (None: the node goes without one); station: the
    vehicle's station index (None: from ``namespace``, ``/cav_<K>`` -> K).
    """
    accepted = set(getattr(node_type, "resource_names", ()))
    resources: dict[str, Any] = {}
    if "vehicle" in accepted:
        resources["vehicle"] = load_vehicle_params(share_path("controllers", "vehicle.yaml"))
    if "road_map" in accepted and net_file is not None:
        resources["road_map"] = RoadMap.from_net_file(net_file)
    if "station" in accepted:
        resources["station"] = station_from_namespace(namespace) if station is None else station
    return resources
