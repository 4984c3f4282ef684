"""The scenario's scripted events on a running SUMO world, each with the record of its start.

One runner per event (:func:`make_runner`): ``apply(now)`` runs before each SUMO step from
``now`` [s]. Events SUMO executes (cut-in, hard brake, speed profile, incident) send their
commands; the others (link loss, sensor faults, V2X attacks, revocations: consumed by the
stack's models) are only watched. Every runner logs the start of its event once, as an
:class:`EventRecord` carrying the event's index and the situation measured on the truth of that
moment (:func:`~cav_stack.world.scenario.situation`); a runner whose event can no longer happen
logs why (kind :data:`EVENT_MISSED`); :meth:`EventRunner.waiting_for` says what a runner that has
not started yet is waiting for.
"""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cav_stack.core.truth import VehicleTruth
from cav_stack.world.scenario import (LEADER_OF_PREFIX, CutInEvent, HardBrakeEvent, IncidentEvent, ScenarioEvent,
                                     SpeedProfileEvent, event_roles, situation)
from cav_stack.world.scenario.situation import bumper_gap

#: The running :class:`~cav_stack.sim.sumo.SumoWorld` a runner acts on (not imported: it imports this module).
SumoWorld = Any

#: Kind of the record a runner logs when its event can no longer happen (detail: the reason).
EVENT_MISSED = "event_missed"
#: Placing a cut-in vehicle: the clearance [m] it needs behind it in its new lane is the larger of
#: PLACE_MARGIN_M and PLACE_MARGIN_S [s] times the target's speed; ahead of it, the larger of
#: PLACE_MARGIN_M and PLACE_HEADWAY_S [s] times that speed, so that it can hold the target's speed
#: (from the event's time on, when it is due, PLACE_MARGIN_S as behind);
#: slots are tried every PLACE_STEP_M [m] over PLACE_SEARCH_M [m] from ``gap`` ahead of the target.
PLACE_MARGIN_M = 8.0
PLACE_MARGIN_S = 0.5
PLACE_HEADWAY_S = 1.5
PLACE_STEP_M = 2.0
PLACE_SEARCH_M = 120.0
#: A cut-in vehicle is placed at the start of its approach and again, at most once per
#: PLACE_INTERVAL_S [s], whenever it is behind its spot.
PLACE_INTERVAL_S = 3.0
#: Speed factor of a cut-in vehicle from its approach on: its commanded speed is then capped by
#: its type's ``max_speed`` only, not by its drawn share of the speed limit, so it keeps up with the CAV.
SCRIPTED_SPEED_FACTOR = 2.0
_EPS = 1e-9


@dataclass(frozen=True)
class EventRecord:
    """Something the world did or saw: ``time`` [s], ``kind`` (an event type, :data:`EVENT_MISSED`,
    or a world happening such as ``cav_left``), ``vehicle`` acted on, ``detail`` (human-readable),
    ``values``: the numbers that matter, SI (for an event's start its situation: ``gap_m``,
    ``ttc_s``, ``speed_mps``, ``cav_speed_mps``, lane indices, and e.g. a cut-in's ``gap`` [m]);
    ``event_index``: the scenario event it belongs to (None for other records); ``cav``: the CAV
    the event concerns."""

    time: float
    kind: str
    vehicle: str
    detail: str
    values: dict[str, float] = field(default_factory=dict)
    event_index: int | None = None
    cav: str | None = None


class EventRunner(abc.ABC):
    """Applies (or watches) the scenario's ``index``-th event ``event`` on ``world``."""

    def __init__(self, event: ScenarioEvent, index: int, world: SumoWorld):
        self.world = world
        self.index = index
        self.roles = event_roles(event, index)
        self.started = False
        self.finished = False

    @property
    def sim(self) -> Any:
        return self.world._sim

    def present(self, vehicle_id: str) -> bool:
        return vehicle_id in self.world._static

    def log(self, kind: str, vehicle: str, detail: str, **values: float) -> None:
        self.world.event_log.append(EventRecord(self.world.time, kind, vehicle, detail, values, self.index))

    def log_start(self, actor: str, detail: str, **values: float) -> None:
        """Record the start of the event now, with the situation between ``actor`` and its CAV."""
        measured = situation(self.world.truth, actor, self.roles.cav)
        cav = measured.pop("cav")
        numbers = {k: float(v) for k, v in measured.items() if isinstance(v, (int, float))}
        self.world.event_log.append(EventRecord(self.world.time, self.roles.type, actor, detail,
                                                {**numbers, **values}, self.index, str(cav) if cav else None))
        self.started = True

    def log_missed(self, reason: str) -> None:
        """Record that the event can no longer happen, and why; the runner does nothing more."""
        self.log(EVENT_MISSED, self.roles.actor, reason)
        self.finished = True

    def waiting_for(self) -> str:
        """Why the event has not started (yet); meaningful while :attr:`started` is False."""
        return f"vehicle '{self.roles.actor}' not in the world from {self.roles.scheduled_s:g} s"

    @abc.abstractmethod
    def apply(self, now: float) -> None:
        """Send the event's commands (if any) for the step from ``now`` [s] to ``now + step_length``."""


class WatchRunner(EventRunner):
    """An event consumed by the stack's models (link loss, sensor fault, V2X attack, revocation):
    starts at its time once its vehicle (and the CAV it names) are in the world."""

    def apply(self, now: float) -> None:
        if self.started or now < self.roles.scheduled_s - _EPS:
            return
        needed = [self.roles.actor] + ([self.roles.cav] if self.roles.cav else [])
        if all(self.present(v) for v in needed):
            self.log_start(self.roles.actor, f"{self.roles.type} in effect from {now:.2f} s")

    def waiting_for(self) -> str:
        needed = [self.roles.actor] + ([self.roles.cav] if self.roles.cav else [])
        return f"{' and '.join(repr(v) for v in needed)} not all in the world from {self.roles.scheduled_s:g} s"


class CutInRunner(EventRunner):
    """See :class:`~cav_stack.world.scenario.CutInEvent`."""

    def __init__(self, event: CutInEvent, index: int, world: SumoWorld):
        super().__init__(event, index, world)
        self.event = event
        self.started_at: float | None = None
        self.changing_until = -math.inf     # end [s] of the positioning lane change under way
        self.placed_at = -math.inf          # time [s] of the last placement
        self.last_seen = "the vehicle or its target never was in the world"
        spec = next(v for v in world.scenario.demand.vehicles if v.id == event.vehicle)
        self.accel = world.scenario.vehicle_type(spec.type).accel

    def apply(self, now: float) -> None:
        event, truth = self.event, self.world.truth
        if self.finished or now < event.time - event.approach - _EPS:
            return
        if self.started_at is not None:
            if now >= self.started_at + self.world.scenario.lane_change_duration - _EPS:
                self.sim.vehicle.setSpeed(event.vehicle, event.speed_after)
                self.finished = True
            return
        if now > event.time + event.timeout + _EPS:
            if self.present(event.vehicle):
                self.sim.vehicle.setSpeed(event.vehicle, -1.0)      # SUMO drives it again
            self.log_missed(f"no cut-in situation by {event.time + event.timeout:g} s (last: {self.last_seen})")
            return
        cutter, target = truth.vehicle(event.vehicle), truth.vehicle(event.target)
        if cutter is None or target is None:
            return
        gap = bumper_gap(target, cutter)
        if self.placed_at == -math.inf:
            self.sim.vehicle.setSpeedFactor(event.vehicle, SCRIPTED_SPEED_FACTOR)
        behind = gap < event.gap - event.tolerance or cutter.edge_id != target.edge_id
        if (self.placed_at == -math.inf or behind) and now >= self.placed_at + PLACE_INTERVAL_S - _EPS \
                and self._place(cutter, target):
            self.placed_at = now
            return
        same_edge = cutter.edge_id == target.edge_id
        adjacent = same_edge and abs(cutter.lane_index - target.lane_index) == 1
        changing = now < self.changing_until - _EPS
        self.last_seen = (f"gap {gap:.1f} m, lane {cutter.lane_index} on {cutter.edge_id}, {event.target} in lane "
                          f"{target.lane_index} on {target.edge_id}")
        if now >= event.time - _EPS and adjacent and not changing and abs(gap - event.gap) <= event.tolerance:
            self._start(now, cutter.lane_index, target.lane_index, target.speed, gap)
            return
        if same_edge and not adjacent and not changing:
            self._step_towards_adjacent_lane(now, cutter.lane_index, target.lane_index, cutter.edge_id)
        error = gap - event.gap
        closing = min(abs(error) / (event.approach / 4.0), math.sqrt(self.accel * abs(error)))
        self.sim.vehicle.setSpeed(event.vehicle, max(target.speed - math.copysign(closing, error), 0.0))

    def _place(self, cutter: VehicleTruth, target: VehicleTruth) -> bool:
        """Move the vehicle (SUMO ``moveTo``) into the first free slot of a lane next to the
        target's, from ``gap`` ahead of it forwards; False when there is none this step."""
        event, sim = self.event, self.sim
        edge = target.edge_id
        if edge not in sim.vehicle.getRoute(event.vehicle):
            return False
        lanes = sim.edge.getLaneNumber(edge)
        length = sim.lane.getLength(f"{edge}_{target.lane_index}")
        behind = max(PLACE_MARGIN_M, PLACE_MARGIN_S * target.speed)
        headway = PLACE_HEADWAY_S if self.world.time < event.time - _EPS else PLACE_MARGIN_S
        ahead = max(PLACE_MARGIN_M, headway * target.speed)
        others = [v for v in self.world.truth.vehicles if v.edge_id == edge and v.vehicle_id != event.vehicle]
        adjacent = sorted((x for x in (target.lane_index - 1, target.lane_index + 1) if 0 <= x < lanes),
                          key=lambda x: abs(x - cutter.lane_index))
        nearest = target.lane_position + event.gap + cutter.length
        for lane in adjacent:
            occupied = [(v.lane_position - v.length, v.lane_position) for v in others if v.lane_index == lane]
            for front in np.arange(nearest, nearest + PLACE_SEARCH_M, PLACE_STEP_M):
                rear = front - cutter.length
                if rear - behind < 0.0 or front + ahead > length:
                    break
                if all(v_rear - front >= ahead or rear - v_front >= behind for v_rear, v_front in occupied):
                    sim.vehicle.moveTo(event.vehicle, f"{edge}_{lane}", float(front))
                    sim.vehicle.setSpeed(event.vehicle, target.speed)
                    ahead = front - cutter.length - target.lane_position
                    self.world.event_log.append(EventRecord(
                        self.world.time, "cut_in_placed", event.vehicle, f"placed in lane {lane} of {edge} at "
                        f"{front:.1f} m, {ahead:.1f} m ahead of {event.target}'s front bumper"))
                    return True
        return False

    def _start(self, now: float, from_lane: int, into_lane: int, speed: float, gap: float) -> None:
        event = self.event
        self.started_at = now
        self.sim.vehicle.changeLane(event.vehicle, into_lane, self._hold(now))
        self.sim.vehicle.setSpeed(event.vehicle, speed)
        self.log_start(event.vehicle, f"lane change from lane {from_lane} into lane {into_lane} ahead of "
                       f"{event.target}: gap {gap:.2f} m at {speed:.2f} m/s", gap=gap)

    def _step_towards_adjacent_lane(self, now: float, lane: int, target_lane: int, edge: str) -> None:
        """Change one lane towards the lane next to ``target_lane`` nearest to ``lane``."""
        lanes = self.sim.edge.getLaneNumber(edge)
        goal = min((x for x in (target_lane - 1, target_lane + 1) if 0 <= x < lanes), key=lambda x: abs(x - lane))
        step = lane + (1 if goal > lane else -1)
        self.sim.vehicle.changeLane(self.event.vehicle, step, self._hold(now))
        self.changing_until = now + self.world.scenario.lane_change_duration

    def _hold(self, now: float) -> float:
        """How long [s] SUMO keeps the vehicle in a lane it was sent to: the rest of the scenario."""
        return max(self.world.scenario.duration - now, self.world.scenario.lane_change_duration)

    def waiting_for(self) -> str:
        return f"no cut-in situation yet ({self.last_seen})"


class HardBrakeRunner(EventRunner):
    """See :class:`~cav_stack.world.scenario.HardBrakeEvent`."""

    def __init__(self, event: HardBrakeEvent, index: int, world: SumoWorld):
        super().__init__(event, index, world)
        self.event = event
        self.vehicle: str | None = None
        self.start_speed = 0.0
        self.reached_at: float | None = None

    def apply(self, now: float) -> None:
        event = self.event
        if self.finished or now < event.time - _EPS:
            return
        if self.vehicle is None:
            self.vehicle = self._resolve()
            if self.vehicle is None:
                self.log_missed(f"no vehicle '{event.vehicle}' in the world at {now:.2f} s")
                return
            braking = self.world.truth.vehicle(self.vehicle)
            assert braking is not None, "a present vehicle is in the world's truth"
            self.start_speed = braking.speed
            vehicle = self.sim.vehicle
            if event.decel > vehicle.getDecel(self.vehicle):  # allow braking harder than the type's decel
                vehicle.setEmergencyDecel(self.vehicle, max(event.decel, vehicle.getEmergencyDecel(self.vehicle)))
                vehicle.setDecel(self.vehicle, event.decel)
            self.log_start(self.vehicle, f"braking at {event.decel:.2f} m/s^2 from {self.start_speed:.2f} to "
                           f"{event.to_speed:.2f} m/s", speed=self.start_speed)
        if not self.present(self.vehicle):
            self.finished = True
            return
        step = self.world.step_length
        target = max(self.start_speed - event.decel * (now + step - event.time), event.to_speed)
        self.sim.vehicle.setSpeed(self.vehicle, target)
        if target <= event.to_speed and self.reached_at is None:
            self.reached_at = now
        if self.reached_at is not None and now >= self.reached_at + event.hold - _EPS:
            self.sim.vehicle.setSpeed(self.vehicle, -1.0)
            self.finished = True

    def _resolve(self) -> str | None:
        selector = self.event.vehicle
        if selector.startswith(LEADER_OF_PREFIX):
            cav_id = selector[len(LEADER_OF_PREFIX):]
            if not self.present(cav_id):
                return None
            leader = self.sim.vehicle.getLeader(cav_id, 1000.0)
            return leader[0] if leader and leader[0] else None
        return selector if self.present(selector) else None


class SpeedProfileRunner(EventRunner):
    """See :class:`~cav_stack.world.scenario.SpeedProfileEvent`; it starts at the profile's first
    change of speed, once the vehicle is in the world."""

    def __init__(self, event: SpeedProfileEvent, index: int, world: SumoWorld):
        super().__init__(event, index, world)
        self.event = event

    def apply(self, now: float) -> None:
        speed = self.event.speed_at(now + self.world.step_length)
        if speed is None or not self.present(self.event.vehicle):
            return
        if not self.started and now >= self.roles.scheduled_s - _EPS:
            self.log_start(self.event.vehicle, f"speed profile: {speed:.2f} m/s commanded")
        self.sim.vehicle.setSpeed(self.event.vehicle, speed)


class IncidentRunner(EventRunner):
    """See :class:`~cav_stack.world.scenario.IncidentEvent`; its vehicles are ``incident.<n>.<lane>``
    (n: the event's index in the scenario). It starts when the first of them is in the world."""

    def __init__(self, event: IncidentEvent, index: int, world: SumoWorld):
        super().__init__(event, index, world)
        self.event = event
        self.prefix = self.roles.actor
        self.placed: tuple[str, ...] = ()
        self.rerouted = 0

    def apply(self, now: float) -> None:
        event = self.event
        if self.started or now < event.time - _EPS:
            return
        if not self.placed:
            self._place()
        inserted = [v for v in self.placed if self.present(v)]
        if inserted:
            lanes = ", ".join(v.rsplit(".", 1)[1] for v in self.placed)
            self.log_start(inserted[0], f"incident on edge {event.edge} at {event.position:.1f} m, lanes {lanes}; "
                           + (f"edge closed, {self.rerouted} vehicle(s) re-routed" if event.closes
                              else "edge stays open"), position=event.position, rerouted=float(self.rerouted))

    def _place(self) -> None:
        event, sim = self.event, self.sim
        lanes = event.lanes if event.lanes is not None else tuple(range(sim.edge.getLaneNumber(event.edge)))
        route_id = f"{self.prefix}.route"
        sim.route.add(route_id, [event.edge])
        self.placed = tuple(f"{self.prefix}.{lane}" for lane in lanes)
        for lane, vehicle_id in zip(lanes, self.placed, strict=True):
            self.world._incident_vehicles.add(vehicle_id)
            sim.vehicle.add(vehicle_id, route_id, typeID=event.vehicle_type, depart="now", departLane=str(lane),
                            departPos=repr(event.position), departSpeed="0")
        self.rerouted = self.world.close_edge(event.edge) if event.closes else 0

    def waiting_for(self) -> str:
        if self.placed:
            return f"SUMO never found room to insert {', '.join(self.placed)}"
        return super().waiting_for()


def make_runner(event: ScenarioEvent, index: int, world: SumoWorld) -> EventRunner:
    """The runner of the scenario's ``index``-th event ``event``."""
    runners: dict[type, Any] = {CutInEvent: CutInRunner, HardBrakeEvent: HardBrakeRunner,
                                SpeedProfileEvent: SpeedProfileRunner, IncidentEvent: IncidentRunner}
    runner: EventRunner = runners.get(type(event), WatchRunner)(event, index, world)
    return runner
