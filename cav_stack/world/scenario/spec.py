"""The scenario schema: vehicle types, demand, CAVs, detector, driver and the :class:`Scenario` itself.

All values are SI (m, s, m/s, m/s^2); positions along a road are SUMO lane positions [m] from the
start of the edge, of the vehicle's front bumper. The YAML layout is described in
:mod:`cav_stack.world.scenario`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cav_stack.core.params import validate_positive
from cav_stack.world.odd import OperatingDomain
from cav_stack.world.openscenario.storyboard import StoryboardBinding
from cav_stack.world.scenario.events import (GhostVehicleEvent, LinkLossEvent, ScenarioEvent, SensorFaultEvent,
                                             event_active)

_E = TypeVar("_E")

_FLOW_DEPART_LANES = ("random", "free", "best", "allowed", "first")
_FLOW_DEPART_SPEEDS = ("random", "max", "desired", "speedLimit", "avg", "last")


@dataclass(frozen=True)
class VehicleTypeSpec:
    """A SUMO vehicle type (Krauss car following).

    length, width, height: box size [m]; max_speed [m/s]; accel, decel, emergency_decel [m/s^2];
    sigma: driver imperfection [0, 1]; tau: desired time headway [s]; min_gap: standstill gap [m];
    speed_factor, speed_dev: mean and std-dev of the desired speed as a fraction of the limit;
    emission_class: SUMO emission class (fuel model), e.g. ``HBEFA4/PC_petrol_Euro-4``;
    object_class: the class the sensor models see when it differs from ``vclass`` ('' : vclass),
    e.g. ``pedestrian`` for a pedestrian placed as a vClass ``ignoring`` vehicle (OpenSCENARIO).
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
    object_class: str = ""

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
    """A stream of vehicles departing evenly between begin and end [s].

    vehs_per_hour [1/h]; depart_lane: one of random, free, best, allowed, first;
    depart_speed: one of random, max, desired, speedLimit, avg, last (SUMO keywords).
    cav_type: with it, the flow carries CAVs: each of its vehicles is drawn, from the run's seed,
    to be a CAV of type ``cav_type`` with probability ``cav_share`` [0..1] (else it is of ``type``),
    and the stack drives it while it is in the network (:mod:`.flow_share`). Without it the
    flow is background traffic only and ``cav_share`` must be 0.
    """

    id: str
    type: str
    route: tuple[str, ...]
    begin: float
    end: float
    vehs_per_hour: float
    depart_lane: str
    depart_speed: str
    cav_share: float = 0.0
    cav_type: str | None = None

    def __post_init__(self) -> None:
        _check_route(self.route)
        validate_positive(vehs_per_hour=self.vehs_per_hour)
        if not 0.0 <= self.cav_share <= 1.0:
            raise ValueError(f"cav_share must be a share in [0, 1], got {self.cav_share}")
        if self.cav_share > 0.0 and self.cav_type is None:
            raise ValueError("a flow with cav_share > 0 needs cav_type (the CAVs' vehicle type)")
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
class PlacedVehicle:
    """Where a vehicle starts: departs at ``depart`` [s] in lane ``depart_lane`` of the route's first
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
class VehicleSpec(PlacedVehicle):
    """One named background vehicle (placement: :class:`PlacedVehicle`)."""


@dataclass(frozen=True)
class DemandSpec:
    """Background traffic: flows, pre-populated vehicles and named vehicles."""

    flows: tuple[FlowSpec, ...] = ()
    prefill: tuple[PrefillSpec, ...] = ()
    vehicles: tuple[VehicleSpec, ...] = ()


@dataclass(frozen=True)
class CavSpec(PlacedVehicle):
    """A vehicle driven by this stack (placement: :class:`PlacedVehicle`)."""


@dataclass(frozen=True)
class DetectorSpec:
    """A detector section across every lane of ``edge`` at lane position ``position`` [m]:
    a vehicle is counted when its front bumper passes it (lane throughput, veh/h/lane).

    end_after: the run ends at the step this many vehicles have passed (e.g. the whole of a
    discharging queue: nothing the scenario measures happens after that); None: the run lasts
    its full duration. warmup [s]: the throughput is the flow rate counted from this time to the
    end of the run (a bottleneck's queue discharge once the queue has formed); None: the inverse
    mean headway of every vehicle counted (:mod:`cav_stack.eval.traffic_metrics`).
    """

    edge: str
    position: float
    end_after: int | None = None
    warmup: float | None = None

    def __post_init__(self) -> None:
        if self.position < 0.0:
            raise ValueError("position must be >= 0")
        if self.warmup is not None and not 0.0 <= self.warmup < math.inf:
            raise ValueError(f"warmup must be a time >= 0 s, got {self.warmup}")
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
    driver: the person in each CAV's seat (None: seen attentive by the monitoring, never takes over);
    storyboard: an OpenSCENARIO storyboard the world executes for the non-CAV entities
    (:class:`~cav_stack.world.openscenario.storyboard.StoryboardBinding`; None for YAML scenarios).
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
    storyboard: StoryboardBinding | None = None

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
        if self.detector is not None and self.detector.warmup is not None and self.detector.warmup >= self.duration:
            raise ValueError(f"detector.warmup ({self.detector.warmup} s) must end before the duration")

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

    def events_of(self, event_type: type[_E]) -> tuple[_E, ...]:
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
                         if e.cav == cav_id and e.mode == "dropout" and event_active(e.time, e.duration, t)
                         for s in e.sensors)

    def active_ghosts(self, t: float) -> tuple[GhostVehicleEvent, ...]:
        """Ghost-vehicle attacks under way at time ``t`` [s]."""
        return tuple(e for e in self.events_of(GhostVehicleEvent) if event_active(e.time, e.duration, t))


def _check_route(route: tuple[str, ...]) -> None:
    if not route:
        raise ValueError("route must list at least one edge")


