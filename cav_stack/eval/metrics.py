"""Ground-truth metrics of a run: collisions, gaps, time headway, TTC, speed, acceleration, jerk.

Everything here is computed from the world's ground truth (box centres in ``map``), never
from what the stack believed. Leader of a CAV: the nearest vehicle ahead whose centre lies
within ``LEADER_LATERAL_WINDOW`` of the CAV's longitudinal axis and whose heading is within
45 degrees of the CAV's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.eval.steady_following import steady_following_jerk
from cav_stack.world.road_map import RoadMap

LEADER_LATERAL_WINDOW = 1.5
"""Half-width [m] of the corridor ahead of a CAV in which its leader is searched."""
LEADER_RANGE = 150.0
"""Farthest leader [m] (bumper to bumper) considered for headway and TTC."""
HEADWAY_MIN_SPEED = 1.0
"""Below this ego speed [m/s] time headway is not defined and is not recorded."""
STOP_SPEED = 0.5
"""A stop: the speed falls below this [m/s] after the vehicle has moved (see ``MOVING_SPEED``)."""
MOVING_SPEED = 1.0
"""Moving again [m/s]: the speed a vehicle must exceed after a stop before its next stop counts."""
_PREFILTER_MARGIN = 0.01
"""Slack [m] of the array prefilters over the exact collision and leader tests."""


def box_corners(v: VehicleTruth) -> np.ndarray:
    """Corners (4, 2) [m, map] of a vehicle's bounding box."""
    c, s = math.cos(v.yaw), math.sin(v.yaw)
    hl, hw = v.length / 2.0, v.width / 2.0
    local = np.array([[hl, hw], [-hl, hw], [-hl, -hw], [hl, -hw]])
    return local @ np.array([[c, s], [-s, c]]) + np.array([v.x, v.y])


def boxes_overlap(a: VehicleTruth, b: VehicleTruth) -> bool:
    """Separating-axis test of two oriented boxes (touching counts as overlap)."""
    if math.hypot(a.x - b.x, a.y - b.y) > 0.5 * (math.hypot(a.length, a.width) + math.hypot(b.length, b.width)):
        return False
    ca, cb = box_corners(a), box_corners(b)
    for yaw in (a.yaw, b.yaw):
        for axis in (np.array([math.cos(yaw), math.sin(yaw)]), np.array([-math.sin(yaw), math.cos(yaw)])):
            pa, pb = ca @ axis, cb @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True


@dataclass(frozen=True)
class LeaderGap:
    """The leader of a CAV: bumper-to-bumper gap [m], its speed along the CAV's heading [m/s]."""

    vehicle_id: str
    gap: float
    speed: float


def leader_of(ego: VehicleTruth, vehicles: tuple[VehicleTruth, ...]) -> LeaderGap | None:
    """The nearest vehicle ahead of ``ego`` in its lane corridor (see module docstring)."""
    c, s = math.cos(ego.yaw), math.sin(ego.yaw)
    best: LeaderGap | None = None
    for v in vehicles:
        if v.vehicle_id == ego.vehicle_id:
            continue
        dx, dy = v.x - ego.x, v.y - ego.y
        ahead, lateral = c * dx + s * dy, -s * dx + c * dy
        if ahead <= 0.0 or abs(lateral) > LEADER_LATERAL_WINDOW:
            continue
        if math.cos(v.yaw - ego.yaw) < math.cos(math.pi / 4):
            continue
        gap = ahead - 0.5 * (v.length + ego.length)
        if gap > LEADER_RANGE:
            continue
        if best is None or gap < best.gap:
            best = LeaderGap(v.vehicle_id, gap, v.speed * math.cos(v.yaw - ego.yaw))
    return best


class _Neighbours:
    """The vehicles of one truth that may touch a CAV or be its leader, found with array operations
    over every CAV at once, so that the exact tests (:func:`boxes_overlap`, :func:`leader_of`) run
    on a few vehicles only.

    egos: indices in ``vehicles`` of the CAVs present. The array tests are looser than the exact
    ones by ``_PREFILTER_MARGIN`` [m], so rounding never drops a vehicle the exact test would keep;
    candidates keep the truth's order (ties in :func:`leader_of` resolve as over all vehicles)."""

    def __init__(self, vehicles: tuple[VehicleTruth, ...], egos: list[int]):
        self._vehicles = vehicles
        self._row = {ego: row for row, ego in enumerate(egos)}
        geometry = np.array([(v.x, v.y, v.yaw, v.length, v.width) for v in vehicles], dtype=float).reshape(-1, 5)
        x, y, yaw, length = geometry[:, 0], geometry[:, 1], geometry[:, 2], geometry[:, 3]
        half_diagonal = 0.5 * np.hypot(length, geometry[:, 4])
        dx, dy = x[None, :] - x[egos, None], y[None, :] - y[egos, None]
        reach = half_diagonal[None, :] + half_diagonal[egos, None] + _PREFILTER_MARGIN
        self._touching = np.hypot(dx, dy) <= reach
        c, s = np.cos(yaw[egos, None]), np.sin(yaw[egos, None])
        ahead, lateral = c * dx + s * dy, -s * dx + c * dy
        gap = ahead - 0.5 * (length[None, :] + length[egos, None])
        self._ahead = ((ahead > -_PREFILTER_MARGIN) & (np.abs(lateral) <= LEADER_LATERAL_WINDOW + _PREFILTER_MARGIN)
                       & (gap <= LEADER_RANGE + _PREFILTER_MARGIN))

    def _pick(self, mask: np.ndarray) -> tuple[VehicleTruth, ...]:
        return tuple(self._vehicles[i] for i in np.flatnonzero(mask))

    def touching_candidates(self, ego: int) -> tuple[VehicleTruth, ...]:
        """Vehicles whose bounding circles meet vehicle ``ego``'s (itself included)."""
        return self._pick(self._touching[self._row[ego]])

    def leader_candidates(self, ego: int) -> tuple[VehicleTruth, ...]:
        """Vehicles inside vehicle ``ego``'s leader corridor (ahead, within the lateral window and
        the range; itself included)."""
        return self._pick(self._ahead[self._row[ego]])


@dataclass
class CavTrace:
    """Time series of one CAV (SI units), one entry per world step."""

    time: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    yaw: list[float] = field(default_factory=list)
    speed: list[float] = field(default_factory=list)
    accel: list[float] = field(default_factory=list)
    accel_cmd: list[float] = field(default_factory=list)
    steer_cmd: list[float] = field(default_factory=list)
    gap: list[float] = field(default_factory=list)
    leader_speed: list[float] = field(default_factory=list)
    leader_id: list[str] = field(default_factory=list)
    """Vehicle ID of the leader at each step ("" when there is none)."""
    ttc: list[float] = field(default_factory=list)
    headway: list[float] = field(default_factory=list)
    fuel: list[float] = field(default_factory=list)
    fallback: list[bool] = field(default_factory=list)
    left_at: float | None = None
    """Time [s] the CAV left the world (end of its route); None while it is in it."""
    last_edge: str = ""
    """The last road edge (not a junction interior) the CAV was on."""
    merge_needed_at: float | None = None
    """Time [s] the CAV first drove in a lane that ends on its route (an acceleration lane, a lane
    that does not lead to its exit): from then on a lane change is mandatory. None: never."""
    merged_at: float | None = None
    """Time [s] the CAV was first in a lane leading on along its route after ``merge_needed_at``."""

    def jerk(self) -> np.ndarray:
        """Jerk [m/s^3] by finite differences of the acceleration."""
        if len(self.time) < 2:
            return np.zeros(0)
        return np.diff(np.asarray(self.accel)) / np.diff(np.asarray(self.time))


def count_stops(speed: list[float]) -> int:
    """Stops in a speed series [m/s]: falls below ``STOP_SPEED`` after exceeding ``MOVING_SPEED``
    (a vehicle standing at the start has not stopped; creeping in between is one stop)."""
    stops, moving = 0, False
    for v in speed:
        if moving and v < STOP_SPEED:
            stops, moving = stops + 1, False
        elif v > MOVING_SPEED:
            moving = True
    return stops


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def summarise_cav(trace: CavTrace, destination: str | None = None) -> dict:
    """JSON-ready safety and motion figures of one CAV (NaN-free; None where undefined).

    destination: edge the CAV's trip ends on; its route is completed when it left the world from
    that edge (None: when it left the world at all). steady_following_jerk_rms_mps3 and
    steady_following_s: jerk rms over the steady-following time (:mod:`steady_following`)."""
    gap = np.asarray(trace.gap, dtype=float)
    ttc = np.asarray(trace.ttc, dtype=float)
    headway = np.asarray(trace.headway, dtype=float)
    jerk = np.abs(trace.jerk())
    accel = np.abs(np.asarray(trace.accel, dtype=float))
    with_leader = headway[np.isfinite(headway)]
    dt = np.diff(np.asarray(trace.time)) if len(trace.time) > 1 else np.zeros(0)
    steady_jerk, steady_s = steady_following_jerk(trace.time, trace.speed, trace.leader_speed, trace.accel)
    return {
        "min_ttc_s": _finite_or_none(np.nanmin(ttc)) if np.isfinite(ttc).any() else None,
        "min_gap_m": _finite_or_none(np.nanmin(gap)) if np.isfinite(gap).any() else None,
        "min_time_headway_s": float(with_leader.min()) if with_leader.size else None,
        "mean_time_headway_s": float(with_leader.mean()) if with_leader.size else None,
        "mean_speed_mps": float(np.mean(trace.speed)) if trace.speed else 0.0,
        "max_abs_accel_mps2": float(accel.max()) if accel.size else 0.0,
        "p99_abs_jerk_mps3": float(np.percentile(jerk, 99)) if jerk.size else 0.0,
        "steady_following_jerk_rms_mps3": steady_jerk,
        "steady_following_s": steady_s,
        "distance_m": float(np.sum(np.asarray(trace.speed[1:]) * dt)) if dt.size else 0.0,
        "fuel_kg": float(np.sum(np.asarray(trace.fuel[1:]) * dt)) if dt.size else 0.0,
        "fallback_steps": int(np.sum(trace.fallback)),
        "stops": count_stops(trace.speed),
        "route_completed": trace.left_at is not None and destination in (None, trace.last_edge),
        "travel_time_s": trace.left_at - trace.time[0] if trace.left_at is not None and trace.time else None,
        "merge_needed_s": trace.merge_needed_at,
        "merge_time_s": None if trace.merged_at is None or trace.merge_needed_at is None
        else trace.merged_at - trace.merge_needed_at,
    }


class RunRecorder:
    """Observer of the world: collects CAV traces, collisions and vehicle counts from truth.

    destinations: the edge each CAV's trip ends on (for ``route_completed``); routes: each CAV's
    route (edges), for the merge time once :meth:`watch_lanes` has the road map; entering: CAVs that
    may appear during the run (flows with a CAV share): each gets its trace, in the order they
    appear, when first seen in the world (one never seen has none)."""

    def __init__(self, cav_ids: tuple[str, ...], destinations: dict[str, str] | None = None,
                 routes: dict[str, tuple[str, ...]] | None = None, entering: frozenset[str] = frozenset()):
        self.cav_ids = cav_ids
        self.destinations = dict(destinations or {})
        self.routes = dict(routes or {})
        self._map: RoadMap | None = None
        self.traces = {cav_id: CavTrace() for cav_id in cav_ids}
        self._entering = set(entering) - set(cav_ids)
        self._watched = list(cav_ids)
        self.collisions: list[dict] = []
        self.max_vehicles = 0
        self.vehicle_ids_seen: set[str] = set()
        self._touching: set[tuple[str, str]] = set()

    def watch_lanes(self, road_map: RoadMap) -> None:
        """Record when each CAV with a route must change lanes and when it has (``merge_time_s``),
        from its SUMO lane on ``road_map`` (:meth:`RoadMap.lane_continues`)."""
        self._map = road_map

    def _track_merge(self, trace: CavTrace, ego: VehicleTruth, stamp: float) -> None:
        route = self.routes.get(ego.vehicle_id)
        if self._map is None or route is None or ego.edge_id.startswith(":") or trace.merged_at is not None:
            return
        leads_on = self._map.lane_continues(route, ego.edge_id, ego.lane_index)
        if not leads_on and trace.merge_needed_at is None:
            trace.merge_needed_at = stamp
        elif leads_on and trace.merge_needed_at is not None:
            trace.merged_at = stamp

    def __call__(self, truth: WorldTruth, commands: dict) -> None:
        vehicles = truth.vehicles
        self.max_vehicles = max(self.max_vehicles, len(vehicles))
        index = {v.vehicle_id: i for i, v in enumerate(vehicles)}
        self.vehicle_ids_seen.update(index)
        if self._entering:
            for vehicle_id in sorted(self._entering.intersection(index)):
                self._entering.discard(vehicle_id)
                self.traces[vehicle_id] = CavTrace()
                self._watched.append(vehicle_id)
        near = _Neighbours(vehicles, [index[cav_id] for cav_id in self._watched if cav_id in index])
        touching: set[tuple[str, str]] = set()
        finished = []
        for cav_id in self._watched:
            position = index.get(cav_id)
            if position is None:
                trace = self.traces[cav_id]
                if trace.time and trace.left_at is None:
                    trace.left_at = truth.stamp
                    if cav_id not in self.cav_ids:
                        finished.append(cav_id)     # an entering CAV leaves for good
                continue
            ego = vehicles[position]
            for other in near.touching_candidates(position):
                if other.vehicle_id != ego.vehicle_id and boxes_overlap(ego, other):
                    first, second = sorted((ego.vehicle_id, other.vehicle_id))
                    touching.add((first, second))
            self._record(self.traces[cav_id], truth.stamp, ego, near.leader_candidates(position),
                         commands.get(cav_id))
            self._track_merge(self.traces[cav_id], ego, truth.stamp)
        for pair in sorted(touching - self._touching):
            self.collisions.append({"time_s": truth.stamp, "vehicles": list(pair)})
        self._touching = touching
        if finished:
            self._watched = [cav_id for cav_id in self._watched if cav_id not in finished]

    @staticmethod
    def _record(trace: CavTrace, stamp: float, ego: VehicleTruth, candidates: tuple[VehicleTruth, ...],
                command) -> None:
        leader = leader_of(ego, candidates)
        trace.time.append(stamp)
        if not ego.edge_id.startswith(":"):
            trace.last_edge = ego.edge_id
        trace.x.append(ego.x)
        trace.y.append(ego.y)
        trace.yaw.append(ego.yaw)
        trace.speed.append(ego.speed)
        trace.accel.append(ego.accel)
        trace.accel_cmd.append(command.accel if command else 0.0)
        trace.steer_cmd.append(command.steer if command else 0.0)
        trace.fallback.append(bool(command.fallback) if command else False)
        trace.fuel.append(ego.fuel_rate)
        trace.leader_id.append("" if leader is None else leader.vehicle_id)
        if leader is None:
            trace.gap.append(math.nan)
            trace.leader_speed.append(math.nan)
            trace.ttc.append(math.nan)
            trace.headway.append(math.nan)
            return
        closing = ego.speed - leader.speed
        trace.gap.append(leader.gap)
        trace.leader_speed.append(leader.speed)
        trace.ttc.append(max(leader.gap, 0.0) / closing if closing > 1e-3 else math.nan)
        trace.headway.append(max(leader.gap, 0.0) / ego.speed if ego.speed > HEADWAY_MIN_SPEED else math.nan)
