"""Route planner node: the mission, the ego's position and V2X road events become the route to drive.

Inputs: ``input/mission`` (Route, latched: the mission; its last edge is the destination),
``input/ego_state`` (EgoState, ``map``, rear axle), ``input/road_events`` (RoadEventReport: RSU
alerts received by the V2X node).
Output: ``output/route`` (Route, latched): the route from the mission's first edge to its
destination. The edges already driven stay at its front, so the path along it does not change
behind the ego; ``reason`` says why it was chosen, ``expected_travel_time`` is its cost [s].

The mission's own route is published first, as it is. After that the planner
(:class:`~cav_stack.planning.route.RoutePlanner`) re-plans every ``1 / rate_hz`` and at once when a
report changes what it knows (an edge newly closed): a re-route is published in the same instant
the report arrives. A new route replaces the current one only when the current one is closed ahead
or the new one is cheaper by both margins of the params (no flip-flopping). A report is matched to
the edge whose lane passes within :data:`MATCH_DISTANCE` of its position in its direction of travel
(every direction when it names none).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from cav_stack.core.messages import MAP_FRAME, EgoState, Header, RoadEventReport, Route
from cav_stack.core.params import validate_positive
from cav_stack.world.road_map import RoadMap
from cav_stack.planning.route import NoRouteError, PlannedRoute, RoutePlanner, RoutePlannerParams, TrafficPicture
from cav_stack.runtime.node import LATCHED_QOS, Node, NodeContext

MATCH_DISTANCE = 5.0
"""Farthest a reported event may lie from a lane's centre line [m] to be on that lane's edge."""
_ANY_DIRECTION = (math.pi / 4, 3 * math.pi / 4, -3 * math.pi / 4, -math.pi / 4)
"""Headings [rad] whose 90-degree cones cover every direction of travel (for reports naming none)."""


@dataclass(frozen=True)
class RoutePlannerNodeParams:
    """rate_hz: periodic re-planning rate [Hz]; net_file: SUMO network of the road map; eco:
    energy-aware costs (``planner.eco_energy_weight``); planner: RoutePlannerParams."""

    rate_hz: float
    net_file: str
    eco: bool
    planner: RoutePlannerParams

    def __post_init__(self) -> None:
        validate_positive(rate_hz=self.rate_hz)


class RoutePlannerNode(Node):
    node_name = "route_planner"
    params_type = RoutePlannerNodeParams
    resource_names = ("road_map",)

    def __init__(self, context: NodeContext, *, road_map: RoadMap | None = None):
        super().__init__(context)
        p = self.params
        self._map = road_map or RoadMap.from_net_file(p.net_file)
        self._planner = RoutePlanner(self._map, p.planner, eco=p.eco)
        self._picture = TrafficPicture()
        self._ego: EgoState | None = None
        self._route: tuple[str, ...] = ()
        self._index = 0
        """Index in ``_route`` of the last normal edge the ego was located on."""
        self._route_pub = self.create_publisher(Route, "output/route", LATCHED_QOS)
        self.create_subscription(Route, "input/mission", self._on_mission, LATCHED_QOS)
        self.create_subscription(EgoState, "input/ego_state", self.keep_latest("_ego"))
        self.create_subscription(RoadEventReport, "input/road_events", self._on_road_event)
        self.create_timer(1.0 / p.rate_hz, self._replan_periodically)

    @property
    def route(self) -> tuple[str, ...]:
        """The route last published (edge IDs in travel order)."""
        return self._route

    @property
    def closed_edges(self) -> frozenset[str]:
        """Edges reported closed so far."""
        return frozenset(self._picture.closed)

    def _on_mission(self, mission: Route) -> None:
        if not mission.edges:
            raise ValueError(f"{self.namespace}: the mission route has no edges")
        self._route, self._index = tuple(mission.edges), 0
        self._publish(PlannedRoute(self._route, self._planner.route_cost(self._route, self._picture, self.now()),
                                   f"mission ({mission.reason})" if mission.reason else "mission"))

    def _on_road_event(self, report: RoadEventReport) -> None:
        if not report.closed:
            return
        edges = self.edges_at(report)
        if not edges:
            self.logger.warning("closure at (%.1f, %.1f) m matches no edge of the map", report.x, report.y)
            return
        newly_closed = edges - self._picture.closed
        if newly_closed:
            self._picture.closed.update(newly_closed)
            self._replan()

    def edges_at(self, report: RoadEventReport) -> frozenset[str]:
        """The edges a report is about: nearest lane in its direction of travel (or in any) within
        :data:`MATCH_DISTANCE` [m]; junction interiors excluded."""
        headings = _ANY_DIRECTION if report.travel_yaw is None else (report.travel_yaw,)
        edges = set()
        for yaw in headings:
            edge, _, lateral, _ = self._map.locate(report.x, report.y, yaw)
            if abs(lateral) <= MATCH_DISTANCE and not edge.startswith(":"):
                edges.add(edge)
        return frozenset(edges)

    def _replan_periodically(self) -> None:
        if self._route:
            self._replan()

    def _replan(self) -> None:
        """Re-plan from where the ego is; publish a route that replaces the current one."""
        if not self._route or self._ego is None:
            return
        now = self.now()
        goal = self._route[-1]
        edge, _, _, _ = self._map.locate(self._ego.x, self._ego.y, self._ego.yaw)
        try:
            if edge.startswith(":"):       # in a junction: committed to the next edge of the route
                start = min(self._index + 1, len(self._route) - 1)
                planned = self._planner.replan(self._route, start, goal, self._picture, now)
            elif edge in self._route[self._index:]:
                self._index = self._route.index(edge, self._index)
                planned = self._planner.replan(self._route, self._index, goal, self._picture, now)
            else:
                best = self._planner.plan(edge, goal, self._picture, now)
                planned = PlannedRoute(best.edges, best.cost, f"off route on {edge}")
        except NoRouteError as exc:
            self.logger.warning("%.2f s: no route to %s, keeping the current one: %s", now, goal, exc)
            return
        if planned is None:
            return
        self._route = planned.edges
        if not edge.startswith(":"):       # (in a junction the edges up to the one left are kept)
            self._index = planned.edges.index(edge)
        self.logger.info("%.2f s: re-routed (%s): %s", now, planned.reason, " ".join(planned.edges))
        self._publish(planned)

    def _publish(self, planned: PlannedRoute) -> None:
        cost = planned.cost if math.isfinite(planned.cost) else 0.0   # a mission already closed ahead
        self._route_pub.publish(Route(Header(self.now(), MAP_FRAME), planned.edges, cost, planned.reason))
