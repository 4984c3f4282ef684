"""Executing an OpenSCENARIO storyboard in SUMO, one step at a time.

The runner owns every entity except the ego (driven by the stack): it moves them along their
lanes (SUMO ``moveToXY`` and ``setSpeed`` each step, so SUMO's own driver model never acts on them)
and runs the storyboard's life cycle (OpenSCENARIO 1.x, "Storyboard and entities"): stories start at
once; an act runs from its StartTrigger until its maneuver groups complete or its StopTrigger fires;
an event of a running maneuver starts on its StartTrigger (an ``override``/``overwrite`` event
stops the running events of its maneuver; ``skip`` does not start while one runs) and completes
with its actions, up to ``maximumExecutionCount`` times; the storyboard ends on its StopTrigger.
Transitions (start, end, stop, skip) are seen by StoryboardElementStateConditions of the step they
happen in and of the next one. An ActivateControllerAction on the ego is logged (the stack drives
it throughout); on another entity it hands that entity to SUMO's driver model. Every other action
on the ego is refused when the runner is built (the stack, not the storyboard, drives it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import numpy as np

from cav_stack.core.frames import yaw_to_sumo_angle
from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.sim.openscenario_road import RoadFrame
from cav_stack.sim.storyboard_conditions import ConditionTracker
from cav_stack.sim.storyboard_motion import Mover, Polyline, Transition, offset_duration, transition_duration
from cav_stack.world.openscenario.reader import OpenScenarioError
from cav_stack.world.openscenario.storyboard import (Action, ActivateControllerAction, FollowTrajectoryAction,
                                                     LaneChangeAction, LaneOffsetAction,
                                                     LanePosition, LongitudinalDistanceAction, Position,
                                                     PrivateAction, RelativeLanePosition, RoutingAction, SpeedAction,
                                                     StoryboardBinding, TeleportAction, Trigger, WorldPosition)

#: speedMode of a vehicle handed to SUMO by an ActivateControllerAction: every safety check on.
_SPEED_MODE_DEFAULT = 0b01_11_11
#: laneChangeMode SUMO's default (strategic, cooperative, speed-gain and keep-right changes).
_LC_MODE_DEFAULT = 0b0110_0101_0101
Log = Callable[..., None]


@dataclass
class _Node:
    """A storyboard element at run time: ``kind`` (story, act, maneuverGroup, maneuver, event,
    action), ``state`` (standby, running, complete) and how often it ran."""

    kind: str
    name: str
    element: Any
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)
    state: str = "standby"
    executions: int = 0
    actors: tuple[str, ...] = ()


@dataclass
class _Running:
    """A started private action on one actor; ``data`` holds what its kind needs while it runs."""

    node: _Node
    actor: str
    action: PrivateAction
    started: float
    data: dict[str, Any] = field(default_factory=dict)


class StoryboardRunner:
    """Runs ``binding``'s storyboard (module docstring); :meth:`apply` before each SUMO step."""

    def __init__(self, binding: StoryboardBinding, frame: RoadFrame, step_length: float, log: Log):
        self.binding = binding
        self.frame = frame
        self.dt = step_length
        self.log = log
        self.ego = binding.ego
        scenario = binding.scenario
        self.kinds = {e.name: e.kind for e in scenario.entities}
        self.movers = {p.name: Mover(p.name, p.edge, p.s, p.u, p.speed, frame.edge(p.edge).sign,
                                     self.kinds[p.name].front)
                       for p in binding.placements if p.name != self.ego}
        self.roots = [self._tree(story) for story in scenario.storyboard.stories]
        self.transitions: dict[tuple[str, str], list[tuple[str, float]]] = {}
        self.tracker = ConditionTracker(self._holds)
        self.running: list[_Running] = []
        self.done = False
        self.now = 0.0
        self._started = False
        self._check_actors()

    # --- structure --------------------------------------------------------------------------------

    def _tree(self, story: Any) -> _Node:
        root = _Node("story", story.name, story)
        for act in story.acts:
            act_node = _Node("act", act.name, act, root)
            root.children.append(act_node)
            for group in act.groups:
                group_node = _Node("maneuverGroup", group.name, group, act_node, actors=group.actors)
                act_node.children.append(group_node)
                for maneuver in group.maneuvers:
                    maneuver_node = _Node("maneuver", maneuver.name, maneuver, group_node, actors=group.actors)
                    group_node.children.append(maneuver_node)
                    for event in maneuver.events:
                        event_node = _Node("event", event.name, event, maneuver_node, actors=group.actors)
                        maneuver_node.children.append(event_node)
                        event_node.children = [_Node("action", a.name, a, event_node, actors=group.actors)
                                               for a in event.actions]
        return root

    def _nodes(self, kind: str | None = None) -> list[_Node]:
        out, stack = [], list(self.roots)
        while stack:
            node = stack.pop(0)
            if kind is None or node.kind == kind:
                out.append(node)
            stack[0:0] = node.children
        return out

    def _check_actors(self) -> None:
        source = self.binding.scenario.source
        for node in self._nodes("action"):
            for actor in node.actors:
                if actor not in self.kinds:
                    raise OpenScenarioError(f"{source}: action '{node.name}' acts on unknown entity '{actor}'")
                if actor == self.ego and not isinstance(node.element.action, (ActivateControllerAction, RoutingAction)):
                    raise OpenScenarioError(f"{source}: action '{node.name}' ({type(node.element.action).__name__}) "
                                            f"acts on the ego '{self.ego}', which the stack drives")

    def _transition(self, node: _Node, state: str, transition: str) -> None:
        node.state = state
        self.transitions.setdefault((node.kind, node.name), []).append((transition, self.now))

    def _holds(self, kind: str, name: str, state: str) -> bool:
        nodes = [n for n in self._nodes(kind) if n.name == name]
        if not nodes:
            raise OpenScenarioError(f"{self.binding.scenario.source}: StoryboardElementStateCondition refers to "
                                    f"unknown {kind} '{name}'")
        if state.endswith("State"):
            return any(n.state == state[:-len("State")] for n in nodes)
        return any(t == state and when >= self.now - self.dt - 1e-6
                   for t, when in self.transitions.get((kind, name), []))

    @staticmethod
    def _fires(tracker: ConditionTracker, trigger: Trigger, now: float, truth: WorldTruth) -> bool:
        """A start trigger without condition groups fires at once (OpenSCENARIO: start immediately)."""
        return True if not trigger.groups else tracker.trigger(trigger, now, truth)

    # --- stepping ---------------------------------------------------------------------------------

    def apply(self, now: float, truth: WorldTruth, sim: Any) -> None:
        """Advance the storyboard at ``now`` [s] on ``truth`` and push the entities' states for
        ``now + dt`` into SUMO (``sim``: libsumo or a traci connection)."""
        self.now = now
        if self.done:
            self._move(now, truth, sim)
            return
        if not self._started:
            self._started = True
            for node in self.roots:
                self._transition(node, "running", "startTransition")
            for name, action in self.binding.scenario.storyboard.init:
                if isinstance(action, (ActivateControllerAction, RoutingAction)):
                    self._start(_Node("action", f"Init:{name}", Action(f"Init:{name}", action)), name, now, truth)
        self._run_actions(now, truth)
        self._advance(now, truth)
        self._move(now, truth, sim)
        if self.tracker.trigger(self.binding.scenario.storyboard.stop_trigger, now, truth):
            self.done = True
            self.log("storyboard_stop", self.ego, f"StopTrigger fired at {now:.2f} s")

    def _advance(self, now: float, truth: WorldTruth) -> None:
        for act in self._nodes("act"):
            if act.state == "standby" and act.parent is not None and act.parent.state == "running":
                if self._fires(self.tracker, act.element.start_trigger, now, truth):
                    self._transition(act, "running", "startTransition")
                    for group in act.children:
                        self._transition(group, "running", "startTransition")
                        for maneuver in group.children:
                            self._transition(maneuver, "running", "startTransition")
            if act.state == "running":
                stop = act.element.stop_trigger
                if stop is not None and self.tracker.trigger(stop, now, truth):
                    self._stop(act)
        for event in self._nodes("event"):
            parent = event.parent
            if event.state != "standby" or parent is None or parent.state != "running":
                continue
            if not self._fires(self.tracker, event.element.start_trigger, now, truth):
                continue
            siblings = [e for e in parent.children if e is not event and e.state == "running"]
            if event.element.priority == "skip" and siblings:
                self._transition(event, "standby", "skipTransition")
                continue
            if event.element.priority in ("override", "overwrite"):
                for sibling in siblings:
                    self._stop(sibling)
            self._transition(event, "running", "startTransition")
            event.executions += 1
            for action in event.children:
                self._transition(action, "running", "startTransition")
                for actor in action.actors:
                    self._start(action, actor, now, truth)
        self._complete_parents()

    def _stop(self, node: _Node) -> None:
        for child in node.children:
            if child.state == "running":
                self._stop(child)
        if node.kind == "action":
            self.running = [r for r in self.running if r.node is not node]
        self._transition(node, "complete", "stopTransition")

    def _complete_parents(self) -> None:
        for kind in ("event", "maneuver", "maneuverGroup", "act", "story"):
            for node in self._nodes(kind):
                if node.state != "running" or not node.children:
                    continue
                if all(c.state == "complete" for c in node.children):
                    if kind == "event" and node.executions < node.element.maximum_executions:
                        self._transition(node, "standby", "endTransition")
                        for child in node.children:
                            child.state = "standby"
                    else:
                        self._transition(node, "complete", "endTransition")

    # --- actions ----------------------------------------------------------------------------------

    def _start(self, node: _Node, actor: str, now: float, truth: WorldTruth) -> None:
        running = _Running(node, actor, node.element.action, now)
        action = running.action
        mover = self.movers.get(actor)
        if isinstance(action, ActivateControllerAction):
            running.data["release"] = actor != self.ego
            self.log("activate_controller", actor, "the stack drives it" if actor == self.ego
                     else "SUMO's driver model drives it")
        elif isinstance(action, RoutingAction):
            for waypoint in action.waypoints:
                self._position(waypoint, truth)       # a waypoint off the network fails here
            self.log("route", actor, f"route through {len(action.waypoints)} waypoints")
        elif mover is None:
            raise OpenScenarioError(f"{self.binding.scenario.source}: {type(action).__name__} on '{actor}'")
        elif isinstance(action, SpeedAction):
            self._drop(actor, "longitudinal", running)
            target = self._speed_target(action, truth, mover)
            mover.speed_transition = Transition(now, mover.speed, target,
                                                transition_duration(action.dynamics, target - mover.speed,
                                                                    mover.speed), action.dynamics.shape)
        elif isinstance(action, LaneChangeAction):
            self._drop(actor, "lateral", running)
            target = self._target_lane(action, mover, truth)
            end = self.frame.edge(mover.edge).centres[target] + action.target_offset
            mover.lateral_transition = Transition(now, mover.u, end, transition_duration(
                action.dynamics, end - mover.u, mover.speed), action.dynamics.shape)
            self.log("lane_change", actor, f"to lane index {target} ({action.dynamics.shape})")
        elif isinstance(action, LaneOffsetAction):
            self._drop(actor, "lateral", running)
            end = self._offset_target(action, mover, truth)
            mover.lateral_transition = Transition(now, mover.u, end,
                                                  offset_duration(action.shape, end - mover.u, action.max_lateral_acc),
                                                  action.shape)
        elif isinstance(action, FollowTrajectoryAction):
            self._drop(actor, "lateral", running)
            self._drop(actor, "longitudinal", running)
            points = np.array([self._position(v.position, truth)[:2] for v in action.vertices])
            times = None
            if action.timing is not None:
                base = now if action.timing == "relative" else 0.0
                times = np.array([base + (v.time or 0.0) * action.scale + action.offset for v in action.vertices])
            mover.polyline = Polyline(points, times)
        elif isinstance(action, TeleportAction):
            edge, s, u = self._road_position(action.position, truth)
            mover.edge, mover.s, mover.u = edge, s, u
        elif not isinstance(action, LongitudinalDistanceAction):
            raise OpenScenarioError(f"{self.binding.scenario.source}: {type(action).__name__} is not executable")
        self.running.append(running)

    def _drop(self, actor: str, domain: str, keep: _Running) -> None:
        """Stop the actor's running actions of the same domain (the newer action takes over)."""
        lateral = (LaneChangeAction, LaneOffsetAction, FollowTrajectoryAction)
        longitudinal = (SpeedAction, LongitudinalDistanceAction, FollowTrajectoryAction)
        kinds = lateral if domain == "lateral" else longitudinal
        for running in list(self.running):
            if running is not keep and running.actor == actor and isinstance(running.action, kinds):
                self.running.remove(running)
                if running.node.state == "running":
                    self._transition(running.node, "complete", "stopTransition")

    def _run_actions(self, now: float, truth: WorldTruth) -> None:
        for running in list(self.running):
            if self._action_done(running, now, truth):
                self.running.remove(running)
                if all(r.node is not running.node for r in self.running) and running.node.state == "running":
                    self._transition(running.node, "complete", "endTransition")

    def _action_done(self, running: _Running, now: float, truth: WorldTruth) -> bool:
        action, mover = running.action, self.movers.get(running.actor)
        if isinstance(action, (ActivateControllerAction, RoutingAction, TeleportAction)) or mover is None:
            return True
        if isinstance(action, SpeedAction):
            transition = mover.speed_transition
            if action.continuous and action.entity is not None and transition is not None and transition.done(now):
                mover.speed_transition = Transition(now, mover.speed, self._speed_target(action, truth, mover), 0.0,
                                                    "step")
                return False
            return transition is None or (transition.done(now) and not action.continuous)
        if isinstance(action, (LaneChangeAction, LaneOffsetAction)):
            transition = mover.lateral_transition
            if isinstance(action, LaneOffsetAction) and action.continuous:
                return False
            return transition is None or transition.done(now)
        if isinstance(action, LongitudinalDistanceAction):
            self._keep_distance(action, mover, truth)
            return not action.continuous
        assert isinstance(action, FollowTrajectoryAction)
        line = mover.polyline
        if line is None:
            return True
        finished = (line.times is not None and now >= line.times[-1]) or (line.times is None and
                                                                          line.travelled >= line.length)
        if finished:
            mover.polyline = None
            x, y, yaw = line.at_distance(line.length)
            _, _, lane_yaw = self.frame.to_map(mover.edge, mover.s, mover.u)
            mover.edge, mover.s, mover.u = self.frame.locate(x, y, lane_yaw)
            if math.cos(yaw - lane_yaw) < math.cos(math.pi / 4):   # ended across the road: it stays there
                mover.speed = 0.0
            mover.speed_transition = None
        return finished

    # --- targets ----------------------------------------------------------------------------------

    def _truth_of(self, name: str, truth: WorldTruth) -> VehicleTruth:
        vehicle = truth.vehicle(name)
        if vehicle is None:
            raise OpenScenarioError(f"{self.binding.scenario.source}: entity '{name}' is not in the world")
        return vehicle

    def _speed_of(self, name: str, truth: WorldTruth) -> float:
        mover = self.movers.get(name)
        return mover.speed if mover is not None else self._truth_of(name, truth).speed

    def _speed_target(self, action: SpeedAction, truth: WorldTruth, mover: Mover) -> float:
        if action.entity is None:
            return action.value
        reference = self._speed_of(action.entity, truth)
        return max(reference + action.value if action.value_type == "delta" else reference * action.value, 0.0)

    def _lane_index(self, name: str, truth: WorldTruth) -> tuple[str, int]:
        mover = self.movers.get(name)
        if mover is not None:
            return mover.edge, self.frame.lane_index_at(mover.edge, mover.u)
        vehicle = self._truth_of(name, truth)
        return vehicle.edge_id, vehicle.lane_index

    def _target_lane(self, action: LaneChangeAction, mover: Mover, truth: WorldTruth) -> int:
        if action.lane_id is not None:
            edge, index = self.frame.sumo_lane(self.frame.edge(mover.edge).road_id, action.lane_id)
            if edge != mover.edge:
                raise OpenScenarioError(f"{self.binding.scenario.source}: lane {action.lane_id} is on the other "
                                        f"side of the road from '{mover.name}'")
            return index
        edge, index = self._lane_index(action.entity or mover.name, truth)
        return self.frame.shifted_lane(edge, index, action.relative)

    def _offset_target(self, action: LaneOffsetAction, mover: Mover, truth: WorldTruth) -> float:
        centres = self.frame.edge(mover.edge).centres
        own_centre = centres[self.frame.lane_index_at(mover.edge, mover.u)]
        if action.entity is None:
            return own_centre + action.value
        other = self.movers.get(action.entity)
        if other is not None:
            offset = other.u - centres[self.frame.lane_index_at(other.edge, other.u)]
        else:
            vehicle = self._truth_of(action.entity, truth)
            offset = self.frame.locate(vehicle.x, vehicle.y, vehicle.yaw)[2] - centres[vehicle.lane_index]
        return own_centre + offset + action.value

    def _reference_s(self, name: str, truth: WorldTruth) -> tuple[str, float, float]:
        """(edge, road s of the reference point [m], speed [m/s]) of an entity."""
        mover = self.movers.get(name)
        if mover is not None:
            return mover.edge, mover.s, mover.speed
        vehicle = self._truth_of(name, truth)
        edge, s, _ = self.frame.locate(vehicle.x, vehicle.y, vehicle.yaw)
        return edge, s - self.frame.edge(edge).sign * self.kinds[name].center_x, vehicle.speed

    def _keep_distance(self, action: LongitudinalDistanceAction, mover: Mover, truth: WorldTruth) -> None:
        edge, s, speed = self._reference_s(action.entity, truth)
        offset = action.offset(self.kinds[mover.name], self.kinds[action.entity], speed)
        mover.s = s + self.frame.edge(edge).sign * offset
        mover.speed = speed
        mover.speed_transition = None

    def _road_position(self, position: Position, truth: WorldTruth) -> tuple[str, float, float]:
        if isinstance(position, LanePosition):
            edge, index = self.frame.sumo_lane(position.road_id, position.lane_id)
            return edge, position.s, self.frame.edge(edge).centres[index] + position.offset
        if isinstance(position, RelativeLanePosition):
            edge, s, _ = self._reference_s(position.entity, truth)
            _, index = self._lane_index(position.entity, truth)
            target = self.frame.shifted_lane(edge, index, position.d_lane)
            lanes = self.frame.edge(edge)
            return edge, s + lanes.sign * position.ds, lanes.centres[target] + position.offset
        assert isinstance(position, WorldPosition)
        return self.frame.locate(position.x, position.y, position.h or 0.0)

    def _position(self, position: Position, truth: WorldTruth) -> tuple[float, float, float]:
        """``map`` (x, y, yaw) of a position."""
        if isinstance(position, WorldPosition):
            return position.x, position.y, position.h or 0.0
        return self.frame.to_map(*self._road_position(position, truth))

    # --- motion -----------------------------------------------------------------------------------

    def _move(self, now: float, truth: WorldTruth, sim: Any) -> None:
        """Advance every mover to ``now + dt`` and place it in SUMO."""
        t1 = now + self.dt
        present = {v.vehicle_id for v in truth.vehicles}
        for running in list(self.running):
            if running.data.pop("release", False) and running.actor in present:
                self.movers[running.actor].released = True
                sim.vehicle.setSpeedMode(running.actor, _SPEED_MODE_DEFAULT)
                sim.vehicle.setLaneChangeMode(running.actor, _LC_MODE_DEFAULT)
                sim.vehicle.setSpeed(running.actor, -1.0)
        for mover in self.movers.values():
            if mover.released:
                continue
            if mover.polyline is not None:
                x, y, yaw, speed = self._follow(mover, mover.polyline, t1)
            else:
                if mover.speed_transition is not None:
                    mover.speed = max(mover.speed_transition.value(t1), 0.0)
                mover.s += mover.sign * mover.speed * self.dt
                u_before = mover.u
                if mover.lateral_transition is not None:
                    mover.u = mover.lateral_transition.value(t1)
                x, y, yaw = self.frame.to_map(mover.edge, mover.s, mover.u)
                if mover.speed > 0.1:
                    yaw += math.atan2((mover.u - u_before) / self.dt, mover.speed)
                speed = mover.speed
            mover.pose = (x, y, yaw)
            if mover.name in present:
                sim.vehicle.setSpeed(mover.name, speed)
                sim.vehicle.moveToXY(mover.name, "", -1, x + mover.front * math.cos(yaw),
                                     y + mover.front * math.sin(yaw), yaw_to_sumo_angle(yaw), 2)

    def _follow(self, mover: Mover, line: Polyline, t1: float) -> tuple[float, float, float, float]:
        """Pose and speed at ``t1`` [s] along ``line`` (by its vertex times, or at the mover's speed)."""
        before = line.travelled
        if line.times is not None:
            line.travelled = line.distance_at_time(t1)
        else:
            line.travelled = min(line.travelled + mover.speed * self.dt, line.length)
        x, y, yaw = line.at_distance(line.travelled)
        speed = (line.travelled - before) / self.dt if line.times is not None else mover.speed
        mover.speed = speed
        return x, y, yaw, speed
