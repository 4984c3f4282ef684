"""Who a scripted event concerns and the situation it makes: measured on ground truth at its start.

An event acts through a vehicle (the *actor*: the cutting car, the braking car, the attacker...)
and concerns a CAV: the one it names (``target``, ``victim``, ``cav``, the receiver of a link loss,
``leader_of:<cav>``), otherwise the CAV nearest to the actor when it starts. Its *situation* at
the start is measured between the two, along the CAV's heading in ``map``: the bumper gap [m],
the time to collision [s] and both speeds [m/s] (the figures an
:class:`~cav_stack.world.scenario.events.EventExpectation` bounds).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.world.scenario.events import (EVENT_TYPES, CutInEvent, GhostVehicleEvent, HardBrakeEvent,
                                             IncidentEvent, InsiderAttackEvent, LinkLossEvent, RevocationEvent,
                                             ScenarioEvent, SensorFaultEvent, SpeedProfileEvent)

LEADER_OF_PREFIX = "leader_of:"
"""``vehicle: leader_of:<cav id>`` of a hard brake: the vehicle directly ahead of that CAV."""

_TYPE_NAMES = {cls: name for name, cls in EVENT_TYPES.items()}


@dataclass(frozen=True)
class EventRoles:
    """``type`` (the YAML name), ``actor`` (the vehicle it acts through, as the scenario names it:
    possibly ``leader_of:<cav>`` or, for an incident, the prefix ``incident.<n>`` of its vehicles),
    ``cav`` (the CAV it names; None: the nearest at its start), ``scheduled_s`` [s] (its time; a
    speed profile's first change of speed)."""

    type: str
    actor: str
    cav: str | None
    scheduled_s: float


def event_roles(event: ScenarioEvent, index: int) -> EventRoles:
    """The roles of the scenario's ``index``-th event ``event`` (see :class:`EventRoles`)."""
    name = _TYPE_NAMES[type(event)]
    if isinstance(event, CutInEvent):
        return EventRoles(name, event.vehicle, event.target, event.time)
    if isinstance(event, HardBrakeEvent):
        named = event.vehicle[len(LEADER_OF_PREFIX):] if event.vehicle.startswith(LEADER_OF_PREFIX) else None
        return EventRoles(name, event.vehicle, named, event.time)
    if isinstance(event, SpeedProfileEvent):
        return EventRoles(name, event.vehicle, event.cav, event.change_time)
    if isinstance(event, IncidentEvent):
        return EventRoles(name, f"incident.{index}", None, event.time)
    if isinstance(event, LinkLossEvent):
        return EventRoles(name, event.sender, event.receivers[0], event.time)
    if isinstance(event, SensorFaultEvent):
        return EventRoles(name, event.cav, event.cav, event.time)
    if isinstance(event, (GhostVehicleEvent, InsiderAttackEvent)):
        victim = event.victim if isinstance(event, InsiderAttackEvent) else None
        return EventRoles(name, event.attacker, victim, event.time)
    if isinstance(event, RevocationEvent):
        return EventRoles(name, event.vehicle, None, event.time)
    raise TypeError(f"not a scenario event: {event!r}")


def nearest_cav(truth: WorldTruth, actor: VehicleTruth) -> VehicleTruth | None:
    """The CAV (other than ``actor``) nearest to ``actor``'s box centre; None when none is in the world."""
    cavs = [v for v in truth.vehicles if v.is_cav and v.vehicle_id != actor.vehicle_id]
    return min(cavs, key=lambda v: math.hypot(v.x - actor.x, v.y - actor.y), default=None)


def bumper_gap(cav: VehicleTruth, actor: VehicleTruth) -> float:
    """Gap [m] between ``cav`` and ``actor`` along the CAV's heading: from its front bumper to the
    actor's rear bumper when the actor is ahead (> 0), minus the distance from the actor's front
    bumper to its rear bumper when behind (< 0), 0 when the two boxes overlap along it."""
    along = (actor.x - cav.x) * math.cos(cav.yaw) + (actor.y - cav.y) * math.sin(cav.yaw)
    half = 0.5 * (cav.length + actor.length)
    if along >= half:
        return along - half
    if along <= -half:
        return along + half
    return 0.0


def situation(truth: WorldTruth, actor_id: str, cav_id: str | None) -> dict[str, str | float | None]:
    """The situation of an event between vehicle ``actor_id`` and CAV ``cav_id`` (None: the CAV
    nearest to the actor) in ``truth``: ``cav``, ``gap_m`` (:func:`bumper_gap`), ``ttc_s`` (gap over
    closing speed; None when they are not closing or are the same vehicle), ``speed_mps`` of the
    actor, ``cav_speed_mps``, and both lane indices. Figures of a vehicle not in the world are None."""
    actor = truth.vehicle(actor_id)
    cav = truth.vehicle(cav_id) if cav_id is not None else (nearest_cav(truth, actor) if actor else None)
    measured: dict[str, str | float | None] = {
        "cav": cav.vehicle_id if cav is not None else cav_id, "gap_m": None, "ttc_s": None,
        "speed_mps": actor.speed if actor is not None else None,
        "cav_speed_mps": cav.speed if cav is not None else None,
        "actor_lane": actor.lane_index if actor is not None else None,
        "cav_lane": cav.lane_index if cav is not None else None}
    if actor is None or cav is None or actor.vehicle_id == cav.vehicle_id:
        return measured
    gap = bumper_gap(cav, actor)
    closing = cav.speed - actor.speed if gap > 0.0 else actor.speed - cav.speed
    measured["gap_m"] = gap
    measured["ttc_s"] = abs(gap) / closing if gap != 0.0 and closing > 0.0 else None
    return measured
