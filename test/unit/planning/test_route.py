"""Route planning on a real SUMO network: optimality against scipy's Dijkstra, closures, re-planning."""
from itertools import pairwise
import math

import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from cav_stack.world.road_map import RoadMap
from cav_stack.planning.route import EdgeSpeedReport, NoRouteError, RoutePlanner, RoutePlannerParams, TrafficPicture
from cav_stack.sim.network_build import build_network

PARAMS = RoutePlannerParams(report_max_age=120.0, min_speed=1.4, switch_relative_gain=0.1,
                            switch_absolute_gain=15.0, eco_energy_weight=2.0)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    repo = __import__("pathlib").Path(__file__).resolve().parents[3]
    net = build_network(repo / "scenarios" / "networks" / "urban_grid", tmp_path_factory.mktemp("net"))
    return RoadMap.from_net_file(net)


def reference_cost(road_map, planner, picture, start, goal, now):
    """Cheapest cost by scipy's Dijkstra on the line graph (edge -> successor edge)."""
    edges = road_map.edges()
    index = {e: i for i, e in enumerate(edges)}
    rows, cols, weights = [], [], []
    for e in edges:
        for succ in road_map.successors(e):
            if succ in picture.closed or e in picture.closed:
                continue
            rows.append(index[e])
            cols.append(index[succ])
            weights.append(planner.edge_cost(succ, picture, now))
    graph = csr_matrix((weights, (rows, cols)), shape=(len(edges), len(edges)))
    distances = dijkstra(graph, indices=index[start])
    return distances[index[goal]] + planner.edge_cost(start, picture, now)


def test_free_flow_route_is_optimal(grid):
    planner = RoutePlanner(grid, PARAMS)
    picture = TrafficPicture()
    route = planner.plan("n00_n10", "n12_n22", picture, 0.0)
    assert route.edges[0] == "n00_n10" and route.edges[-1] == "n12_n22"
    for a, b in pairwise(route.edges):
        assert b in grid.successors(a)
    assert route.cost == pytest.approx(reference_cost(grid, planner, picture, "n00_n10", "n12_n22", 0.0))


def test_v2x_speed_reports_and_closures_steer_the_route(grid):
    planner = RoutePlanner(grid, PARAMS)
    picture = TrafficPicture()
    free = planner.plan("n00_n10", "n21_n22", picture, 0.0)
    jammed_edge = free.edges[1]
    picture.report_speed(EdgeSpeedReport(jammed_edge, 1.0, stamp=0.0))
    slow = planner.plan("n00_n10", "n21_n22", picture, 10.0)
    assert jammed_edge not in slow.edges
    assert slow.cost == pytest.approx(reference_cost(grid, planner, picture, "n00_n10", "n21_n22", 10.0))
    aged = planner.plan("n00_n10", "n21_n22", picture, 10.0 + PARAMS.report_max_age + 1.0)
    assert aged.cost == pytest.approx(free.cost)      # stale report ignored
    picture.closed.add(slow.edges[1])
    detour = planner.plan("n00_n10", "n21_n22", picture, 10.0)
    assert slow.edges[1] not in detour.edges


def test_replan_keeps_route_for_small_gains_and_switches_on_closure(grid):
    planner = RoutePlanner(grid, PARAMS)
    picture = TrafficPicture()
    route = planner.plan("n00_n10", "n21_n22", picture, 0.0).edges
    picture.report_speed(EdgeSpeedReport(route[2], 10.0, stamp=0.0))    # mildly slower: not worth it
    assert planner.replan(route, 0, "n21_n22", picture, 1.0) is None
    picture.closed.add(route[2])
    new = planner.replan(route, 1, "n21_n22", picture, 1.0)
    assert new is not None and route[2] not in new.edges and new.edges[:2] == route[:2]
    assert "closed" in new.reason


def test_unknown_or_closed_edges_are_clear_errors(grid):
    planner = RoutePlanner(grid, PARAMS)
    with pytest.raises(NoRouteError, match="not in the road map"):
        planner.plan("nowhere", "n21_n22", TrafficPicture(), 0.0)
    with pytest.raises(NoRouteError, match="closed"):
        planner.plan("n00_n10", "n21_n22", TrafficPicture(closed={"n21_n22"}), 0.0)


def test_eco_routing_prefers_slower_streets_when_time_is_close(grid):
    picture = TrafficPicture()
    fast = RoutePlanner(grid, PARAMS).plan("n00_n10", "n21_n22", picture, 0.0)
    eco_planner = RoutePlanner(grid, PARAMS, eco=True)
    eco = eco_planner.plan("n00_n10", "n21_n22", picture, 0.0)
    assert eco.cost >= fast.cost
    assert math.isfinite(eco.cost)
