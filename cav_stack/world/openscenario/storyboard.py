"""The storyboard of an OpenSCENARIO 1.x scenario as frozen dataclasses (simulator-free).

Units SI: positions [m], angles [rad], speeds [m/s], times [s]. Positions are OpenDRIVE road
coordinates (``s`` along the reference line, ``offset`` [m] to the left of the lane centre) or
world ``map`` coordinates (x east, y north, heading ``h`` CCW from +x). Lane IDs are OpenDRIVE's
(negative: right of the reference line). A relative lane number counts lanes to the left of the
reference entity's lane in its driving direction (OpenSCENARIO's dLane / RelativeTargetLane).
"""
from __future__ import annotations

from dataclasses import dataclass

from cav_stack.world.openscenario.catalogs import EntityKind


# --- positions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LanePosition:
    road_id: str
    lane_id: int
    s: float
    offset: float = 0.0


@dataclass(frozen=True)
class RelativeLanePosition:
    entity: str
    d_lane: int
    ds: float
    offset: float = 0.0


@dataclass(frozen=True)
class WorldPosition:
    x: float
    y: float
    h: float | None = None


Position = LanePosition | RelativeLanePosition | WorldPosition


# --- actions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TransitionDynamics:
    """``shape``: step, linear, cubic, sinusoidal; ``dimension``: time [s], distance [m] or rate
    (speed actions: [m/s^2]; lane changes and offsets: peak lateral speed [m/s]); ``value``."""

    shape: str
    dimension: str
    value: float


@dataclass(frozen=True)
class TeleportAction:
    position: Position


@dataclass(frozen=True)
class SpeedAction:
    """Target speed: ``value`` [m/s] absolute, or relative to ``entity`` (``value_type`` delta
    [m/s] or factor [-]); ``continuous``: keep tracking the relative target after reaching it."""

    dynamics: TransitionDynamics
    value: float
    entity: str | None = None
    value_type: str = "delta"
    continuous: bool = False


@dataclass(frozen=True)
class LaneChangeAction:
    """Target lane: ``lane_id`` absolute (OpenDRIVE, on the actor's road), or ``relative`` lanes
    to the left of ``entity``'s lane; ``target_offset`` [m] in the target lane."""

    dynamics: TransitionDynamics
    lane_id: int | None = None
    entity: str | None = None
    relative: int = 0
    target_offset: float = 0.0


@dataclass(frozen=True)
class LaneOffsetAction:
    """Lateral offset [m, left +] from the lane centre: ``value`` absolute, or relative to
    ``entity``'s offset; reached with ``shape`` at most ``max_lateral_acc`` [m/s^2]."""

    shape: str
    max_lateral_acc: float
    value: float
    entity: str | None = None
    continuous: bool = False


@dataclass(frozen=True)
class LongitudinalDistanceAction:
    """Place/keep the actor ``distance`` [m] or ``time_gap`` [s] (at the entity's speed) from
    ``entity``, ahead (``leadingReferencedEntity``) or behind (``trailingReferencedEntity``),
    bumper to bumper with ``freespace``."""

    entity: str
    displacement: str
    freespace: bool
    continuous: bool
    distance: float | None = None
    time_gap: float | None = None

    def offset(self, mine: EntityKind, theirs: EntityKind, reference_speed: float) -> float:
        """Signed distance [m] along the road from the referenced entity's reference point to the
        actor's (positive: the actor ahead), ``mine``/``theirs`` the two boxes, ``reference_speed``
        [m/s] the referenced entity's speed (for a time gap)."""
        along = self.distance if self.distance is not None else (self.time_gap or 0.0) * reference_speed
        ahead = self.displacement != "trailingReferencedEntity"
        if self.freespace:
            along += (theirs.front - mine.rear) if ahead else (mine.front - theirs.rear)
        return along if ahead else -along


@dataclass(frozen=True)
class TrajectoryVertex:
    position: Position
    time: float | None = None


@dataclass(frozen=True)
class FollowTrajectoryAction:
    """Follow a Polyline of ``vertices``; with ``timing`` (``absolute`` or ``relative`` to the
    action start, times scaled by ``scale`` and shifted by ``offset`` [s]) the vertex times are
    kept, else the actor keeps its speed along the line."""

    vertices: tuple[TrajectoryVertex, ...]
    timing: str | None = None
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class RoutingAction:
    """AssignRouteAction: waypoints the actor's route passes (positions, in order)."""

    waypoints: tuple[Position, ...]


@dataclass(frozen=True)
class ActivateControllerAction:
    lateral: bool
    longitudinal: bool


PrivateAction = (TeleportAction | SpeedAction | LaneChangeAction | LaneOffsetAction | LongitudinalDistanceAction
                 | FollowTrajectoryAction | RoutingAction | ActivateControllerAction)


# --- conditions and triggers ------------------------------------------------------------------

@dataclass(frozen=True)
class SimulationTimeCondition:
    value: float
    rule: str


@dataclass(frozen=True)
class RelativeDistanceCondition:
    """Distance [m] (``longitudinal``, ``lateral`` or ``euclidianDistance``) between a triggering
    entity and ``entity``, bumper to bumper with ``freespace``, compared with ``rule``."""

    triggering: tuple[str, ...]
    any_triggers: bool
    entity: str
    distance_type: str
    value: float
    freespace: bool
    rule: str


@dataclass(frozen=True)
class TimeHeadwayCondition:
    """Time headway [s] of a triggering entity to ``entity`` (distance / own speed)."""

    triggering: tuple[str, ...]
    any_triggers: bool
    entity: str
    value: float
    freespace: bool
    rule: str


@dataclass(frozen=True)
class StoryboardElementStateCondition:
    """``state`` (startTransition, endTransition, completeState, runningState, standbyState...)
    of the storyboard element named ``ref`` of type ``element_type``."""

    element_type: str
    ref: str
    state: str


ConditionKind = (SimulationTimeCondition | RelativeDistanceCondition | TimeHeadwayCondition
                 | StoryboardElementStateCondition)


@dataclass(frozen=True)
class Condition:
    """``kind`` evaluated with ``edge`` (none, rising, falling, risingOrFalling), true ``delay`` [s] later."""

    name: str
    delay: float
    edge: str
    kind: ConditionKind


@dataclass(frozen=True)
class Trigger:
    """True when every condition of at least one group is true (no groups: never)."""

    groups: tuple[tuple[Condition, ...], ...] = ()


# --- structure --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    name: str
    action: PrivateAction


@dataclass(frozen=True)
class Event:
    name: str
    priority: str
    start_trigger: Trigger
    actions: tuple[Action, ...]
    maximum_executions: int = 1


@dataclass(frozen=True)
class Maneuver:
    name: str
    events: tuple[Event, ...]


@dataclass(frozen=True)
class ManeuverGroup:
    name: str
    actors: tuple[str, ...]
    maneuvers: tuple[Maneuver, ...]
    maximum_executions: int = 1


@dataclass(frozen=True)
class Act:
    name: str
    start_trigger: Trigger
    groups: tuple[ManeuverGroup, ...]
    stop_trigger: Trigger | None = None


@dataclass(frozen=True)
class Story:
    name: str
    acts: tuple[Act, ...]


@dataclass(frozen=True)
class Entity:
    """A ScenarioObject: ``name``, its catalog ``kind`` and controller name ('' when none)."""

    name: str
    kind: EntityKind
    controller: str = ""


@dataclass(frozen=True)
class Storyboard:
    init: tuple[tuple[str, PrivateAction], ...]
    stories: tuple[Story, ...]
    stop_trigger: Trigger


@dataclass(frozen=True)
class OpenScenario:
    """A read concrete scenario: ``parameters`` (final values), the OpenDRIVE ``road_network``
    file, ``entities`` in file order and the ``storyboard``; ``source``: the .xosc file."""

    source: str
    description: str
    parameters: tuple[tuple[str, float | str | bool], ...]
    road_network: str
    entities: tuple[Entity, ...]
    storyboard: Storyboard

    def entity(self, name: str) -> Entity:
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise KeyError(f"no entity '{name}' (entities: {', '.join(e.name for e in self.entities)})")


@dataclass(frozen=True)
class EntityPlacement:
    """Where the Init actions put an entity at t = 0: SUMO ``edge`` of its road side, road ``s``
    [m] of its reference point, lateral ``u`` [m] (see :mod:`cav_stack.sim.openscenario_road`),
    ``speed`` [m/s]."""

    name: str
    edge: str
    s: float
    u: float
    speed: float


@dataclass(frozen=True)
class StoryboardBinding:
    """An OpenSCENARIO run as the world executes it: the read ``scenario``, the ``ego`` entity (driven
    by the stack; the others follow the storyboard), their initial ``placements`` and the OpenDRIVE
    file of the road network."""

    scenario: OpenScenario
    ego: str
    placements: tuple[EntityPlacement, ...]
    opendrive: str
