"""An OpenSCENARIO concrete scenario as a run of this stack in SUMO.

:func:`scenario_for` converts the OpenDRIVE road (netconvert, cached by content hash in
``cache_dir``), places every entity by the storyboard's Init actions, and returns a
:class:`~cav_stack.world.scenario.Scenario`: the ego is the CAV (driven by the stack), every other
entity a SUMO vehicle that the world moves along the storyboard
(:mod:`cav_stack.sim.storyboard_runner`). The road's speed limit is set to the ego's initial speed
(the ALKS set speed: R157 scenarios start the ego at the speed it keeps). Entity reference points
follow OpenSCENARIO (vehicles: rear axle); SUMO's depart position is the front bumper.
"""
from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from cav_stack.sim.network_build import build_network
from cav_stack.sim.openscenario_road import RoadFrame
from cav_stack.world.openscenario.catalogs import EntityKind
from cav_stack.world.openscenario.reader import OpenScenarioError
from cav_stack.world.openscenario.storyboard import (ActivateControllerAction, EntityPlacement, LanePosition,
                                                     LongitudinalDistanceAction, OpenScenario, RelativeLanePosition,
                                                     RoutingAction, SimulationTimeCondition, SpeedAction,
                                                     StoryboardBinding, TeleportAction, Trigger, WorldPosition)
from cav_stack.world.scenario import CavSpec, DemandSpec, Scenario, VehicleSpec, VehicleTypeSpec

#: Controller (catalog entry name) of the entity the stack drives when no ``--ego`` is given.
ALKS_CONTROLLER = "ALKSController"
#: Duration cap [s] of a run whose StopTrigger is not a simulation time.
MAX_DURATION_S = 600.0
#: Lowest road speed limit [m/s] written for a stationary ego (SUMO needs a positive one).
_MIN_SPEED_LIMIT = 1.0


def ego_of(scenario: OpenScenario, ego: str | None) -> str:
    """The entity the stack drives: ``ego`` if given, else the one with the ALKS controller."""
    names = [e.name for e in scenario.entities]
    if ego is not None:
        if ego not in names:
            raise OpenScenarioError(f"--ego {ego}: no such entity in {scenario.source} (entities: {', '.join(names)})")
        return ego
    controlled = [e.name for e in scenario.entities if e.controller == ALKS_CONTROLLER]
    if len(controlled) != 1:
        raise OpenScenarioError(f"{scenario.source}: {len(controlled)} entities have the {ALKS_CONTROLLER}; "
                                "name the one the stack drives with --ego")
    return controlled[0]


def derived_network(opendrive: Path, speed_limit: float, cache_dir: Path) -> Path:
    """A network source directory in ``cache_dir`` holding ``opendrive`` with the speed limit of
    every driving lane set to ``speed_limit`` [m/s] (an OpenDRIVE lane speed record, which
    netconvert reads; it ignores road-type speeds)."""
    root = ET.parse(opendrive).getroot()
    for lane in root.iter("lane"):
        if lane.get("type") != "driving":
            continue
        for record in lane.findall("speed"):
            lane.remove(record)
        ET.SubElement(lane, "speed", {"sOffset": "0", "max": repr(max(speed_limit, _MIN_SPEED_LIMIT)), "unit": "m/s"})
    text = ET.tostring(root, encoding="unicode")
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    directory = cache_dir / f"opendrive-{opendrive.stem}-{key}"
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / opendrive.name
    if not target.is_file():
        partial = directory / f".{opendrive.name}.partial"
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    return directory


def place_entities(scenario: OpenScenario, frame: RoadFrame) -> tuple[EntityPlacement, ...]:
    """Each entity's placement after the Init actions (in file order; positions relative to an
    entity use its placement so far). Raises OpenScenarioError for an entity never positioned."""
    placed: dict[str, EntityPlacement] = {}
    for name, action in scenario.storyboard.init:
        current = placed.get(name)
        if isinstance(action, TeleportAction):
            placed[name] = _teleport(scenario, frame, name, action, placed, current)
        elif isinstance(action, SpeedAction):
            if current is None:
                raise OpenScenarioError(f"{scenario.source}: Init sets the speed of '{name}' before placing it")
            speed = action.value if action.entity is None else _relative_speed(action, placed[action.entity].speed)
            placed[name] = EntityPlacement(name, current.edge, current.s, current.u, speed)
        elif isinstance(action, LongitudinalDistanceAction) and current is not None:
            placed[name] = _keep_distance(scenario, frame, name, action, placed, current)
        elif not isinstance(action, (ActivateControllerAction, RoutingAction)):  # those run at t = 0
            raise OpenScenarioError(f"{scenario.source}: {type(action).__name__} in Init is not supported")
    missing = [e.name for e in scenario.entities if e.name not in placed]
    if missing:
        raise OpenScenarioError(f"{scenario.source}: Init places no position for {', '.join(missing)}")
    return tuple(placed[e.name] for e in scenario.entities)


def _relative_speed(action: SpeedAction, reference: float) -> float:
    return reference + action.value if action.value_type == "delta" else reference * action.value


def _teleport(scenario: OpenScenario, frame: RoadFrame, name: str, action: TeleportAction,
              placed: dict[str, EntityPlacement], current: EntityPlacement | None) -> EntityPlacement:
    speed = current.speed if current is not None else 0.0
    position = action.position
    if isinstance(position, LanePosition):
        edge, index = frame.sumo_lane(position.road_id, position.lane_id)
        return EntityPlacement(name, edge, position.s, frame.edge(edge).centres[index] + position.offset, speed)
    if isinstance(position, RelativeLanePosition):
        if position.entity not in placed:
            raise OpenScenarioError(f"{scenario.source}: '{name}' is placed relative to '{position.entity}', "
                                    "which is not placed yet")
        reference = placed[position.entity]
        lanes = frame.edge(reference.edge)
        index = frame.shifted_lane(reference.edge, frame.lane_index_at(reference.edge, reference.u), position.d_lane)
        return EntityPlacement(name, reference.edge, reference.s + lanes.sign * position.ds,
                               lanes.centres[index] + position.offset, speed)
    assert isinstance(position, WorldPosition)
    edge, s, u = frame.locate(position.x, position.y, position.h if position.h is not None else 0.0)
    return EntityPlacement(name, edge, s, u, speed)


def _keep_distance(scenario: OpenScenario, frame: RoadFrame, name: str, action: LongitudinalDistanceAction,
                   placed: dict[str, EntityPlacement], current: EntityPlacement) -> EntityPlacement:
    reference = placed[action.entity]
    offset = action.offset(scenario.entity(name).kind, scenario.entity(action.entity).kind, reference.speed)
    s = reference.s + frame.edge(reference.edge).sign * offset
    return EntityPlacement(name, current.edge, s, current.u, current.speed)


def vehicle_type(entity_name: str, kind: EntityKind) -> VehicleTypeSpec:
    """The SUMO vType of an entity (one per entity: sizes and limits from its catalog entry)."""
    moving = kind.kind == "vehicle"
    sumo_class = kind.sumo_class
    object_class = ""
    if sumo_class == "pedestrian":   # lanes of a motorway forbid pedestrians: placed as 'ignoring'
        sumo_class, object_class = "ignoring", "pedestrian"
    return VehicleTypeSpec(
        id=f"osc.{entity_name}", vclass=sumo_class, length=kind.length, width=kind.width, height=kind.height,
        max_speed=max(kind.max_speed, 0.1), accel=max(kind.max_accel, 0.1), decel=max(kind.max_decel, 0.1),
        emergency_decel=max(kind.max_decel, 0.1), sigma=0.0, tau=1.0, min_gap=0.0, speed_factor=1.0, speed_dev=0.0,
        emission_class="HBEFA4/PC_petrol_Euro-4" if moving else "Zero", object_class=object_class)


def run_duration(stop: Trigger) -> float:
    """Simulated duration [s] of a run: the StopTrigger's time when it is one SimulationTimeCondition
    (plus one step's margin), else :data:`MAX_DURATION_S` (the world ends the run when it fires)."""
    if len(stop.groups) == 1 and len(stop.groups[0]) == 1:
        condition = stop.groups[0][0]
        if isinstance(condition.kind, SimulationTimeCondition):
            return condition.kind.value + condition.delay + 0.1
    return MAX_DURATION_S


def scenario_for(scenario: OpenScenario, ego: str | None, cache_dir: Path) -> Scenario:
    """The stack's :class:`Scenario` of an OpenSCENARIO concrete scenario (module docstring)."""
    ego_name = ego_of(scenario, ego)
    opendrive = Path(scenario.road_network)
    speeds = {name: action.value for name, action in scenario.storyboard.init
              if name == ego_name and isinstance(action, SpeedAction) and action.entity is None}
    network_dir = derived_network(opendrive, speeds.get(ego_name, 0.0), cache_dir)
    net_file = build_network(network_dir, cache_dir)
    frame = RoadFrame.from_files(net_file, opendrive)
    placements = place_entities(scenario, frame)
    types: list[VehicleTypeSpec] = []
    vehicles: list[dict[str, Any]] = []
    cavs: list[dict[str, Any]] = []
    for entity, placement in zip(scenario.entities, placements, strict=True):
        kind_type = vehicle_type(entity.name, entity.kind)
        types.append(kind_type)
        index = frame.lane_index_at(placement.edge, placement.u)
        front = placement.s + frame.edge(placement.edge).sign * entity.kind.front
        depart_pos = frame.lane_position(placement.edge, index, front)
        if not 0.0 <= depart_pos <= frame.road_map.lane(f"{placement.edge}_{index}").length:
            raise OpenScenarioError(f"{scenario.source}: '{entity.name}' starts off its road (s={placement.s:.1f} m)")
        fields = dict(id=entity.name, type=kind_type.id, route=(placement.edge,), depart=0.0, depart_lane=index,
                      depart_pos=depart_pos, depart_speed=max(placement.speed, 0.0))
        (cavs if entity.name == ego_name else vehicles).append(fields)
    duration = run_duration(scenario.storyboard.stop_trigger)
    name = Path(scenario.source).stem
    description = (scenario.description or name).replace("\n", " ").strip()
    return Scenario(
        name=name, description=description,
        metrics=("collisions", "min_ttc", "min_time_gap", "max_decel"),
        network=str(network_dir), duration=duration, seed=0, lane_change_duration=0.0,
        vehicle_types=tuple(types), demand=DemandSpec(vehicles=tuple(VehicleSpec(**v) for v in vehicles)),
        cavs=tuple(CavSpec(**c) for c in cavs), source=Path(scenario.source),
        storyboard=StoryboardBinding(scenario, ego_name, placements, str(opendrive)))
