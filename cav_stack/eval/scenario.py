"""Scenario definitions: schema, loader and discovery.

A scenario is ``scenarios/<name>.yaml``; its road network is a directory of SUMO plain XML
(see :mod:`cav_stack.sim.network_build`). All values are SI (m, s, m/s, m/s^2) unless the key
carries a unit suffix (``_kph``...), which :mod:`cav_stack.core.params` converts. Positions along
a road are SUMO lane positions [m] from the start of the edge, of the vehicle's front bumper.

Schema (every key required unless marked optional)::

    name: highway_cut_in               # must equal the file stem
    description: One line.
    metrics: [min_ttc, collisions]     # report keys that matter for this scenario
    network: networks/highway_3lane    # source dir, relative to this file (or absolute)
    duration: 80.0                     # [s]
    seed: 7                            # default seed of a run
    lane_change_duration: 3.0          # [s] SUMO lateral manoeuvre time (0: instantaneous)
    vehicle_types:                     # SUMO vTypes (Krauss car following)
      - {id: car, vclass: passenger, length: 4.5, width: 1.8, height: 1.5, max_speed: 40.0,
         accel: 2.6, decel: 4.5, emergency_decel: 9.0, sigma: 0.5, tau: 1.0, min_gap: 2.5,
         speed_factor: 1.0, speed_dev: 0.1, emission_class: HBEFA4/PC_petrol_Euro-4}
    demand:
      flows:                           # optional; SUMO <flow>, evenly spaced departures
        - {id: f0, type: car, route: [e0, e1], begin: 0.0, end: 90.0, vehs_per_hour: 1200.0,
           depart_lane: random, depart_speed: desired}
      prefill:                         # optional; vehicles placed along a route at t = 0
        - {id: p0, type: car, route: [e0, e1], lanes: [0, 1], start: 0.0, end: 3000.0,
           spacing: 60.0, spacing_jitter: 15.0, speed: 25.0, keep_clear: [[150.0, 350.0]]}
      vehicles:                        # optional; individually named background vehicles
        - {id: cutter, type: car, route: [e0, e1], depart: 0.0, depart_lane: 2,
           depart_pos: 280.0, depart_speed: 27.0}
    cavs:                              # vehicles driven by this stack (may be empty: the
      - {id: cav_0, type: cav, route: [e0, e1], depart: 0.0, depart_lane: 1,   # 0 % CAV reference)
         depart_pos: 250.0, depart_speed: 27.0}
    detector: {edge: e1, position: 200.0}   # optional; section where lane throughput is counted;
                                       # end_after: 20 ends the run once 20 vehicles passed it
    odd: {edges: [], exit_edges: [e1], exit_positions: [600.0]}   # optional; the CAVs' operating
                                       # design domain (planning/odd.py); omitted: the whole network
    driver: {available: true, reaction_time: [2.0, 4.0]}   # optional; the person in each CAV's seat
                                       # (sim/driver.py); omitted: seen attentive, never takes over;
                                       # also responds: false (never answers), unavailable_from: 20.0 [s]
    connected_traffic: 0.3             # optional; share [0..1] of background vehicles broadcasting
                                       # BSMs (default: v2x/connected_traffic.yaml's penetration)
    events:                            # optional; each item has a ``type``
      - {type: cut_in, time: 20.0, vehicle: cutter, target: cav_0, gap: 15.0, approach: 8.0,
         speed_after: 24.0}
      - {type: hard_brake, time: 30.0, vehicle: "leader_of:cav_0", decel: 6.0, to_speed: 5.0,
         hold: 5.0}
      - {type: speed_profile, vehicle: leader, points: [[0.0, 25.0], [20.0, 25.0], [22.0, 20.0]]}
      - {type: incident, time: 20.0, edge: e1, closes: true, position: 120.0, vehicle_type: car}
      # Events below change nothing in SUMO: the stack's models (radio, sensors, V2X) consume
      # them through the Scenario queries link_loss(), sensor_dropouts() and active_ghosts().
      - {type: link_loss, time: 20.0, duration: 5.0, sender: cav_0, receivers: [cav_1, cav_2],
         loss_start: 0.0, loss_end: 1.0}
      - {type: sensor_fault, time: 25.0, cav: cav_0, sensors: [lidar, radar_front], mode: dropout}
      - {type: ghost_vehicle, time: 15.0, duration: 20.0, attacker: cav_1, offset: [30.0, 3.5]}

``prefill`` positions are distances [m] along the route from the start of its first edge; vehicles
are spaced ``spacing`` +- uniform ``spacing_jitter`` (drawn from the run's seeded generator) in
each listed lane, skipping the ``keep_clear`` [start, end] intervals. Events are described on their
dataclasses. Loading errors are :class:`~cav_stack.core.params.ParamsError` naming file, line and key.
"""
from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from cav_stack.core.params import ParamsError, bind_params, read_yaml, validate_positive
from cav_stack.planning.odd import OperatingDomain

_FLOW_DEPART_LANES = ("random", "free", "best", "allowed", "first")
_FLOW_DEPART_SPEEDS = ("random", "max", "desired", "speedLimit", "avg", "last")
LEADER_OF_PREFIX = "leader_of:"


class UnknownScenarioError(LookupError):
    """No scenario of that name; the message lists the available ones."""

    def __init__(self, name: str, available: list[str]):
        self.name = name
        self.available = available
        listed = ", ".join(available) if available else "(none)"
        super().__init__(f"unknown scenario '{name}'; available scenarios: {listed}")


@dataclass(frozen=True)
class VehicleTypeSpec:
    """A SUMO vehicle type (Krauss car following).

    length, width, height: box size [m]; max_speed [m/s]; accel, decel, emergency_decel [m/s^2];
    sigma: driver imperfection [0, 1]; tau: desired time headway [s]; min_gap: standstill gap [m];
    speed_factor, speed_dev: mean and std-dev of the desired speed as a fraction of the limit;
    emission_class: SUMO emission class (fuel model), e.g. ``HBEFA4/PC_petrol_Euro-4``.
    """

    id: str
    vclass: str
    length: float
    width: float
    height: float
    max_speed: float
    accel: float
    decel: float
    emergency_decel: float
    sigma: float
    tau: float
    min_gap: float
    speed_factor: float
    speed_dev: float
    emission_class: str

    def __post_init__(self) -> None:
        validate_positive(length=self.length, width=self.width, height=self.height,
                          max_speed=self.max_speed, accel=self.accel, decel=self.decel,
                          emergency_decel=self.emergency_decel, tau=self.tau,
                          speed_factor=self.speed_factor)
        if not 0.0 <= self.sigma <= 1.0:
            raise ValueError(f"sigma must be in [0, 1], got {self.sigma}")
        if self.min_gap < 0.0 or self.speed_dev < 0.0:
            raise ValueError("min_gap and speed_dev must be >= 0")
        if self.emergency_decel < self.decel:
            raise ValueError("emergency_decel must be >= decel")


@dataclass(frozen=True)
class FlowSpec:
    """A stream of background vehicles departing evenly between begin and end [s].

    vehs_per_hour [1/h]; depart_lane: one of random, free, best, allowed, first;
    depart_speed: one of random, max, desired, speedLimit, avg, last (SUMO keywords).
    """

    id: str
    type: str
    route: tuple[str, ...]
    begin: float
    end: float
    vehs_per_hour: float
    depart_lane: str
    depart_speed: str

    def __post_init__(self) -> None:
        _check_route(self.route)
        validate_positive(vehs_per_hour=self.vehs_per_hour)
        if not self.end > self.begin >= 0.0:
            raise ValueError(f"need 0 <= begin < end, got begin={self.begin}, end={self.end}")
        if self.depart_lane not in _FLOW_DEPART_LANES:
            raise ValueError(f"depart_lane must be one of {', '.join(_FLOW_DEPART_LANES)}")
        if self.depart_speed not in _FLOW_DEPART_SPEEDS:
            raise ValueError(f"depart_speed must be one of {', '.join(_FLOW_DEPART_SPEEDS)}")


@dataclass(frozen=True)
class PrefillSpec:
    """Background vehicles present at t = 0, spread along ``route`` in ``lanes``.

    start, end: route distance interval [m] to fill; spacing: mean front-to-front distance [m];
    spacing_jitter: half-width of the uniform spacing perturbation [m]; speed: depart speed [m/s];
    keep_clear: route distance intervals [m] left empty (e.g. around the CAVs).
    """

    id: str
    type: str
    route: tuple[str, ...]
    lanes: tuple[int, ...]
    start: float
    end: float
    spacing: float
    spacing_jitter: float
    speed: float
    keep_clear: tuple[tuple[float, ...], ...] = ()

    def __post_init__(self) -> None:
        _check_route(self.route)
        validate_positive(spacing=self.spacing)
        if not self.lanes or any(lane < 0 for lane in self.lanes):
            raise ValueError("lanes must be a non-empty list of lane indices >= 0")
        if not self.end > self.start >= 0.0:
            raise ValueError(f"need 0 <= start < end, got start={self.start}, end={self.end}")
        if not 0.0 <= self.spacing_jitter < self.spacing:
            raise ValueError("spacing_jitter must be in [0, spacing)")
        if self.speed < 0.0:
            raise ValueError("speed must be >= 0")
        for interval in self.keep_clear:
            if len(interval) != 2 or interval[0] >= interval[1]:
                raise ValueError(f"keep_clear intervals must be [start, end] with start < end, got {list(interval)}")


@dataclass(frozen=True)
class VehicleSpec:
    """One named vehicle: departs at ``depart`` [s] in lane ``depart_lane`` of the route's first
    edge at ``depart_pos`` [m, front bumper] with ``depart_speed`` [m/s]."""

    id: str
    type: str
    route: tuple[str, ...]
    depart: float
    depart_lane: int
    depart_pos: float
    depart_speed: float

    def __post_init__(self) -> None:
        _check_route(self.route)
        if self.depart < 0.0 or self.depart_lane < 0 or self.depart_pos < 0.0 or self.depart_speed < 0.0:
            raise ValueError("depart, depart_lane, depart_pos and depart_speed must be >= 0")


@dataclass(frozen=True)
class DemandSpec:
    """Background traffic: flows, pre-populated vehicles and named vehicles."""

    flows: tuple[FlowSpec, ...] = ()
    prefill: tuple[PrefillSpec, ...] = ()
    vehicles: tuple[VehicleSpec, ...] = ()


@dataclass(frozen=True)
class CutInEvent:
    """A background vehicle in a lane adjacent to ``target`` (a CAV) changes into its lane.

    From ``time - approach`` [s] the vehicle's speed is commanded so that the gap from the CAV's
    front bumper to its rear bumper, along the CAV's heading, converges to ``gap`` [m] at the CAV's
    speed: the closing speed is min(|error| / (approach / 4), sqrt(accel * |error|)), i.e. first
    order with 4 time constants per approach, capped so that braking to zero relative speed needs
    half the vehicle type's ``accel``. At
    ``time`` it starts the lane change (lasting the scenario's ``lane_change_duration``) at the
    CAV's speed, and afterwards keeps ``speed_after`` [m/s]. The vehicle makes no lane changes of
    its own during the scenario.
    """

    time: float
    vehicle: str
    target: str
    gap: float
    approach: float
    speed_after: float

    def __post_init__(self) -> None:
        validate_positive(time=self.time, gap=self.gap, approach=self.approach)
        if self.approach > self.time:
            raise ValueError("approach must be <= time")
        if self.speed_after < 0.0:
            raise ValueError("speed_after must be >= 0")


@dataclass(frozen=True)
class HardBrakeEvent:
    """At ``time`` [s] a vehicle brakes at ``decel`` [m/s^2] down to ``to_speed`` [m/s], holds
    that speed for ``hold`` [s], then drives freely again.

    vehicle: a vehicle ID, or ``leader_of:<cav id>`` for the vehicle directly ahead of that CAV
    in its lane at ``time``.
    """

    time: float
    vehicle: str
    decel: float
    to_speed: float
    hold: float

    def __post_init__(self) -> None:
        validate_positive(time=self.time, decel=self.decel)
        if self.to_speed < 0.0 or self.hold < 0.0:
            raise ValueError("to_speed and hold must be >= 0")


@dataclass(frozen=True)
class SpeedProfileEvent:
    """A background vehicle follows a speed profile: ``points`` are [time s, speed m/s] pairs,
    linearly interpolated between the first and last time, the last speed held afterwards.
    Before the first time the vehicle drives freely. SUMO's safety checks stay active."""

    vehicle: str
    points: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if len(self.points) < 1 or any(len(p) != 2 for p in self.points):
            raise ValueError("points must be a non-empty list of [time, speed] pairs")
        times = [p[0] for p in self.points]
        if any(b <= a for a, b in zip(times, times[1:])) or times[0] < 0.0:
            raise ValueError("point times must be >= 0 and strictly increasing")
        if any(p[1] < 0.0 for p in self.points):
            raise ValueError("speeds must be >= 0")

    def speed_at(self, t: float) -> float | None:
        """Commanded speed [m/s] at time ``t`` [s]; None before the profile starts."""
        if t < self.points[0][0]:
            return None
        for (t0, v0), (t1, v1) in zip(self.points, self.points[1:]):
            if t <= t1:
                return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
        return self.points[-1][1]


@dataclass(frozen=True)
class IncidentEvent:
    """At ``time`` [s] an incident blocks ``edge``: a stopped vehicle of ``vehicle_type`` appears
    at lane position ``position`` [m, front bumper] in every lane of the edge (or only in
    ``lanes``) and stays there for the rest of the run (SUMO inserts it as soon as that spot is
    free). With ``closes`` the edge is also closed for routing: SUMO's travel time of the edge is
    set to :data:`CLOSED_EDGE_TRAVEL_TIME` and every background vehicle whose remaining route uses
    it (now, or when departing later) is re-routed by travel time. CAVs are never re-routed by
    SUMO: their route comes from the stack; an RSU reports the incident (wired by the runner).
    """

    time: float
    edge: str
    closes: bool
    position: float
    vehicle_type: str
    lanes: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        validate_positive(time=self.time)
        if self.position < 0.0:
            raise ValueError("position must be >= 0")
        if self.lanes is not None and (not self.lanes or any(lane < 0 for lane in self.lanes)):
            raise ValueError("lanes must be a non-empty list of lane indices >= 0 (omit it for all lanes)")


CLOSED_EDGE_TRAVEL_TIME = 1.0e6
"""SUMO travel time [s] given to an edge closed by an incident, so that routing avoids it."""


def _check_window(time: float, duration: float | None) -> None:
    if time < 0.0:
        raise ValueError(f"time must be >= 0, got {time}")
    if duration is not None and not duration > 0.0:
        raise ValueError(f"duration must be > 0 (omit it for the rest of the run), got {duration}")


def _active(time: float, duration: float | None, t: float) -> bool:
    return time <= t and (duration is None or t < time + duration)


@dataclass(frozen=True)
class LinkLossEvent:
    """Extra V2X packet loss from ``sender`` to each of ``receivers`` (vehicle IDs) while
    ``time`` <= t < ``time + duration`` [s]: the loss probability ramps linearly from
    ``loss_start`` to ``loss_end`` (both in [0, 1]) over the window; outside it this event adds
    no loss. Consumed by the radio model (:meth:`Scenario.link_loss`), not by SUMO.
    """

    time: float
    duration: float
    sender: str
    receivers: tuple[str, ...]
    loss_start: float
    loss_end: float

    def __post_init__(self) -> None:
        _check_window(self.time, self.duration)
        if not self.receivers:
            raise ValueError("receivers must list at least one vehicle")
        if self.sender in self.receivers:
            raise ValueError("the sender cannot be one of its receivers")
        for name, value in (("loss_start", self.loss_start), ("loss_end", self.loss_end)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")

    def loss_at(self, t: float) -> float:
        """Loss probability [0..1] this event imposes at time ``t`` [s] (0 outside its window)."""
        if not _active(self.time, self.duration, t):
            return 0.0
        return self.loss_start + (self.loss_end - self.loss_start) * (t - self.time) / self.duration


SENSOR_FAULT_MODES = ("dropout",)
"""``dropout``: the sensor delivers no frames at all while the fault lasts."""


@dataclass(frozen=True)
class SensorFaultEvent:
    """From ``time`` [s] (for ``duration`` [s], or to the end of the run when omitted) the
    ``sensors`` of CAV ``cav`` fail in ``mode`` (see :data:`SENSOR_FAULT_MODES`). A sensor is
    named by its kind (``lidar``, ``radar``, ``camera``, ``gnss``, ``imu``, ``wheel_odometry``:
    every sensor of that kind) or by its rig ``frame_id`` (e.g. ``radar_front``). Consumed by the
    sensor models (:meth:`Scenario.sensor_dropouts`), not by SUMO.
    """

    time: float
    cav: str
    sensors: tuple[str, ...]
    mode: str
    duration: float | None = None

    def __post_init__(self) -> None:
        _check_window(self.time, self.duration)
        if not self.sensors or any(not s.strip() for s in self.sensors):
            raise ValueError("sensors must list at least one sensor kind or frame_id")
        if self.mode not in SENSOR_FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(SENSOR_FAULT_MODES)}, got '{self.mode}'")


@dataclass(frozen=True)
class GhostVehicleEvent:
    """From ``time`` [s] (for ``duration`` [s], or to the end of the run when omitted) the
    ``attacker`` (a vehicle ID) also transmits V2X status messages of a vehicle that does not
    exist, under its own fresh station ID. The ghost is placed ``offset`` = [forward, left] [m]
    from the attacker's true box centre in the attacker's frame (x forward, y left), with the
    attacker's heading and speed plus ``speed_offset`` [m/s]. Consumed by the V2X layer
    (:meth:`Scenario.active_ghosts`), not by SUMO; the ghost never appears in ground truth.
    """

    time: float
    attacker: str
    offset: tuple[float, ...]
    duration: float | None = None
    speed_offset: float = 0.0

    def __post_init__(self) -> None:
        _check_window(self.time, self.duration)
        if len(self.offset) != 2 or not all(math.isfinite(v) for v in self.offset):
            raise ValueError("offset must be [forward, left] in metres")

    def ghost_state(self, x: float, y: float, yaw: float, speed: float) -> tuple[float, float, float, float]:
        """Claimed (x [m], y [m], yaw [rad], speed [m/s]) in ``map`` of the ghost, given the
        attacker's true box centre (x, y) [m, map], yaw [rad] and speed [m/s]."""
        return offset_state(x, y, yaw, speed, self.offset[0], self.offset[1], self.speed_offset)


def offset_state(x: float, y: float, yaw: float, speed: float, forward: float, left: float,
                 speed_offset: float) -> tuple[float, float, float, float]:
    """(x [m], y [m], yaw [rad], speed [m/s]) in ``map`` of a point ``forward``, ``left`` [m]
    from (x, y) [m, map] in the frame of heading ``yaw`` [rad], with that heading and
    ``speed`` + ``speed_offset`` [m/s] (never negative)."""
    c, s = math.cos(yaw), math.sin(yaw)
    return x + c * forward - s * left, y + s * forward + c * left, yaw, max(speed + speed_offset, 0.0)


#: Insider attacks a vehicle can run with its own valid credentials (:class:`InsiderAttackEvent`).
INSIDER_ATTACK_KINDS = ("spat_forgery", "rsa_closure", "id_spoofing", "future_dated_bsm", "sybil_pseudonyms")


@dataclass(frozen=True)
class InsiderAttackEvent:
    """From ``time`` [s] (for ``duration`` [s], or to the end) the ``attacker`` (a vehicle ID)
    signs false V2X messages with its own genuine pseudonym certificates (an insider):
    ``spat_forgery``: SPaT of every signalised junction, all groups green; ``rsa_closure``: a
    RoadSideAlert closing ``edge``; ``id_spoofing``: BSMs under the temporary ID of the CAV
    ``victim``; ``future_dated_bsm``: BSMs whose own time is ``lead`` [s] ahead of their signing
    time; ``sybil_pseudonyms``: BSMs under ``pseudonyms`` certificates and IDs at once, a queue
    ``spacing`` [m] apart. False BSM positions are ``offset`` = [forward, left] [m] from the
    attacker's true centre in its frame (the first of a Sybil queue), at its speed plus
    ``speed_offset`` [m/s]. Consumed by the V2X layer, not by SUMO.
    """

    time: float
    attacker: str
    kind: str
    duration: float | None = None
    offset: tuple[float, ...] = (0.0, 0.0)
    speed_offset: float = 0.0
    victim: str | None = None
    edge: str | None = None
    lead: float = 20.0
    pseudonyms: int = 4
    spacing: float = 8.0

    def __post_init__(self) -> None:
        _check_window(self.time, self.duration)
        if self.kind not in INSIDER_ATTACK_KINDS:
            raise ValueError(f"kind must be one of {', '.join(INSIDER_ATTACK_KINDS)}, got '{self.kind}'")
        if len(self.offset) != 2 or not all(math.isfinite(v) for v in self.offset):
            raise ValueError("offset must be [forward, left] in metres")
        if self.kind == "id_spoofing" and self.victim is None:
            raise ValueError("id_spoofing needs the victim whose temporary ID is reused")
        if self.kind == "rsa_closure" and self.edge is None:
            raise ValueError("rsa_closure needs the edge it claims closed")
        if self.pseudonyms < 2 or not self.lead > 0.0 or not self.spacing > 0.0:
            raise ValueError("pseudonyms must be >= 2, lead and spacing > 0")

    def claimed_state(self, x: float, y: float, yaw: float, speed: float, index: int = 0
                      ) -> tuple[float, float, float, float]:
        """Claimed (x [m], y [m], yaw [rad], speed [m/s]) in ``map`` of the ``index``-th false
        vehicle, given the attacker's true box centre (x, y) [m, map], yaw [rad] and speed [m/s]."""
        return offset_state(x, y, yaw, speed, self.offset[0] + index * self.spacing, self.offset[1],
                            self.speed_offset)


@dataclass(frozen=True)
class RevocationEvent:
    """At ``time`` [s] the CRL authority publishes a revocation list naming every pseudonym
    certificate of ``vehicle``; receivers refuse its messages from then on."""

    time: float
    vehicle: str

    def __post_init__(self) -> None:
        _check_window(self.time, None)


ScenarioEvent = Union[CutInEvent, HardBrakeEvent, SpeedProfileEvent, IncidentEvent, LinkLossEvent,
                      SensorFaultEvent, GhostVehicleEvent, InsiderAttackEvent, RevocationEvent]
EVENT_TYPES: dict[str, type] = {
    "cut_in": CutInEvent,
    "hard_brake": HardBrakeEvent,
    "speed_profile": SpeedProfileEvent,
    "incident": IncidentEvent,
    "link_loss": LinkLossEvent,
    "sensor_fault": SensorFaultEvent,
    "ghost_vehicle": GhostVehicleEvent,
    "insider_attack": InsiderAttackEvent,
    "revocation": RevocationEvent,
}


@dataclass(frozen=True)
class CavSpec:
    """A vehicle driven by this stack; same placement fields as :class:`VehicleSpec`."""

    id: str
    type: str
    route: tuple[str, ...]
    depart: float
    depart_lane: int
    depart_pos: float
    depart_speed: float

    def __post_init__(self) -> None:
        _check_route(self.route)
        if self.depart < 0.0 or self.depart_lane < 0 or self.depart_pos < 0.0 or self.depart_speed < 0.0:
            raise ValueError("depart, depart_lane, depart_pos and depart_speed must be >= 0")


@dataclass(frozen=True)
class DetectorSpec:
    """A detector section across every lane of ``edge`` at lane position ``position`` [m]:
    a vehicle is counted when its front bumper passes it (lane throughput, veh/h/lane).

    end_after: the run ends at the step this many vehicles have passed (e.g. the whole of a
    discharging queue: nothing the scenario measures happens after that); None: the run lasts
    its full duration.
    """

    edge: str
    position: float
    end_after: int | None = None

    def __post_init__(self) -> None:
        if self.position < 0.0:
            raise ValueError("position must be >= 0")
        if self.end_after is not None and self.end_after < 2:
            raise ValueError(f"end_after must be >= 2 vehicles (a throughput needs two), got {self.end_after}")


@dataclass(frozen=True)
class DriverSpec:
    """The person in each CAV's seat, as the sim's driver model plays them (sim/driver.py).

    available: awake and able to take over at the start, as the driver monitoring sees them;
    reaction_time: [min, max] [s] from a takeover request to holding the controls, drawn uniformly
    per request from the run's seeded generator; responds: False for a driver the monitoring sees as
    available who still never answers a request (distracted); unavailable_from: time [s] from which
    the driver is unavailable (falls asleep; None: never).
    """

    available: bool
    reaction_time: tuple[float, ...]
    responds: bool = True
    unavailable_from: float | None = None

    def __post_init__(self) -> None:
        if self.unavailable_from is not None and not 0.0 <= self.unavailable_from < math.inf:
            raise ValueError(f"unavailable_from must be a time >= 0 s, got {self.unavailable_from}")
        if len(self.reaction_time) != 2 or not 0.0 <= self.reaction_time[0] <= self.reaction_time[1] < math.inf:
            raise ValueError(f"reaction_time must be [min, max] seconds with 0 <= min <= max, "
                             f"got {list(self.reaction_time)}")


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario (see the module docstring for the YAML schema).

    network_dir: absolute path of the network source directory; source: the YAML file;
    connected_traffic: share [0..1] of background vehicles with V2X (None: the default of
    ``v2x/connected_traffic.yaml``); odd: the CAVs' operating domain (None: the network);
    driver: the person in each CAV's seat (None: seen attentive by the monitoring, never takes over).
    """

    name: str
    description: str
    metrics: tuple[str, ...]
    network: str
    duration: float
    seed: int
    lane_change_duration: float
    vehicle_types: tuple[VehicleTypeSpec, ...]
    demand: DemandSpec
    cavs: tuple[CavSpec, ...]
    events: tuple[ScenarioEvent, ...] = ()
    detector: DetectorSpec | None = None
    connected_traffic: float | None = None
    odd: OperatingDomain | None = None
    driver: DriverSpec | None = None
    source: Path = Path()

    def __post_init__(self) -> None:
        validate_positive(duration=self.duration)
        if not math.isfinite(self.duration):
            raise ValueError("duration must be finite")
        if self.lane_change_duration < 0.0:
            raise ValueError("lane_change_duration must be >= 0")
        if "\n" in self.description.strip() or not self.description.strip():
            raise ValueError("description must be one non-empty line")
        if self.connected_traffic is not None and not 0.0 <= self.connected_traffic <= 1.0:
            raise ValueError(f"connected_traffic must be a share in [0, 1], got {self.connected_traffic}")

    @property
    def network_dir(self) -> Path:
        """Network source directory [absolute path]."""
        path = Path(self.network)
        return path if path.is_absolute() else (self.source.parent / path).resolve()

    def vehicle_type(self, type_id: str) -> VehicleTypeSpec:
        """The vehicle type ``type_id``; KeyError naming the known ones otherwise."""
        for spec in self.vehicle_types:
            if spec.id == type_id:
                return spec
        raise KeyError(f"unknown vehicle type '{type_id}' (known: {', '.join(t.id for t in self.vehicle_types)})")

    def cav(self, cav_id: str) -> CavSpec:
        """The CAV ``cav_id``; KeyError naming the scenario's CAVs otherwise."""
        for spec in self.cavs:
            if spec.id == cav_id:
                return spec
        raise KeyError(f"scenario '{self.name}' has no CAV '{cav_id}' (CAVs: {', '.join(c.id for c in self.cavs)})")

    def events_of(self, event_type: type) -> tuple:
        """The scenario's events of ``event_type`` (e.g. :class:`LinkLossEvent`), in file order."""
        return tuple(e for e in self.events if isinstance(e, event_type))

    def link_loss(self, sender: str, receiver: str, t: float) -> float:
        """Scheduled loss probability [0..1] of a V2X packet from ``sender`` to ``receiver`` at
        time ``t`` [s]: the highest of the :class:`LinkLossEvent` s active for that link, 0 when none.
        The radio model drops a delivery with this probability on top of its own losses."""
        return max((e.loss_at(t) for e in self.events_of(LinkLossEvent)
                    if e.sender == sender and receiver in e.receivers), default=0.0)

    def sensor_dropouts(self, cav_id: str, t: float) -> frozenset[str]:
        """Sensors (kinds or frame IDs, as written) of ``cav_id`` in dropout at time ``t`` [s]."""
        return frozenset(s for e in self.events_of(SensorFaultEvent)
                         if e.cav == cav_id and e.mode == "dropout" and _active(e.time, e.duration, t)
                         for s in e.sensors)

    def active_ghosts(self, t: float) -> tuple[GhostVehicleEvent, ...]:
        """Ghost-vehicle attacks under way at time ``t`` [s]."""
        return tuple(e for e in self.events_of(GhostVehicleEvent) if _active(e.time, e.duration, t))


def _check_route(route: tuple[str, ...]) -> None:
    if not route:
        raise ValueError("route must list at least one edge")


def scenarios_dir() -> Path:
    """Directory holding the scenario YAML files.

    From a source checkout: ``<repo>/scenarios`` next to the package; when installed:
    ``<sys.prefix>/share/cav_stack/scenarios``.
    """
    source_tree = Path(__file__).resolve().parents[2] / "scenarios"
    if source_tree.is_dir():
        return source_tree
    return Path(sys.prefix) / "share" / "cav_stack" / "scenarios"


def list_scenarios() -> list[str]:
    """Names of the scenarios in :func:`scenarios_dir`, sorted."""
    directory = scenarios_dir()
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario by name (from :func:`scenarios_dir`) or from a YAML path.

    Raises :class:`UnknownScenarioError` for an unknown name and
    :class:`~cav_stack.core.params.ParamsError` for a malformed or invalid file.
    """
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text:
        path = Path(name_or_path)
        if not path.is_file():
            raise ParamsError(path, "", "scenario file does not exist")
    else:
        path = scenarios_dir() / f"{text}.yaml"
        if not path.is_file():
            raise UnknownScenarioError(text, list_scenarios())
    return _load_file(path.resolve())


def _load_file(path: Path) -> Scenario:
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise ParamsError(path, "", "expected a mapping at the top level", 1)
    if "source" in data:
        raise ParamsError(path, "source", "unknown parameter", lines.get("source"))
    body = {k: v for k, v in data.items() if k != "events"}
    events = _bind_events(data.get("events", []), path, lines)
    scenario = bind_params(Scenario, body, path, lines)
    scenario = dataclasses.replace(scenario, events=events, source=path)
    if scenario.name != path.stem:
        raise ParamsError(path, "name", f"must equal the file name '{path.stem}'", lines.get("name"))
    _check_references(scenario, path, lines)
    return scenario


def _bind_events(raw: Any, path: Path, lines: dict[str, int]) -> tuple[ScenarioEvent, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ParamsError(path, "events", f"expected a list, got {type(raw).__name__}", lines.get("events"))
    events = []
    for index, item in enumerate(raw):
        key = f"events[{index}]"
        if not isinstance(item, dict) or "type" not in item:
            raise ParamsError(path, key, "expected a mapping with a 'type'", lines.get("events"))
        schema = EVENT_TYPES.get(item["type"])
        if schema is None:
            raise ParamsError(path, f"{key}.type", f"unknown event type '{item['type']}' "
                              f"(known: {', '.join(EVENT_TYPES)})", lines.get(f"{key}.type"))
        fields = {k: v for k, v in item.items() if k != "type"}
        events.append(bind_params(schema, fields, path, lines, key))
    return tuple(events)


def _check_references(scenario: Scenario, path: Path, lines: dict[str, int]) -> None:
    """Cross-field checks: unique IDs, known vehicle types, events naming existing vehicles."""

    def fail(key: str, reason: str) -> ParamsError:
        return ParamsError(path, key, reason, lines.get(key))

    type_ids = [t.id for t in scenario.vehicle_types]
    if len(set(type_ids)) != len(type_ids):
        raise fail("vehicle_types", "duplicate vehicle type IDs")
    groups = [("demand.flows", scenario.demand.flows), ("demand.prefill", scenario.demand.prefill),
              ("demand.vehicles", scenario.demand.vehicles), ("cavs", scenario.cavs)]
    seen: set[str] = set()
    for group, specs in groups:
        for index, spec in enumerate(specs):
            key = f"{group}[{index}]"
            if spec.type not in type_ids:
                raise fail(f"{key}.type", f"unknown vehicle type '{spec.type}' (known: {', '.join(type_ids)})")
            if spec.id in seen:
                raise fail(f"{key}.id", f"duplicate ID '{spec.id}'")
            seen.add(spec.id)
    if scenario.odd is not None and not scenario.odd.bounded:
        raise fail("odd", "lists neither edges nor exits (omit it: the whole network is the domain)")
    named = {v.id for v in scenario.demand.vehicles}
    cav_ids = {c.id for c in scenario.cavs}
    for index, event in enumerate(scenario.events):
        key = f"events[{index}]"
        if isinstance(event, (CutInEvent, HardBrakeEvent, SpeedProfileEvent)):
            _check_background_vehicle(event, key, named, cav_ids, fail)
        if isinstance(event, CutInEvent) and event.target not in cav_ids:
            raise fail(f"{key}.target", f"'{event.target}' is not a CAV of this scenario")
        if isinstance(event, IncidentEvent) and event.vehicle_type not in type_ids:
            raise fail(f"{key}.vehicle_type",
                       f"unknown vehicle type '{event.vehicle_type}' (known: {', '.join(type_ids)})")
        if isinstance(event, LinkLossEvent):
            for field_key, vehicle in [("sender", event.sender)] + [(f"receivers[{i}]", r)
                                                                    for i, r in enumerate(event.receivers)]:
                if vehicle not in cav_ids:
                    raise fail(f"{key}.{field_key}",
                               f"'{vehicle}' is not a CAV of this scenario (only CAVs have radios)")
        if isinstance(event, SensorFaultEvent) and event.cav not in cav_ids:
            raise fail(f"{key}.cav", f"'{event.cav}' is not a CAV of this scenario")
        if isinstance(event, (GhostVehicleEvent, InsiderAttackEvent)) and event.attacker not in cav_ids | named:
            raise fail(f"{key}.attacker", f"'{event.attacker}' is neither a CAV nor a vehicle of demand.vehicles")
        if isinstance(event, InsiderAttackEvent) and event.victim is not None and event.victim not in cav_ids:
            raise fail(f"{key}.victim", f"'{event.victim}' is not a CAV of this scenario")
        if isinstance(event, RevocationEvent) and event.vehicle not in cav_ids | named:
            raise fail(f"{key}.vehicle", f"'{event.vehicle}' is neither a CAV nor a vehicle of demand.vehicles")
        if getattr(event, "time", 0.0) > scenario.duration:
            raise fail(f"{key}.time", "event time is after the scenario's duration")


def _check_background_vehicle(event: CutInEvent | HardBrakeEvent | SpeedProfileEvent, key: str, named: set[str],
                              cav_ids: set[str], fail) -> None:
    vehicle = event.vehicle
    if isinstance(event, HardBrakeEvent) and vehicle.startswith(LEADER_OF_PREFIX):
        if vehicle[len(LEADER_OF_PREFIX):] not in cav_ids:
            raise fail(f"{key}.vehicle", f"'{vehicle}' does not name a CAV of this scenario")
    elif vehicle not in named:
        raise fail(f"{key}.vehicle", f"'{vehicle}' is not a vehicle of demand.vehicles")
