"""Scripted scenario events: what happens to the traffic, the radio, the sensors and the V2X air.

Each event is a frozen dataclass bound from one item of a scenario's ``events:`` list (its ``type``
picks the class in :data:`EVENT_TYPES`). Times [s] are simulation time; distances [m]; speeds [m/s].
"""
from __future__ import annotations

from itertools import pairwise
import math
from dataclasses import dataclass

from cav_stack.core.params import validate_positive


def _check_range(name: str, bounds: tuple[float, ...] | None) -> None:
    if bounds is None:
        return
    if len(bounds) != 2 or not all(math.isfinite(b) for b in bounds) or bounds[0] > bounds[1]:
        raise ValueError(f"{name} must be [min, max] with finite min <= max, got {list(bounds)}")


@dataclass(frozen=True)
class EventExpectation:
    """What a scripted event must have made at its start for the run to pass: each key an
    inclusive [min, max] range of one figure measured then (:mod:`.situation`): ``gap_m`` [m]
    from the concerned CAV's front bumper to the acting vehicle (negative behind the CAV),
    ``ttc_s`` [s] between them (a range with a TTC requires a closing pair), ``speed_mps`` [m/s]
    of the acting vehicle, ``cav_speed_mps`` [m/s] of the CAV, ``cav_lane`` the CAV's lane index
    on its edge (0: the rightmost). Omitted keys are not checked."""

    gap_m: tuple[float, ...] | None = None
    ttc_s: tuple[float, ...] | None = None
    speed_mps: tuple[float, ...] | None = None
    cav_speed_mps: tuple[float, ...] | None = None
    cav_lane: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        for name in EXPECTATION_KEYS:
            _check_range(name, getattr(self, name))
        if all(getattr(self, name) is None for name in EXPECTATION_KEYS):
            raise ValueError(f"states no expectation (keys: {', '.join(EXPECTATION_KEYS)})")

    def violations(self, measured: dict[str, float | None]) -> list[str]:
        """Why ``measured`` (figure name -> value, None when undefined) misses this expectation;
        empty when it meets it."""
        misses = []
        for name in EXPECTATION_KEYS:
            bounds = getattr(self, name)
            if bounds is None:
                continue
            value = measured.get(name)
            if value is None:
                misses.append(f"{name} undefined, expected in [{bounds[0]:g}, {bounds[1]:g}]")
            elif not bounds[0] <= value <= bounds[1]:
                misses.append(f"{name} {value:.2f} outside [{bounds[0]:g}, {bounds[1]:g}]")
        return misses


#: The figures an :class:`EventExpectation` can bound, as named in the report's ``events``.
EXPECTATION_KEYS = ("gap_m", "ttc_s", "speed_mps", "cav_speed_mps", "cav_lane")


@dataclass(frozen=True, kw_only=True)
class ScriptedEvent:
    """What every scripted event has: ``expect``, the situation its start must make (optional)."""

    expect: EventExpectation | None = None


@dataclass(frozen=True)
class CutInEvent(ScriptedEvent):
    """A background vehicle cuts into the lane of ``target`` (a CAV), ``gap`` [m] ahead of it,
    wherever the CAV drives: the trigger is relative to the CAV, as OpenSCENARIO's relative
    conditions are, so every controller faces the same situation.

    At ``time - approach`` [s] the vehicle is placed (SUMO ``moveTo``, as OpenSCENARIO's
    TeleportAction) in a lane next to the CAV's, on its edge, in the first free slot from ``gap``
    ahead of the CAV forwards (clearances in :mod:`cav_stack.sim.sumo_events`), at the CAV's
    speed; it is placed so again, at most every 3 s, whenever it has fallen behind its spot (more
    than ``tolerance`` short of ``gap``, e.g. blocked by traffic in its lane); in dense traffic
    the cut-in may so start one step after a placement. From ``time - approach`` only its type's ``max_speed`` caps its
    speed (not the speed limit times its speed factor).
    From then on it is steered into position: when it is not in a lane
    adjacent to the CAV's current lane (same edge), it changes lanes towards the adjacent lane
    nearest to it, one lane at a time, each change lasting the scenario's
    ``lane_change_duration``; its speed is commanded so that the gap from the CAV's front bumper
    to its rear bumper, along the CAV's heading, converges to ``gap`` [m] at the CAV's speed: the
    closing speed is min(|error| / (approach / 4), sqrt(accel * |error|)), i.e. first order with
    4 time constants per approach, capped so that braking to zero relative speed needs half the
    vehicle type's ``accel``. The cut-in starts at the first step from ``time`` [s] at which the
    vehicle is in a lane adjacent to the CAV's, not changing lanes, and its gap is within
    ``tolerance`` [m] of ``gap``: it changes into the CAV's lane at the CAV's speed and, once the
    lane change is over, keeps ``speed_after`` [m/s]. When that situation has not come by
    ``time + timeout`` [s] the cut-in does not happen (the report says so). The vehicle makes no
    lane changes of its own during the scenario.
    """

    time: float
    vehicle: str
    target: str
    gap: float
    approach: float
    speed_after: float
    tolerance: float = 2.0
    timeout: float = 20.0

    def __post_init__(self) -> None:
        validate_positive(time=self.time, gap=self.gap, approach=self.approach, tolerance=self.tolerance,
                          timeout=self.timeout)
        if self.approach > self.time:
            raise ValueError("approach must be <= time")
        if self.speed_after < 0.0:
            raise ValueError("speed_after must be >= 0")


@dataclass(frozen=True)
class HardBrakeEvent(ScriptedEvent):
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
class SpeedProfileEvent(ScriptedEvent):
    """A background vehicle follows a speed profile: ``points`` are [time s, speed m/s] pairs,
    linearly interpolated between the first and last time, the last speed held afterwards.
    Before the first time the vehicle drives freely. SUMO's safety checks stay active.
    ``cav``: the CAV whose situation at the start ``expect`` bounds (None: the CAV nearest to the
    vehicle then)."""

    vehicle: str
    points: tuple[tuple[float, ...], ...]
    cav: str | None = None

    def __post_init__(self) -> None:
        if len(self.points) < 1 or any(len(p) != 2 for p in self.points):
            raise ValueError("points must be a non-empty list of [time, speed] pairs")
        times = [p[0] for p in self.points]
        if any(b <= a for a, b in pairwise(times)) or times[0] < 0.0:
            raise ValueError("point times must be >= 0 and strictly increasing")
        if any(p[1] < 0.0 for p in self.points):
            raise ValueError("speeds must be >= 0")

    @property
    def change_time(self) -> float:
        """Time [s] at which the commanded speed first changes (the start of the first segment
        whose two speeds differ); the first point's time when it never changes."""
        for (t0, v0), (_, v1) in pairwise(self.points):
            if v1 != v0:
                return t0
        return self.points[0][0]

    def speed_at(self, t: float) -> float | None:
        """Commanded speed [m/s] at time ``t`` [s]; None before the profile starts."""
        if t < self.points[0][0]:
            return None
        for (t0, v0), (t1, v1) in pairwise(self.points):
            if t <= t1:
                return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
        return self.points[-1][1]


@dataclass(frozen=True)
class IncidentEvent(ScriptedEvent):
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


def event_active(time: float, duration: float | None, t: float) -> bool:
    return time <= t and (duration is None or t < time + duration)


@dataclass(frozen=True)
class LinkLossEvent(ScriptedEvent):
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
        if not event_active(self.time, self.duration, t):
            return 0.0
        return self.loss_start + (self.loss_end - self.loss_start) * (t - self.time) / self.duration


SENSOR_FAULT_MODES = ("dropout",)
"""``dropout``: the sensor delivers no frames at all while the fault lasts."""


@dataclass(frozen=True)
class SensorFaultEvent(ScriptedEvent):
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
class GhostVehicleEvent(ScriptedEvent):
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
class InsiderAttackEvent(ScriptedEvent):
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
class RevocationEvent(ScriptedEvent):
    """At ``time`` [s] the CRL authority publishes a revocation list naming every pseudonym
    certificate of ``vehicle``; receivers refuse its messages from then on."""

    time: float
    vehicle: str

    def __post_init__(self) -> None:
        _check_window(self.time, None)


ScenarioEvent = (CutInEvent | HardBrakeEvent | SpeedProfileEvent | IncidentEvent | LinkLossEvent
                 | SensorFaultEvent | GhostVehicleEvent | InsiderAttackEvent | RevocationEvent)
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
