"""Route planner node on the executor clock: the mission first, a re-route in the instant a closure
report arrives, no flip-flopping on repeated reports and periodic re-planning."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from cav_stack.core.messages import MAP_FRAME, EgoState, Header, RoadEventReport, Route
from cav_stack.core.params import load_node_params
from cav_stack.nodes.route_planner_node import RoutePlannerNode, RoutePlannerNodeParams
from cav_stack.world.road_map import RoadMap
from cav_stack.runtime.executor import InProcessExecutor
from cav_stack.runtime.node import LATCHED_QOS, Node
from cav_stack.core.share import share_path
from cav_stack.sim.network_build import build_network
from cav_stack.v2x.messages import ITIS_CLOSED_TO_TRAFFIC, ITIS_INCIDENT

MISSION = ("n00_n10", "n10_n20", "n20_n21", "n21_n22")
SPEED = 10.0
"""Ego speed along n00_n10 [m/s] (eastbound lane centre at y = -1.6 m)."""


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    repo = Path(__file__).resolve().parents[3]
    return RoadMap.from_net_file(build_network(repo / "scenarios" / "networks" / "urban_grid",
                                               tmp_path_factory.mktemp("net")))


def closure(stamp: float, x: float, y: float, yaw: float | None, closed: bool = True) -> RoadEventReport:
    codes = (ITIS_INCIDENT, ITIS_CLOSED_TO_TRAFFIC) if closed else (ITIS_INCIDENT,)
    return RoadEventReport(Header(stamp, MAP_FRAME), 1009, x, y, yaw, codes, closed)


class _Feed(Node):
    """Publishes the mission (latched), the ego driving east on n00_n10 every 50 ms, and the
    scripted reports at their times."""

    node_name = "feed"

    def __init__(self, context, *, reports: dict[float, RoadEventReport]):
        super().__init__(context)
        self._reports = dict(reports)
        self._ego = self.create_publisher(EgoState, "/cav/route_planner/input/ego_state")
        self._events = self.create_publisher(RoadEventReport, "/cav/route_planner/input/road_events")
        mission = self.create_publisher(Route, "/cav/route_planner/input/mission", LATCHED_QOS)
        mission.publish(Route(Header(0.0, MAP_FRAME), MISSION, reason="scenario mission"))
        self.create_timer(0.05, self._tick)

    def _tick(self):
        now = self.now()
        self._ego.publish(EgoState(Header(now, MAP_FRAME), 20.0 + SPEED * now, -1.6, 0.0, SPEED))
        for at in [t for t in self._reports if t <= now + 1e-9]:
            self._events.publish(self._reports.pop(at))


def run(grid, reports: dict[float, RoadEventReport], seconds: float):
    """The routes the planner published (time [s], route) and the node."""
    params = load_node_params(share_path("controllers", "route_planner.yaml"), "route_planner",
                              RoutePlannerNodeParams)
    executor = InProcessExecutor(0)
    routes = []
    executor.add_tap(lambda topic, msg, now: routes.append((round(now, 6), msg))
                     if topic == "/cav/route_planner/output/route" else None)
    executor.add_node(_Feed, reports=reports)
    node = executor.add_node(RoutePlannerNode, namespace="cav", params=params, road_map=grid)
    executor.spin_until(seconds)
    return routes, node


def test_mission_first_then_a_closure_on_it_re_routes_in_the_instant_of_the_report(grid):
    routes, node = run(grid, {3.5: closure(3.49, 501.6, 150.0, math.pi / 2)}, 5.0)
    (t0, mission), (t1, detour) = routes
    assert t0 == 0.0 and mission.edges == MISSION and mission.reason.startswith("mission")
    assert t1 == pytest.approx(3.5)                       # the report's instant, not the next 1 Hz tick
    assert detour.edges == ("n00_n10", "n10_n11", "n11_n21", "n21_n22") and "n20_n21 closed" in detour.reason
    assert detour.expected_travel_time == pytest.approx(sum(grid.edge_length(e) for e in detour.edges) / 13.89,
                                                        rel=0.01)
    assert node.closed_edges == {"n20_n21"}


def test_repeated_reports_and_periodic_replanning_do_not_flip_flop(grid):
    reports = {t: closure(t - 0.01, 501.6, 150.0, math.pi / 2) for t in (3.0, 4.0, 5.0, 6.0, 7.0, 8.0)}
    routes, _ = run(grid, reports, 12.0)
    assert [r.edges for _, r in routes] == [MISSION, ("n00_n10", "n10_n11", "n11_n21", "n21_n22")]


def test_closure_off_the_route_or_an_open_road_changes_nothing(grid):
    reports = {2.0: closure(2.0, 248.4, 400.0, math.pi / 2),         # n11_n12, not on the route
               3.0: closure(3.0, 501.6, 150.0, math.pi / 2, closed=False)}   # incident, road still open
    routes, node = run(grid, reports, 6.0)
    assert [r.edges for _, r in routes] == [MISSION]
    assert node.closed_edges == {"n11_n12"}


def test_a_report_without_direction_closes_both_directions_of_the_street(grid):
    _, node = run(grid, {}, 0.1)
    assert node.edges_at(closure(0.0, 500.0, 150.0, None)) == {"n20_n21", "n21_n20"}
    assert node.edges_at(closure(0.0, 501.6, 150.0, math.pi / 2)) == {"n20_n21"}
    assert node.edges_at(closure(0.0, 380.0, 150.0, None)) == frozenset()    # in a block, on no street
