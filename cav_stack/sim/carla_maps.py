"""Road networks shared by CARLA and SUMO, and traffic-light states between them.

* Scenario networks are SUMO networks; CARLA gets the same roads as OpenDRIVE written by
  ``netconvert --opendrive-output`` (coordinates kept: the OpenDRIVE x/y are the SUMO ``map``
  x/y, so the :class:`~cav_stack.sim.carla_frames.CarlaFrame` offset is zero). netconvert names
  each signal ``<tls id>_<link index>``, which CARLA reports as the traffic light's OpenDRIVE id.
  CARLA spawns a traffic light for each signal of a ``<controller>`` and groups it by the
  controller's junction; netconvert writes the controllers but does not list them in their
  ``<junction>``, so :func:`scenario_opendrive` adds ``<controller id=...>`` to the junction named
  like the controller (netconvert's default: the traffic-light id is the junction's node id).
* A CARLA town's OpenDRIVE (``carla.Map.to_opendrive()``) becomes a SUMO network for the route
  planner with ``netconvert --opendrive-files`` and the offset normalisation disabled.
* SUMO link states map to CARLA light states as in CARLA's own SUMO co-simulation:
  r/R/u (red, red-yellow) -> Red, y/Y -> Yellow, g/G -> Green, O -> Off, others -> Unknown.
"""
from __future__ import annotations

import hashlib
import math
import re
import subprocess
from pathlib import Path
from xml.etree import ElementTree
from typing import Any, cast

import numpy as np

from cav_stack.world.road_map import RoadMap
from cav_stack.sim.carla_client import require_carla
from cav_stack.sim.network_build import NetworkBuildError, sumo_binary, sumo_environment

_NETCONVERT_TIMEOUT_S = 120.0
_SIGNAL_ID = re.compile(r"^(?P<tls>.+)_(?P<link>\d+)$")


def _netconvert(arguments: list[str], output: Path) -> Path:
    if output.is_file():
        return output
    netconvert = sumo_binary("netconvert")
    partial = output.with_name(output.name + ".partial")
    result = subprocess.run([str(netconvert), *arguments, "--no-warnings", "true"] + _output_option(output, partial),
                            capture_output=True, text=True, timeout=_NETCONVERT_TIMEOUT_S,
                            env=sumo_environment(netconvert), check=False)
    if result.returncode != 0 or not partial.is_file():
        raise NetworkBuildError(f"netconvert failed writing {output.name}: {result.stderr.strip()}")
    partial.replace(output)
    return output


def _output_option(output: Path, partial: Path) -> list[str]:
    option = "--opendrive-output" if output.suffix == ".xodr" else "--output-file"
    return [option, str(partial)]


def export_opendrive(net_file: Path, cache_dir: Path) -> Path:
    """OpenDRIVE (``.xodr``) of a SUMO network, cached beside the other builds in ``cache_dir``."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    return _netconvert(["--sumo-net-file", str(net_file)], cache_dir / f"{Path(net_file).name[:-len('.net.xml')]}.xodr")


def link_controllers_to_junctions(xodr_text: str) -> str:
    """OpenDRIVE with each ``<controller>`` referenced from the ``<junction>`` of the same name."""
    root = ElementTree.fromstring(xodr_text)
    junctions = {j.get("name"): j for j in root.iter("junction")}
    for controller in root.findall("controller"):
        junction = junctions.get(controller.get("id"))
        if junction is not None and not any(c.get("id") == controller.get("id")
                                            for c in junction.findall("controller")):
            # an OpenDRIVE controller has an id (schema-required)
            ElementTree.SubElement(junction, "controller", {"id": cast(str, controller.get("id")), "type": "0"})
    return ElementTree.tostring(root, encoding="unicode")


def scenario_opendrive(net_file: Path, cache_dir: Path) -> str:
    """The OpenDRIVE document CARLA builds a scenario's world from (see the module docstring)."""
    return link_controllers_to_junctions(export_opendrive(net_file, cache_dir).read_text(encoding="utf-8"))


def opendrive_network(xodr_text: str, name: str, cache_dir: Path) -> Path:
    """SUMO network of an OpenDRIVE document (coordinates kept), cached by content in ``cache_dir``."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(xodr_text.encode()).hexdigest()[:16]
    source = cache_dir / f"{name}-{key}.xodr"
    if not source.is_file():
        source.write_text(xodr_text, encoding="utf-8")
    return _netconvert(["--opendrive-files", str(source), "--offset.disable-normalization", "true",
                        "--no-turnarounds", "true"], cache_dir / f"{name}-{key}.net.xml")


def town_road_map(carla_map: Any, cache_dir: Path) -> RoadMap:
    """The :class:`RoadMap` of a CARLA map (through its OpenDRIVE)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(carla_map.name).rsplit("/", 1)[-1]) or "carla_map"
    return RoadMap.from_net_file(opendrive_network(carla_map.to_opendrive(), name, cache_dir))


def lane_pose(road_map: RoadMap, edge_id: str, lane_index: int, front_position: float,
              length: float) -> tuple[float, float, float]:
    """Box centre (x, y) [m, map] and yaw [rad] of a vehicle of ``length`` [m] whose front bumper is
    ``front_position`` [m] along lane ``lane_index`` of ``edge_id`` (SUMO depart convention)."""
    shape = road_map.lane_centerline(road_map.lane_id(edge_id, lane_index))
    steps = np.hypot(*np.diff(shape, axis=0).T)
    s = np.r_[0.0, np.cumsum(steps)]
    centre_s = min(max(front_position - 0.5 * length, 0.0), float(s[-1]))
    x = float(np.interp(centre_s, s, shape[:, 0]))
    y = float(np.interp(centre_s, s, shape[:, 1]))
    k = min(int(np.searchsorted(s, centre_s, side="right")) - 1, len(steps) - 1)
    return x, y, math.atan2(shape[k + 1, 1] - shape[k, 1], shape[k + 1, 0] - shape[k, 0])


def signal_link(opendrive_id: str) -> tuple[str, int] | None:
    """(tls_id, link_index) of a netconvert-written OpenDRIVE signal id, None for other ids."""
    match = _SIGNAL_ID.match(opendrive_id)
    return (match.group("tls"), int(match.group("link"))) if match else None


def carla_light_state(sumo_state: str) -> Any:
    """``carla.TrafficLightState`` of one SUMO link-state character."""
    states = require_carla().TrafficLightState
    if sumo_state in "rRu":
        return states.Red
    if sumo_state in "yY":
        return states.Yellow
    if sumo_state in "gG":
        return states.Green
    if sumo_state == "O":
        return states.Off
    return states.Unknown


def sumo_state_char(carla_state: Any) -> str:
    """SUMO link-state character of a ``carla.TrafficLightState`` (for truth of CARLA's own lights)."""
    return {"Red": "r", "Yellow": "y", "Green": "G", "Off": "O"}.get(str(carla_state), "o")
