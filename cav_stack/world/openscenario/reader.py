"""Reading an OpenSCENARIO 1.x concrete scenario (``.xosc``) into :class:`~.storyboard.OpenScenario`.

Parameters are resolved first (declarations, ``--param`` overrides, ``${...}`` expressions) over
every attribute of the document; then the storyboard is read element by element. Every element the
reader does not implement is an :class:`UnsupportedElementError` naming it and the file, never
skipped. Catalog references are looked up in the CatalogLocations directories (any catalog kind,
by catalog name), relative to the scenario file.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from collections.abc import Callable, Mapping

from cav_stack.world.openscenario.catalogs import CatalogError, EntityKind, entity_kind, find_entry
from cav_stack.world.openscenario.expressions import ExpressionError, Value, resolve_attribute
from cav_stack.world.openscenario.parameters import (ParameterDeclaration, read_declarations, resolve_parameters,
                                                     violated_constraint)
from cav_stack.world.openscenario.storyboard import (Act, Action, ActivateControllerAction, Condition, Entity, Event,
                                                     FollowTrajectoryAction, LaneChangeAction, LaneOffsetAction,
                                                     LanePosition, LongitudinalDistanceAction, Maneuver,
                                                     ManeuverGroup, OpenScenario, Position, PrivateAction,
                                                     RelativeDistanceCondition, RelativeLanePosition, RoutingAction,
                                                     SimulationTimeCondition, SpeedAction,
                                                     StoryboardElementStateCondition, Story, Storyboard,
                                                     TeleportAction, TimeHeadwayCondition, TrajectoryVertex,
                                                     TransitionDynamics, Trigger, WorldPosition)

CONDITION_EDGES = ("none", "rising", "falling", "risingOrFalling")
RULES = ("greaterThan", "lessThan", "equalTo", "greaterOrEqual", "lessOrEqual", "notEqualTo")


class OpenScenarioError(ValueError):
    """A scenario file that cannot be read: bad XML, parameter, catalog or value (message names the file)."""


class UnsupportedElementError(OpenScenarioError):
    """An element this reader does not implement; ``element`` is its tag, ``path`` the file."""

    def __init__(self, element: str, path: Path, where: str = ""):
        self.element = element
        self.path = path
        context = f" in {where}" if where else ""
        super().__init__(f"unsupported OpenSCENARIO element <{element}>{context} in {path}")


def parse_document(path: Path) -> ET.Element:
    """The root element of an OpenSCENARIO file (OpenScenarioError on unreadable XML)."""
    try:
        return ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise OpenScenarioError(f"cannot read {path}: {exc}") from None


def declarations_of(path: Path) -> tuple[ParameterDeclaration, ...]:
    """The top-level parameter declarations of a scenario file."""
    try:
        return read_declarations(parse_document(path).find("ParameterDeclarations"))
    except ExpressionError as exc:
        raise OpenScenarioError(f"{path}: {exc}") from None


def read_scenario(path: str | Path, overrides: Mapping[str, str] | None = None, *,
                  check_constraints: bool = True) -> OpenScenario:
    """Read the concrete scenario ``path`` with parameter ``overrides`` (name -> value text).

    With ``check_constraints`` a parameter value outside its ConstraintGroups is an error.
    Raises :class:`OpenScenarioError` / :class:`UnsupportedElementError`.
    """
    path = Path(path).resolve()
    root = parse_document(path)
    if root.find("ParameterValueDistribution") is not None:
        raise OpenScenarioError(f"{path} is a logical scenario (ParameterValueDistribution): run it with "
                                f"`cav-stack eval --scenarios {path.name}`")
    try:
        declarations = read_declarations(root.find("ParameterDeclarations"))
        values = resolve_parameters(declarations, overrides or {})
        if check_constraints and (violation := violated_constraint(declarations, values)) is not None:
            raise OpenScenarioError(f"{path}: {violation}")
        _substitute(root, values)
    except ExpressionError as exc:
        raise OpenScenarioError(f"{path}: {exc}") from None
    return _Reader(path, root).read(tuple(values.items()))


def _substitute(element: ET.Element, values: Mapping[str, Value]) -> None:
    """Replace parameter references and expressions in every attribute below ``element``
    (declarations excluded: they were resolved already)."""
    for child in element:
        if child.tag == "ParameterDeclarations":
            if element.tag != "OpenSCENARIO" and len(child):
                raise ExpressionError(f"nested ParameterDeclarations in <{element.tag}> are not supported")
            continue
        for key, text in child.attrib.items():
            child.set(key, resolve_attribute(text, values))
        _substitute(child, values)


class _Reader:
    def __init__(self, path: Path, root: ET.Element):
        self.path = path
        self.root = root

    # --- helpers ------------------------------------------------------------------------------

    def unsupported(self, element: ET.Element, where: str = "") -> UnsupportedElementError:
        return UnsupportedElementError(element.tag, self.path, where)

    def only(self, element: ET.Element, allowed: tuple[str, ...]) -> None:
        """Fail on any child of ``element`` outside ``allowed``."""
        for child in element:
            if child.tag not in allowed:
                raise self.unsupported(child, element.tag)

    def one(self, element: ET.Element, where: str = "") -> ET.Element:
        children = list(element)
        if len(children) != 1:
            raise OpenScenarioError(f"{self.path}: <{element.tag}>{where} must have exactly one child")
        return children[0]

    def require(self, element: ET.Element | None, tag: str, parent: str) -> ET.Element:
        if element is None:
            raise OpenScenarioError(f"{self.path}: <{parent}> has no <{tag}>")
        return element

    def number(self, element: ET.Element, key: str, default: float | None = None) -> float:
        text = element.get(key)
        if text is None:
            if default is None:
                raise OpenScenarioError(f"{self.path}: <{element.tag}> lacks attribute '{key}'")
            return default
        try:
            return float(text)
        except ValueError:
            raise OpenScenarioError(f"{self.path}: <{element.tag} {key}='{text}'> is not a number") from None

    def integer(self, element: ET.Element, key: str, default: int | None = None) -> int:
        value = self.number(element, key, None if default is None else float(default))
        if not value.is_integer():
            raise OpenScenarioError(f"{self.path}: <{element.tag} {key}='{element.get(key)}'> is not an integer")
        return int(value)

    def flag(self, element: ET.Element, key: str, default: bool = False) -> bool:
        text = element.get(key)
        if text is None:
            return default
        if text not in ("true", "false"):
            raise OpenScenarioError(f"{self.path}: <{element.tag} {key}='{text}'> must be true or false")
        return text == "true"

    def choice(self, element: ET.Element, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
        text = element.get(key, default)
        if text not in allowed:
            raise OpenScenarioError(f"{self.path}: <{element.tag} {key}='{text}'> must be one of {', '.join(allowed)}")
        return text

    # --- document -----------------------------------------------------------------------------

    def read(self, parameters: tuple[tuple[str, Value], ...]) -> OpenScenario:
        root = self.root
        self.only(root, ("FileHeader", "ParameterDeclarations", "CatalogLocations", "RoadNetwork", "Entities",
                         "Storyboard"))
        header = root.find("FileHeader")
        road = self.road_network(self.require(root.find("RoadNetwork"), "RoadNetwork", "OpenSCENARIO"))
        directories = self.catalog_directories(root.find("CatalogLocations"))
        entities = self.entities(self.require(root.find("Entities"), "Entities", "OpenSCENARIO"), directories)
        storyboard = self.storyboard(self.require(root.find("Storyboard"), "Storyboard", "OpenSCENARIO"))
        names = {e.name for e in entities}
        for entity_name, _ in storyboard.init:
            if entity_name not in names:
                raise OpenScenarioError(f"{self.path}: Init acts on unknown entity '{entity_name}'")
        return OpenScenario(str(self.path), header.get("description", "") if header is not None else "",
                            parameters, road, entities, storyboard)

    def road_network(self, element: ET.Element) -> str:
        self.only(element, ("LogicFile", "SceneGraphFile", "TrafficSignals", "UsedArea"))
        for child in element:
            if child.tag in ("TrafficSignals", "UsedArea") and len(child):
                raise self.unsupported(child, "RoadNetwork")
        logic = self.require(element.find("LogicFile"), "LogicFile", "RoadNetwork")
        file = (self.path.parent / logic.get("filepath", "")).resolve()
        if not file.is_file():
            raise OpenScenarioError(f"{self.path}: road network {file} does not exist")
        return str(file)

    def catalog_directories(self, element: ET.Element | None) -> list[Path]:
        if element is None:
            return []
        directories: list[Path] = []
        for location in element:
            self.only(location, ("Directory",))
            directories.extend((self.path.parent / d.get("path", "")).resolve() for d in location)
        return directories

    def entities(self, element: ET.Element, directories: list[Path]) -> tuple[Entity, ...]:
        self.only(element, ("ScenarioObject",))
        entities = []
        for scenario_object in element:
            self.only(scenario_object, ("CatalogReference", "Vehicle", "Pedestrian", "MiscObject", "ObjectController"))
            name = scenario_object.get("name", "")
            try:
                kind = self.entity_kind(scenario_object, directories)
                controller = self.controller(scenario_object.find("ObjectController"), directories)
            except CatalogError as exc:
                raise OpenScenarioError(f"{self.path}: entity '{name}': {exc}") from None
            entities.append(Entity(name, kind, controller))
        return tuple(entities)

    def entity_kind(self, scenario_object: ET.Element, directories: list[Path]) -> EntityKind:
        reference = scenario_object.find("CatalogReference")
        if reference is not None:
            assignments = reference.find("ParameterAssignments")
            if assignments is not None and len(assignments):
                raise self.unsupported(assignments[0], "CatalogReference")
            tag, entry = find_entry(directories, reference.get("catalogName", ""), reference.get("entryName", ""))
            return entity_kind(tag, entry)
        for tag in ("Vehicle", "Pedestrian", "MiscObject"):
            inline = scenario_object.find(tag)
            if inline is not None:
                return entity_kind(tag, inline)
        raise OpenScenarioError(f"{self.path}: ScenarioObject '{scenario_object.get('name')}' has no entity")

    def controller(self, element: ET.Element | None, directories: list[Path]) -> str:
        if element is None:
            return ""
        self.only(element, ("CatalogReference", "Controller"))
        reference = element.find("CatalogReference")
        if reference is not None:
            _, entry = find_entry(directories, reference.get("catalogName", ""), reference.get("entryName", ""))
            return entry.get("name", "")
        inline = element.find("Controller")
        return inline.get("name", "") if inline is not None else ""

    # --- storyboard ---------------------------------------------------------------------------

    def storyboard(self, element: ET.Element) -> Storyboard:
        self.only(element, ("Init", "Story", "StopTrigger"))
        init: list[tuple[str, PrivateAction]] = []
        init_element = element.find("Init")
        if init_element is not None:
            self.only(init_element, ("Actions",))
            for actions in init_element:
                self.only(actions, ("Private",))
                for private in actions:
                    self.only(private, ("PrivateAction",))
                    init.extend((private.get("entityRef", ""), self.private_action(a)) for a in private)
        stories = tuple(self.story(s) for s in element.findall("Story"))
        stop = element.find("StopTrigger")
        return Storyboard(tuple(init), stories, self.trigger(stop) if stop is not None else Trigger())

    def story(self, element: ET.Element) -> Story:
        self.only(element, ("ParameterDeclarations", "Act"))
        return Story(element.get("name", ""), tuple(self.act(a) for a in element.findall("Act")))

    def act(self, element: ET.Element) -> Act:
        self.only(element, ("ManeuverGroup", "StartTrigger", "StopTrigger"))
        start = element.find("StartTrigger")
        stop = element.find("StopTrigger")
        return Act(element.get("name", ""), self.trigger(start) if start is not None else Trigger(),
                   tuple(self.maneuver_group(g) for g in element.findall("ManeuverGroup")),
                   self.trigger(stop) if stop is not None else None)

    def maneuver_group(self, element: ET.Element) -> ManeuverGroup:
        self.only(element, ("Actors", "Maneuver"))
        actors_element = self.require(element.find("Actors"), "Actors", "ManeuverGroup")
        self.only(actors_element, ("EntityRef",))
        if self.flag(actors_element, "selectTriggeringEntities"):
            raise OpenScenarioError(f"{self.path}: <Actors selectTriggeringEntities='true'> is not supported")
        actors = tuple(e.get("entityRef", "") for e in actors_element)
        maneuvers = []
        for maneuver in element.findall("Maneuver"):
            self.only(maneuver, ("ParameterDeclarations", "Event"))
            events = tuple(self.event(e) for e in maneuver.findall("Event"))
            maneuvers.append(Maneuver(maneuver.get("name", ""), events))
        return ManeuverGroup(element.get("name", ""), actors, tuple(maneuvers),
                             self.integer(element, "maximumExecutionCount", 1))

    def event(self, element: ET.Element) -> Event:
        self.only(element, ("Action", "StartTrigger"))
        priority = self.choice(element, "priority", ("override", "overwrite", "skip", "parallel"), "override")
        actions = []
        for action in element.findall("Action"):
            self.only(action, ("PrivateAction",))
            name = action.get("name", "")
            actions.append(Action(name, self.private_action(self.one(action, f" '{name}'"))))
        start = element.find("StartTrigger")
        return Event(element.get("name", ""), priority, self.trigger(start) if start is not None else Trigger(),
                     tuple(actions), self.integer(element, "maximumExecutionCount", 1))

    # --- actions ------------------------------------------------------------------------------

    def private_action(self, element: ET.Element) -> PrivateAction:
        """A PrivateAction element (its one child names the action family)."""
        family = self.one(element)
        readers: dict[str, Callable[[ET.Element], PrivateAction]] = {
            "TeleportAction": self.teleport, "LongitudinalAction": self.longitudinal,
            "LateralAction": self.lateral, "RoutingAction": self.routing, "ControllerAction": self.controller_action,
        }
        reader = readers.get(family.tag)
        if reader is None:
            raise self.unsupported(family, "PrivateAction")
        return reader(family)

    def teleport(self, element: ET.Element) -> PrivateAction:
        self.only(element, ("Position",))
        return TeleportAction(self.position(self.require(element.find("Position"), "Position", "TeleportAction")))

    def longitudinal(self, element: ET.Element) -> PrivateAction:
        action = self.one(element)
        if action.tag == "SpeedAction":
            self.only(action, ("SpeedActionDynamics", "SpeedActionTarget"))
            dynamics = self.dynamics(self.require(action.find("SpeedActionDynamics"), "SpeedActionDynamics",
                                                  "SpeedAction"))
            target = self.one(self.require(action.find("SpeedActionTarget"), "SpeedActionTarget", "SpeedAction"))
            if target.tag == "AbsoluteTargetSpeed":
                return SpeedAction(dynamics, self.number(target, "value"))
            if target.tag == "RelativeTargetSpeed":
                return SpeedAction(dynamics, self.number(target, "value"), target.get("entityRef", ""),
                                   self.choice(target, "speedTargetValueType", ("delta", "factor")),
                                   self.flag(target, "continuous"))
            raise self.unsupported(target, "SpeedActionTarget")
        if action.tag == "LongitudinalDistanceAction":
            for constraint in action:
                raise self.unsupported(constraint, "LongitudinalDistanceAction")
            has_distance, has_gap = action.get("distance") is not None, action.get("timeGap") is not None
            if has_distance == has_gap:
                raise OpenScenarioError(f"{self.path}: LongitudinalDistanceAction needs one of distance, timeGap")
            if action.get("coordinateSystem", "entity") not in ("entity", "lane", "road"):
                raise OpenScenarioError(f"{self.path}: LongitudinalDistanceAction coordinateSystem "
                                        f"'{action.get('coordinateSystem')}' is not supported")
            return LongitudinalDistanceAction(
                action.get("entityRef", ""),
                self.choice(action, "displacement", ("leadingReferencedEntity", "trailingReferencedEntity", "any"),
                            "trailingReferencedEntity"),
                self.flag(action, "freespace"), self.flag(action, "continuous"),
                self.number(action, "distance") if has_distance else None,
                self.number(action, "timeGap") if has_gap else None)
        raise self.unsupported(action, "LongitudinalAction")

    def lateral(self, element: ET.Element) -> PrivateAction:
        action = self.one(element)
        if action.tag == "LaneChangeAction":
            self.only(action, ("LaneChangeActionDynamics", "LaneChangeTarget"))
            dynamics = self.dynamics(self.require(action.find("LaneChangeActionDynamics"), "LaneChangeActionDynamics",
                                                  "LaneChangeAction"))
            target = self.one(self.require(action.find("LaneChangeTarget"), "LaneChangeTarget", "LaneChangeAction"))
            offset = self.number(action, "targetLaneOffset", 0.0)
            if target.tag == "AbsoluteTargetLane":
                return LaneChangeAction(dynamics, lane_id=self.integer(target, "value"), target_offset=offset)
            if target.tag == "RelativeTargetLane":
                return LaneChangeAction(dynamics, entity=target.get("entityRef", ""),
                                        relative=self.integer(target, "value"), target_offset=offset)
            raise self.unsupported(target, "LaneChangeTarget")
        if action.tag == "LaneOffsetAction":
            self.only(action, ("LaneOffsetActionDynamics", "LaneOffsetTarget"))
            offset_dynamics = self.require(action.find("LaneOffsetActionDynamics"), "LaneOffsetActionDynamics",
                                           "LaneOffsetAction")
            shape = self.choice(offset_dynamics, "dynamicsShape", ("step", "linear", "cubic", "sinusoidal"))
            max_acc = self.number(offset_dynamics, "maxLateralAcc", 0.0 if shape == "step" else None)
            target = self.one(self.require(action.find("LaneOffsetTarget"), "LaneOffsetTarget", "LaneOffsetAction"))
            continuous = self.flag(action, "continuous")
            if target.tag == "AbsoluteTargetLaneOffset":
                return LaneOffsetAction(shape, max_acc, self.number(target, "value"), continuous=continuous)
            if target.tag == "RelativeTargetLaneOffset":
                return LaneOffsetAction(shape, max_acc, self.number(target, "value"), target.get("entityRef", ""),
                                        continuous)
            raise self.unsupported(target, "LaneOffsetTarget")
        raise self.unsupported(action, "LateralAction")

    def routing(self, element: ET.Element) -> PrivateAction:
        action = self.one(element)
        if action.tag == "FollowTrajectoryAction":
            return self.follow_trajectory(action)
        if action.tag != "AssignRouteAction":
            raise self.unsupported(action, "RoutingAction")
        route = self.one(action)
        if route.tag != "Route":
            raise self.unsupported(route, "AssignRouteAction")
        self.only(route, ("ParameterDeclarations", "Waypoint"))
        waypoints = []
        for waypoint in route.findall("Waypoint"):
            self.only(waypoint, ("Position",))
            waypoints.append(self.position(self.require(waypoint.find("Position"), "Position", "Waypoint")))
        if len(waypoints) < 2:
            raise OpenScenarioError(f"{self.path}: a Route needs at least two Waypoints")
        return RoutingAction(tuple(waypoints))

    def follow_trajectory(self, action: ET.Element) -> PrivateAction:
        self.only(action, ("TrajectoryRef", "Trajectory", "TimeReference", "TrajectoryFollowingMode"))
        trajectory = action.find("Trajectory")
        if trajectory is None:
            reference = self.require(action.find("TrajectoryRef"), "TrajectoryRef", "FollowTrajectoryAction")
            self.only(reference, ("Trajectory",))
            trajectory = self.require(reference.find("Trajectory"), "Trajectory", "TrajectoryRef")
        self.only(trajectory, ("ParameterDeclarations", "Shape"))
        shape = self.one(self.require(trajectory.find("Shape"), "Shape", "Trajectory"))
        if shape.tag != "Polyline":
            raise self.unsupported(shape, "Shape")
        self.only(shape, ("Vertex",))
        vertices = []
        for vertex in shape:
            self.only(vertex, ("Position",))
            time = vertex.get("time")
            vertices.append(TrajectoryVertex(self.position(self.require(vertex.find("Position"), "Position", "Vertex")),
                                             None if time is None else self.number(vertex, "time")))
        if len(vertices) < 2:
            raise OpenScenarioError(f"{self.path}: a Polyline needs at least two Vertex elements")
        timing, scale, offset = None, 1.0, 0.0
        time_reference = action.find("TimeReference")
        if time_reference is not None:
            child = self.one(time_reference)
            if child.tag == "Timing":
                timing = self.choice(child, "domainAbsoluteRelative", ("absolute", "relative"))
                scale, offset = self.number(child, "scale", 1.0), self.number(child, "offset", 0.0)
                if any(v.time is None for v in vertices):
                    raise OpenScenarioError(f"{self.path}: a timed Polyline needs a time on every Vertex")
            elif child.tag != "None":
                raise self.unsupported(child, "TimeReference")
        return FollowTrajectoryAction(tuple(vertices), timing, scale, offset)

    def controller_action(self, element: ET.Element) -> PrivateAction:
        action = self.one(element)
        if action.tag != "ActivateControllerAction":
            raise self.unsupported(action, "ControllerAction")
        return ActivateControllerAction(self.flag(action, "lateral", True), self.flag(action, "longitudinal", True))

    def dynamics(self, element: ET.Element) -> TransitionDynamics:
        return TransitionDynamics(self.choice(element, "dynamicsShape", ("step", "linear", "cubic", "sinusoidal")),
                                  self.choice(element, "dynamicsDimension", ("time", "distance", "rate")),
                                  self.number(element, "value"))

    def position(self, element: ET.Element) -> Position:
        position = self.one(element)
        self.only(position, ("Orientation",))
        orientation = position.find("Orientation")
        if orientation is not None and (self.number(orientation, "h", 0.0) != 0.0 or
                                        orientation.get("type", "relative") != "relative"):
            raise OpenScenarioError(f"{self.path}: a lane Orientation other than relative h=0 is not supported")
        if position.tag == "LanePosition":
            return LanePosition(position.get("roadId", ""), self.integer(position, "laneId"),
                                self.number(position, "s"),
                                self.number(position, "offset", 0.0))
        if position.tag == "RelativeLanePosition":
            if position.get("dsLane") is not None:
                raise OpenScenarioError(f"{self.path}: RelativeLanePosition dsLane is not supported (use ds)")
            return RelativeLanePosition(position.get("entityRef", ""), self.integer(position, "dLane"),
                                        self.number(position, "ds"), self.number(position, "offset", 0.0))
        if position.tag == "WorldPosition":
            heading = position.get("h")
            return WorldPosition(self.number(position, "x"), self.number(position, "y"),
                                 None if heading is None else self.number(position, "h"))
        raise self.unsupported(position, "Position")

    # --- triggers -----------------------------------------------------------------------------

    def trigger(self, element: ET.Element) -> Trigger:
        self.only(element, ("ConditionGroup",))
        groups = []
        for group in element:
            self.only(group, ("Condition",))
            groups.append(tuple(self.condition(c) for c in group))
        return Trigger(tuple(groups))

    def condition(self, element: ET.Element) -> Condition:
        self.only(element, ("ByValueCondition", "ByEntityCondition"))
        by = self.one(element)
        edge = self.choice(element, "conditionEdge", CONDITION_EDGES)
        delay = self.number(element, "delay", 0.0)
        name = element.get("name", "")
        if by.tag == "ByValueCondition":
            kind = self.one(by)
            if kind.tag == "SimulationTimeCondition":
                return Condition(name, delay, edge, SimulationTimeCondition(self.number(kind, "value"),
                                                                            self.choice(kind, "rule", RULES)))
            if kind.tag == "StoryboardElementStateCondition":
                return Condition(name, delay, edge, StoryboardElementStateCondition(
                    self.choice(kind, "storyboardElementType", ("story", "act", "maneuverGroup", "maneuver", "event",
                                                                "action")),
                    kind.get("storyboardElementRef", ""),
                    self.choice(kind, "state", ("startTransition", "endTransition", "stopTransition",
                                                "skipTransition", "completeState", "runningState", "standbyState"))))
            raise self.unsupported(kind, "ByValueCondition")
        self.only(by, ("TriggeringEntities", "EntityCondition"))
        triggering = self.require(by.find("TriggeringEntities"), "TriggeringEntities", "ByEntityCondition")
        self.only(triggering, ("EntityRef",))
        entities = tuple(e.get("entityRef", "") for e in triggering)
        any_rule = self.choice(triggering, "triggeringEntitiesRule", ("any", "all")) == "any"
        kind = self.one(self.require(by.find("EntityCondition"), "EntityCondition", "ByEntityCondition"))
        if kind.tag == "RelativeDistanceCondition":
            if kind.get("coordinateSystem", "entity") != "entity":
                raise OpenScenarioError(f"{self.path}: RelativeDistanceCondition coordinateSystem "
                                        f"'{kind.get('coordinateSystem')}' is not supported (entity only)")
            return Condition(name, delay, edge, RelativeDistanceCondition(
                entities, any_rule, kind.get("entityRef", ""),
                self.choice(kind, "relativeDistanceType", ("longitudinal", "lateral", "euclidianDistance")),
                self.number(kind, "value"), self.flag(kind, "freespace"), self.choice(kind, "rule", RULES)))
        if kind.tag == "TimeHeadwayCondition":
            if kind.get("coordinateSystem", "entity") != "entity" or kind.get("alongRoute") == "true":
                raise OpenScenarioError(f"{self.path}: TimeHeadwayCondition is supported in the entity "
                                        f"coordinate system only")
            return Condition(name, delay, edge, TimeHeadwayCondition(
                entities, any_rule, kind.get("entityRef", ""), self.number(kind, "value"),
                self.flag(kind, "freespace"), self.choice(kind, "rule", RULES)))
        raise self.unsupported(kind, "EntityCondition")
