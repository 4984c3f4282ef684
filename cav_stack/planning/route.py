"""Route planning on the road graph with connectivity-informed travel times.

A* over the edge graph of a :class:`~cav_stack.world.road_map.RoadMap`. The cost of an edge is
its expected travel time [s] (length over the best speed estimate: a fresh V2X report of the
edge's speed, else the speed limit), plus the predicted signal delay at its end (from SPaT), or,
with the eco option, a weighted sum of time and an energy proxy. Closed edges (incident reports)
are removed. The heuristic is the straight-line distance over the network's highest speed limit,
so it never overestimates the travel time (A* stays optimal).

Re-planning avoids flip-flopping: a new route replaces the current one only when it is cheaper by
more than a relative and an absolute margin, or when the current one is closed.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from cav_stack.core.params import validate_positive
from cav_stack.world.road_map import RoadMap


class NoRouteError(LookupError):
    """No path exists between the requested edges (or one of them is unknown or closed)."""


@dataclass(frozen=True)
class RoutePlannerParams:
    """report_max_age: V2X speed reports older than this are ignored [s];
    min_speed: floor of any speed estimate [m/s] (a jammed edge is slow, not impassable);
    switch_relative_gain, switch_absolute_gain: a new route must be cheaper by both this fraction
    and this many seconds to replace the current one; eco_energy_weight: seconds of cost per
    kJ/kg of the energy proxy in eco mode (0 disables eco routing)."""

    report_max_age: float
    min_speed: float
    switch_relative_gain: float
    switch_absolute_gain: float
    eco_energy_weight: float

    def __post_init__(self) -> None:
        validate_positive(report_max_age=self.report_max_age, min_speed=self.min_speed)


@dataclass(frozen=True)
class EdgeSpeedReport:
    """A V2X report (RSU or CAV) of the mean speed on an edge [m/s] generated at ``stamp`` [s]."""

    edge_id: str
    speed: float
    stamp: float


@dataclass
class TrafficPicture:
    """What the planner knows about the network now: speed reports, closures, signal delays [s]."""

    speeds: dict[str, EdgeSpeedReport] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    signal_delay: dict[str, float] = field(default_factory=dict)

    def report_speed(self, report: EdgeSpeedReport) -> None:
        current = self.speeds.get(report.edge_id)
        if current is None or report.stamp >= current.stamp:
            self.speeds[report.edge_id] = report


@dataclass(frozen=True)
class PlannedRoute:
    """Edges in travel order with their total cost [s] and the reason it was chosen."""

    edges: tuple[str, ...]
    cost: float
    reason: str


class RoutePlanner:
    """A* route planner over a road map (pure: the caller supplies ``now``)."""

    def __init__(self, road_map: RoadMap, params: RoutePlannerParams, *, eco: bool = False):
        self._map = road_map
        self._params = params
        self._eco = eco and params.eco_energy_weight > 0.0
        self._max_speed = max(road_map.edge_speed_limit(e) for e in road_map.edges())

    def edge_speed(self, edge_id: str, picture: TrafficPicture, now: float) -> float:
        """Best estimate of the speed on ``edge_id`` [m/s] at ``now`` [s]."""
        limit = self._map.edge_speed_limit(edge_id)
        report = picture.speeds.get(edge_id)
        if report is not None and now - report.stamp <= self._params.report_max_age:
            return max(min(report.speed, limit), self._params.min_speed)
        return limit

    def edge_cost(self, edge_id: str, picture: TrafficPicture, now: float) -> float:
        """Cost of traversing ``edge_id``: travel time [s] (+ eco energy term), signal delay included."""
        speed = self.edge_speed(edge_id, picture, now)
        length = self._map.edge_length(edge_id)
        cost = length / speed + picture.signal_delay.get(edge_id, 0.0)
        if self._eco:
            # Energy proxy per unit mass: aerodynamic-like v^2 term over the length [kJ/kg].
            cost += self._params.eco_energy_weight * 1e-3 * 0.5 * speed ** 2 * length / 100.0
        return cost

    def plan(self, start_edge: str, goal_edge: str, picture: TrafficPicture, now: float) -> PlannedRoute:
        """Cheapest route from the start of ``start_edge`` to the end of ``goal_edge``."""
        known = set(self._map.edges())
        for edge in (start_edge, goal_edge):
            if edge not in known:
                raise NoRouteError(f"edge '{edge}' is not in the road map")
            if edge in picture.closed:
                raise NoRouteError(f"edge '{edge}' is closed")
        goal_xy = self._edge_end(goal_edge)
        cost_to = {start_edge: self.edge_cost(start_edge, picture, now)}
        parent: dict[str, str | None] = {start_edge: None}
        frontier = [(cost_to[start_edge] + self._heuristic(start_edge, goal_xy), start_edge)]
        while frontier:
            _, edge = heapq.heappop(frontier)
            if edge == goal_edge:
                return PlannedRoute(self._unwind(parent, goal_edge), cost_to[goal_edge], "cheapest")
            for successor in self._map.successors(edge):
                if successor in picture.closed:
                    continue
                candidate = cost_to[edge] + self.edge_cost(successor, picture, now)
                if candidate < cost_to.get(successor, math.inf) - 1e-9:
                    cost_to[successor] = candidate
                    parent[successor] = edge
                    heapq.heappush(frontier, (candidate + self._heuristic(successor, goal_xy), successor))
        raise NoRouteError(f"no route from '{start_edge}' to '{goal_edge}'")

    def route_cost(self, edges: tuple[str, ...], picture: TrafficPicture, now: float) -> float:
        """Cost [s] of following ``edges`` (infinite when one of them is closed)."""
        if any(edge in picture.closed for edge in edges):
            return math.inf
        return sum(self.edge_cost(edge, picture, now) for edge in edges)

    def replan(self, current: tuple[str, ...], position_index: int, goal_edge: str, picture: TrafficPicture,
               now: float) -> PlannedRoute | None:
        """A better route from the edge at ``position_index`` of ``current``, or None to keep it.

        The remaining part of ``current`` is compared with the cheapest route from the same edge;
        a switch needs the relative and absolute gains of the params (no flip-flopping), unless the
        remaining route is closed.
        """
        remaining = current[position_index:]
        best = self.plan(remaining[0], goal_edge, picture, now)
        current_cost = self.route_cost(remaining, picture, now)
        if best.edges == remaining:
            return None
        if math.isinf(current_cost):
            closed = next(edge for edge in remaining if edge in picture.closed)
            return PlannedRoute(current[:position_index] + best.edges, best.cost, f"edge {closed} closed")
        gain = current_cost - best.cost
        if gain > self._params.switch_absolute_gain and gain > self._params.switch_relative_gain * current_cost:
            return PlannedRoute(current[:position_index] + best.edges, best.cost,
                                f"saves {gain:.0f} s of {current_cost:.0f} s")
        return None

    def _edge_end(self, edge_id: str) -> tuple[float, float]:
        x, y = self._map.lane_centerline(self._map.lane_id(edge_id, 0))[-1]
        return float(x), float(y)

    def _heuristic(self, edge_id: str, goal_xy: tuple[float, float]) -> float:
        x, y = self._edge_end(edge_id)
        return math.hypot(goal_xy[0] - x, goal_xy[1] - y) / self._max_speed

    @staticmethod
    def _unwind(parent: dict[str, str | None], goal: str) -> tuple[str, ...]:
        edges = [goal]
        while (previous := parent[edges[-1]]) is not None:
            edges.append(previous)
        return tuple(reversed(edges))
