"""Traffic efficiency of a run from ground truth: lane throughput, travel time and fuel.

:class:`TrafficMetrics` observes the world like :class:`~cav_stack.eval.metrics.RunRecorder`
(``observer(truth, commands)`` once per world step) and sums up, over every vehicle in the world:

- lane throughput [veh/h/lane] at the scenario's detector section: a vehicle is counted when its
  front bumper passes ``detector.position`` on ``detector.edge`` (crossing time interpolated
  linearly between steps); throughput = 3600 * (n - 1) / (t_last - t_first) / lanes, i.e. the
  inverse mean headway of the counted vehicles, so it measures the flow the traffic carried while
  it passed, not the demand averaged over the run. A detector with a ``warmup`` counts the flow
  rate of a bottleneck's discharge instead, as the Highway Capacity Manual (6th ed., ch. 4 and 10)
  defines capacity: the vehicles passing a point downstream of the bottleneck while a queue stands
  upstream of it, per hour and lane: throughput = 3600 * n / (t_end - warmup) / lanes, n the
  crossings in [warmup, t_end], t_end the last step of the run; the scenario's demand exceeds the
  capacity for the whole window (``detector_window_s`` in the report);
- travel time [s] of the trips that ended during the run, from the vehicle's first observation to
  the step it left the world: every CAV (they start where the scenario puts them) and every
  background vehicle that departed after the first observed step (pre-populated traffic starts
  mid-route and is not counted); CAVs also separately;
- fuel from SUMO's emission model (``VehicleTruth.fuel_rate`` [kg/s]) per distance driven,
  reported in g/km for all vehicles and for the CAVs.

Rates are integrated with the step between truth stamps (rectangle rule on the newer sample).
"""
from __future__ import annotations

from dataclasses import dataclass

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.world.scenario import DetectorSpec, Scenario
from cav_stack.world.road_map import RoadMap

_SECONDS_PER_HOUR = 3600.0
_G_PER_KG = 1000.0
_M_PER_KM = 1000.0


@dataclass
class _VehicleLog:
    """What is kept of one vehicle: ``order`` of first observation, when it was first seen [s], its
    lane position [m] on ``edge_id`` at the last step, distance [m] and fuel [kg] so far."""

    order: int
    first_seen: float
    departed_during_run: bool
    is_cav: bool
    edge_id: str
    lane_position: float
    distance: float = 0.0
    fuel: float = 0.0
    counted: bool = False


class TrafficMetrics:
    """Observer of the world truth; ``summary()`` gives the JSON-ready efficiency figures.

    detector: where lane throughput is counted (None: throughput is not reported);
    detector_lanes: number of lanes of the detector's edge. ``crossings``: detector crossing
    times [s]; ``completed_trips``: (vehicle ID, travel time [s], is CAV) of every counted trip.
    """

    def __init__(self, detector: DetectorSpec | None, detector_lanes: int = 1):
        if detector_lanes < 1:
            raise ValueError(f"detector_lanes must be >= 1, got {detector_lanes}")
        self.detector = detector
        self.detector_lanes = detector_lanes
        self.crossings: list[float] = []
        self.completed_trips: list[tuple[str, float, bool]] = []
        self._vehicles: dict[str, _VehicleLog] = {}
        self._first_stamp: float | None = None
        self._last_stamp: float | None = None
        self._present: list[str] = []
        """IDs of the vehicles in the world at the last step."""
        self._detector_edge = detector.edge if detector is not None else None

    def __call__(self, truth: WorldTruth, commands: dict) -> None:
        """Record one world step (``commands`` is unused: the signature is the runner's observer's)."""
        del commands
        now = truth.stamp
        if self._first_stamp is None:
            self._first_stamp = now
        dt = now - self._last_stamp if self._last_stamp is not None else 0.0
        present = []
        vehicles = self._vehicles
        for vehicle in truth.vehicles:
            vehicle_id = vehicle.vehicle_id
            present.append(vehicle_id)
            log = vehicles.get(vehicle_id)
            if log is None:
                vehicles[vehicle_id] = _VehicleLog(len(vehicles), now, now > self._first_stamp, vehicle.is_cav,
                                                   vehicle.edge_id, vehicle.lane_position)
                continue
            log.distance += vehicle.speed * dt
            log.fuel += vehicle.fuel_rate * dt
            if not log.counted and vehicle.edge_id == self._detector_edge:
                self._count_crossing(log, vehicle, now, dt)
            log.edge_id, log.lane_position = vehicle.edge_id, vehicle.lane_position
        gone = set(self._present).difference(present)
        for log_id, log in sorted(((i, vehicles[i]) for i in gone), key=lambda item: item[1].order):
            if log.departed_during_run or log.is_cav:
                self.completed_trips.append((log_id, now - log.first_seen, log.is_cav))
        self._present = present
        self._last_stamp = now

    def _count_crossing(self, log: _VehicleLog, vehicle: VehicleTruth, now: float, dt: float) -> None:
        """Count an uncounted vehicle on the detector's edge once it is past the detector."""
        detector = self.detector
        assert detector is not None, "only called with a detector"
        if vehicle.lane_position < detector.position:
            return
        if log.edge_id == detector.edge:
            if log.lane_position >= detector.position:  # already past it when first seen
                log.counted = True
                return
            share = (detector.position - log.lane_position) / (vehicle.lane_position - log.lane_position)
            self.crossings.append(now - dt + share * dt)
        else:
            self.crossings.append(now)
        log.counted = True

    def detector_done(self) -> bool:
        """True once the detector's ``end_after`` vehicles have passed it (never without one)."""
        detector = self.detector
        return detector is not None and detector.end_after is not None and len(self.crossings) >= detector.end_after

    def summary(self) -> dict:
        """Efficiency figures (None where undefined):

        ``cav_share`` (CAVs among the distinct vehicles seen, 0..1: the CAV penetration),
        ``throughput_veh_h_lane``, ``detector_count``, ``detector_window_s`` ([start, end] of the
        counting window of a detector with a warm-up, else None), ``completed_trips``, ``cav_completed_trips``
        (CAVs that reached the end of their route and left the world),
        ``mean_travel_time_s``, ``cav_mean_travel_time_s``, ``fleet_fuel_g_per_km``,
        ``cav_fuel_g_per_km``, ``fleet_distance_km``.
        """
        crossings = sorted(self.crossings)
        throughput = None
        window = None
        warmup = self.detector.warmup if self.detector is not None else None
        if warmup is not None:
            if self._last_stamp is not None and self._last_stamp > warmup:
                window = [warmup, self._last_stamp]
                counted = sum(1 for t in crossings if t >= warmup)
                throughput = _SECONDS_PER_HOUR * counted / (self._last_stamp - warmup) / self.detector_lanes
        elif self.detector is not None and len(crossings) >= 2 and crossings[-1] > crossings[0]:
            throughput = (_SECONDS_PER_HOUR * (len(crossings) - 1) / (crossings[-1] - crossings[0])
                          / self.detector_lanes)
        trips = [t for _, t, _ in self.completed_trips]
        cav_trips = [t for _, t, is_cav in self.completed_trips if is_cav]
        logs = list(self._vehicles.values())
        cav_logs = [log for log in logs if log.is_cav]
        return {
            "cav_share": len(cav_logs) / len(logs) if logs else None,
            "throughput_veh_h_lane": throughput,
            "detector_count": len(crossings) if self.detector is not None else None,
            "detector_window_s": window,
            "completed_trips": len(trips),
            "cav_completed_trips": len(cav_trips),
            "mean_travel_time_s": sum(trips) / len(trips) if trips else None,
            "cav_mean_travel_time_s": sum(cav_trips) / len(cav_trips) if cav_trips else None,
            "fleet_fuel_g_per_km": _per_km(logs),
            "cav_fuel_g_per_km": _per_km(cav_logs),
            "fleet_distance_km": sum(log.distance for log in logs) / _M_PER_KM,
        }


def _per_km(logs: list[_VehicleLog]) -> float | None:
    distance = sum(log.distance for log in logs)
    if distance <= 0.0:
        return None
    return _G_PER_KG * sum(log.fuel for log in logs) / (distance / _M_PER_KM)


def traffic_metrics_for(scenario: Scenario, road_map: RoadMap) -> TrafficMetrics:
    """The observer for ``scenario``: its detector with the lane count of the detector's edge."""
    detector = scenario.detector
    return TrafficMetrics(detector, road_map.lane_count(detector.edge) if detector is not None else 1)
