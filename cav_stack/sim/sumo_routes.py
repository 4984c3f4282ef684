"""Writing a scenario's demand (vehicle types, flows, pre-populated, named and CAV vehicles)
as a SUMO route file.

Pre-populated positions are drawn from the run's ``numpy.random.Generator``; everything else is
given by the scenario. Positions are SUMO lane positions [m] of the front bumper; speeds [m/s].
"""
from __future__ import annotations

from itertools import pairwise
from collections.abc import Sequence
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cav_stack.core.params import ParamsError
from cav_stack.world.scenario import (CavSpec, FlowSpec, FlowVehicle, IncidentEvent, PrefillSpec, Scenario,
                                     VehicleSpec, carries_cavs)
from cav_stack.world.road_map import RoadMap


@dataclass(frozen=True)
class PlacedVehicle:
    """A vehicle departing at ``depart`` [s] from ``route[0]`` lane ``lane`` at ``pos`` [m]
    with ``speed`` [m/s]."""

    id: str
    type: str
    route: tuple[str, ...]
    depart: float
    lane: int
    pos: float
    speed: float


def check_routes(scenario: Scenario, road_map: RoadMap) -> None:
    """Raise ParamsError (naming the scenario file and key) for a route, lane, detector or incident
    place the map lacks."""
    groups: list[tuple[str, Sequence[FlowSpec | PrefillSpec | VehicleSpec | CavSpec]]] = [
        ("demand.flows", scenario.demand.flows), ("demand.prefill", scenario.demand.prefill),
        ("demand.vehicles", scenario.demand.vehicles), ("cavs", scenario.cavs)]
    known = set(road_map.edges())
    for group, specs in groups:
        for index, spec in enumerate(specs):
            key = f"{group}[{index}].route"
            for edge_id in spec.route:
                if edge_id not in known:
                    raise ParamsError(scenario.source, key, f"unknown edge '{edge_id}' in network {scenario.network}")
            for a, b in pairwise(spec.route):
                if b not in road_map.successors(a):
                    raise ParamsError(scenario.source, key, f"edge '{b}' does not follow edge '{a}'")
            lane = getattr(spec, "depart_lane", 0)
            if isinstance(lane, int) and lane >= road_map.lane_count(spec.route[0]):
                raise ParamsError(scenario.source, f"{group}[{index}].depart_lane",
                                  f"edge '{spec.route[0]}' has {road_map.lane_count(spec.route[0])} lane(s)")
            depart_pos = getattr(spec, "depart_pos", 0.0)
            if depart_pos > road_map.edge_length(spec.route[0]):
                raise ParamsError(scenario.source, f"{group}[{index}].depart_pos",
                                  f"beyond the end of edge '{spec.route[0]}' "
                                  f"({road_map.edge_length(spec.route[0]):.1f} m)")
    detector = scenario.detector
    if detector is not None:
        if detector.edge not in known:
            raise ParamsError(scenario.source, "detector.edge",
                              f"unknown edge '{detector.edge}' in network {scenario.network}")
        if detector.position > road_map.edge_length(detector.edge):
            raise ParamsError(scenario.source, "detector.position", f"beyond the end of edge '{detector.edge}' "
                              f"({road_map.edge_length(detector.edge):.1f} m)")
    for index, event in enumerate(scenario.events):
        if isinstance(event, IncidentEvent):
            _check_incident(scenario, road_map, event, f"events[{index}]", known)


def _check_incident(scenario: Scenario, road_map: RoadMap, event: IncidentEvent, key: str, known: set[str]) -> None:
    if event.edge not in known:
        raise ParamsError(scenario.source, f"{key}.edge", f"unknown edge '{event.edge}' in network {scenario.network}")
    if event.position > road_map.edge_length(event.edge):
        raise ParamsError(scenario.source, f"{key}.position", f"beyond the end of edge '{event.edge}' "
                          f"({road_map.edge_length(event.edge):.1f} m)")
    lanes = road_map.lane_count(event.edge)
    if event.lanes is not None and max(event.lanes) >= lanes:
        raise ParamsError(scenario.source, f"{key}.lanes", f"edge '{event.edge}' has {lanes} lane(s)")


def prefill_vehicles(spec: PrefillSpec, index: int, scenario: Scenario, road_map: RoadMap,
                     rng: np.random.Generator) -> list[PlacedVehicle]:
    """Vehicles of one prefill block at t = 0, IDs ``<spec.id>.<n>``; lanes missing on an edge
    raise ParamsError."""
    starts = np.cumsum([0.0] + [road_map.edge_length(e) for e in spec.route])
    placed: list[PlacedVehicle] = []
    for lane in spec.lanes:
        distance = spec.start + rng.uniform(0.0, spec.spacing)
        while distance <= min(spec.end, starts[-1]):
            blocked = any(lo <= distance <= hi for lo, hi in spec.keep_clear)
            if not blocked:
                edge_pos = int(np.searchsorted(starts, distance, side="right") - 1)
                edge_pos = min(edge_pos, len(spec.route) - 1)
                edge_id = spec.route[edge_pos]
                if lane >= road_map.lane_count(edge_id):
                    raise ParamsError(scenario.source, f"demand.prefill[{index}].lanes",
                                      f"edge '{edge_id}' has no lane {lane}")
                placed.append(PlacedVehicle(f"{spec.id}.{len(placed)}", spec.type, spec.route[edge_pos:],
                                            0.0, lane, float(distance - starts[edge_pos]), spec.speed))
            distance += spec.spacing + rng.uniform(-spec.spacing_jitter, spec.spacing_jitter)
    return placed


@dataclass(frozen=True)
class SumoCavDriver:
    """SUMO's own model driving the CAVs (the SUMO baselines): ``car_follow_model`` is a SUMO
    carFollowModel name (``IDM``, ``ACC``, ``CACC``); ``time_gap`` [s] its desired gap (tau)."""

    car_follow_model: str
    time_gap: float


def write_route_file(scenario: Scenario, road_map: RoadMap, rng: np.random.Generator, path: Path,
                     cav_driver: SumoCavDriver | None = None, drawn: tuple[FlowVehicle, ...] = ()) -> None:
    """Write the scenario's demand to ``path`` (SUMO route file, departures sorted by time).

    drawn: the vehicles of the flows that carry CAVs (:func:`~cav_stack.world.scenario.drawn_vehicles`),
    written one by one in place of those flows. With ``cav_driver``, the CAVs' vehicle types
    use that SUMO car-following model and time gap.
    """
    check_routes(scenario, road_map)
    root = ET.Element("routes")
    cav_types = {cav.type for cav in scenario.cavs} | {f.cav_type for f in scenario.demand.flows if f.cav_type}
    for t in scenario.vehicle_types:
        model, tau = "Krauss", t.tau
        if cav_driver is not None and t.id in cav_types:
            model, tau = cav_driver.car_follow_model, cav_driver.time_gap
        ET.SubElement(root, "vType", {
            "id": t.id, "vClass": t.vclass, "length": _num(t.length), "width": _num(t.width),
            "height": _num(t.height), "maxSpeed": _num(t.max_speed), "accel": _num(t.accel),
            "decel": _num(t.decel), "emergencyDecel": _num(t.emergency_decel), "sigma": _num(t.sigma),
            "tau": _num(tau), "minGap": _num(t.min_gap), "speedFactor": _num(t.speed_factor),
            "speedDev": _num(t.speed_dev), "emissionClass": t.emission_class, "carFollowModel": model})
    placed: list[PlacedVehicle] = []
    for index, spec in enumerate(scenario.demand.prefill):
        placed += prefill_vehicles(spec, index, scenario, road_map, rng)
    scheduled: tuple[VehicleSpec | CavSpec, ...] = (*scenario.demand.vehicles, *scenario.cavs)
    for vehicle in scheduled:
        placed.append(PlacedVehicle(vehicle.id, vehicle.type, vehicle.route, vehicle.depart, vehicle.depart_lane,
                                    vehicle.depart_pos, vehicle.depart_speed))
    cav_ids = {cav.id for cav in scenario.cavs}
    entries: list[tuple[float, int, ET.Element]] = []
    for order, v in enumerate(placed):
        element = ET.Element("vehicle", {
            "id": v.id, "type": v.type, "depart": _num(v.depart), "departLane": str(v.lane),
            "departPos": _num(v.pos), "departSpeed": _num(v.speed)})
        if v.id in cav_ids:  # CAVs go exactly where the scenario puts them; the stack keeps them safe
            element.set("insertionChecks", "none")
        ET.SubElement(element, "route", {"edges": " ".join(v.route)})
        entries.append((v.depart, order, element))
    for order, d in enumerate(drawn, start=len(placed)):
        element = ET.Element("vehicle", {"id": d.id, "type": d.type, "depart": _num(d.depart),
                                         "departLane": d.depart_lane, "departSpeed": d.depart_speed})
        ET.SubElement(element, "route", {"edges": " ".join(d.route)})
        entries.append((d.depart, order, element))
    plain_flows = [f for f in scenario.demand.flows if not carries_cavs(f)]
    for order, f in enumerate(plain_flows, start=len(placed) + len(drawn)):
        element = ET.Element("flow", {
            "id": f.id, "type": f.type, "begin": _num(f.begin), "end": _num(f.end),
            "vehsPerHour": _num(f.vehs_per_hour), "departLane": f.depart_lane, "departSpeed": f.depart_speed})
        ET.SubElement(element, "route", {"edges": " ".join(f.route)})
        entries.append((f.begin, order, element))
    for _, _, element in sorted(entries, key=lambda item: item[:2]):
        root.append(element)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _num(value: float) -> str:
    return repr(float(value))
