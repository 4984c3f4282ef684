"""RoadMap against the geometry the network sources define (plain XML coordinates)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cav_stack.world.scenario import scenarios_dir
from cav_stack.world.road_map import RoadMap
from cav_stack.sim.network_build import build_network

LANE_WIDTH_HIGHWAY = 3.6
LANE_WIDTH_ARTERIAL = 3.3


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("net-cache")


@pytest.fixture(scope="module")
def highway(cache):
    return RoadMap.from_net_file(build_network(scenarios_dir() / "networks" / "highway_3lane", cache))


@pytest.fixture(scope="module")
def arterial(cache):
    return RoadMap.from_net_file(build_network(scenarios_dir() / "networks" / "arterial_3tls", cache))


def _polyline_length(points: np.ndarray) -> float:
    return float(np.hypot(*np.diff(points, axis=0).T).sum())


def test_highway_edge_graph(highway):
    assert highway.edges() == ["hw_0", "hw_1", "hw_2", "hw_3"]
    assert highway.successors("hw_1") == ["hw_2"]
    assert highway.successors("hw_3") == []
    assert highway.lane_count("hw_0") == 3
    assert highway.edge_speed_limit("hw_2") == pytest.approx(33.33)
    assert highway.lane_width("hw_0_1") == pytest.approx(LANE_WIDTH_HIGHWAY)
    with pytest.raises(KeyError, match="unknown edge 'nope'"):
        highway.edge_length("nope")


def test_highway_route_centerline_is_the_lane_centre(highway):
    route = ["hw_0", "hw_1", "hw_2", "hw_3"]
    for index in range(3):
        # Lanes are laid out right of the node line (y = 0), rightmost (index 0) outermost.
        expected_y = -(3 - index - 0.5) * LANE_WIDTH_HIGHWAY
        points = highway.route_centerline(route, index)
        assert np.allclose(points[:, 1], expected_y)
        assert points[0, 0] == pytest.approx(0.0) and points[-1, 0] == pytest.approx(3800.0)
        assert np.all(np.diff(points[:, 0]) > 0.0)


def test_route_lane_index_is_clamped(highway):
    route = ["hw_0", "hw_1"]
    assert np.array_equal(highway.route_centerline(route, 7), highway.route_centerline(route, 2))


def test_locate_returns_lane_offset_and_position(highway):
    edge, lane, offset, s = highway.locate(1500.0, -5.0, 0.1)
    assert (edge, lane) == ("hw_1", 1)
    assert offset == pytest.approx(0.4)
    assert s == pytest.approx(500.0)
    edge, lane, offset, _ = highway.locate(250.0, -9.5, 0.0)
    assert (edge, lane) == ("hw_0", 0) and offset == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="no lane runs"):
        highway.locate(1500.0, -5.0, math.pi)


def test_arterial_stop_lines_are_at_the_signal_approaches(arterial):
    route = ["eb_0", "eb_1", "eb_2", "eb_3"]
    stops = arterial.stop_lines(route, 0)
    assert [tls for tls, _, _ in stops] == ["J1", "J2", "J3"]
    # The arterial starts at x = 0 and runs along +x, so s of a stop line is the x of the end of
    # the incoming lane; link 11 is the eastbound right-lane through movement (see the .tll.xml).
    for (_, link, s), edge in zip(stops, route[:-1], strict=True):
        assert link == 11
        assert s == pytest.approx(arterial.lane_centerline(f"{edge}_0")[-1, 0])
    centre = arterial.route_centerline(route, 0)
    assert np.allclose(centre[:, 1], -(2 - 0.5) * LANE_WIDTH_ARTERIAL)


def test_left_turn_follows_internal_lanes_without_jumps(arterial):
    points = arterial.route_centerline(["eb_0", "n1_out"], 1)
    steps = np.hypot(*np.diff(points, axis=0).T)
    junction_steps = steps[(points[:-1, 0] > 390.0) & (points[1:, 1] < 20.0)]
    assert junction_steps.max() < 6.0
    assert points[-1] == pytest.approx([400.0 + LANE_WIDTH_ARTERIAL / 2, 250.0])
    start_heading, end_heading = np.diff(points[:2], axis=0)[0], np.diff(points[-2:], axis=0)[0]
    assert math.atan2(start_heading[1], start_heading[0]) == pytest.approx(0.0, abs=1e-6)
    assert math.atan2(end_heading[1], end_heading[0]) == pytest.approx(math.pi / 2, abs=1e-6)
    assert _polyline_length(points) > 392.0 + 240.0


def test_unconnected_route_is_rejected(arterial):
    with pytest.raises(ValueError, match="not reachable"):
        arterial.route_centerline(["eb_0", "eb_2"], 0)


@pytest.fixture(scope="module")
def ramps(cache):
    return RoadMap.from_net_file(build_network(scenarios_dir() / "networks" / "highway_ramps", cache))


def test_lanes_that_end_on_the_route_are_known(ramps):
    merge_route = ["ramp_in", "main_1", "main_2", "main_3"]
    exit_route = ["main_1", "main_2", "ramp_out"]
    assert not ramps.lane_continues(merge_route, "main_1", 0)          # the acceleration lane
    assert all(ramps.lane_continues(merge_route, "main_1", i) for i in (1, 2, 3))
    assert [ramps.lane_continues(exit_route, "main_2", i) for i in range(3)] == [True, False, False]
    assert ramps.lane_continues(merge_route, "main_3", 2)               # last edge of the route
    assert ramps.lane_continues(merge_route, "main_0", 0)               # not on the route


def test_centerline_of_an_ending_lane_runs_straight_on_instead_of_stepping_sideways(ramps):
    route = ["ramp_in", "main_1", "main_2", "main_3"]
    through = ramps.route_centerline(route, 0)
    ending = ramps.route_centerline(route, 0, lane_ends_on="main_1")
    # from another edge of the route, lane 0 of main_2 (a through lane) is reached as before
    assert np.allclose(ramps.route_centerline(route, 0, lane_ends_on="main_2"), through)
    lane_end_x = ramps.lane("main_1_0").shape[-1][0]
    # Through the junction the default line steps 3.6 m to the left (the nearest connection) ...
    assert through[-1][1] - through[0][1] > 60.0 and np.abs(np.diff(through[:, 1])).max() > 3.0
    # ... the ending line keeps the acceleration lane's y for the run-out past its end.
    tail = ending[ending[:, 0] >= lane_end_x - 1.0]
    assert np.allclose(tail[:, 1], ramps.lane("main_1_0").shape[-1][1], atol=1e-6)
    assert ending[-1][0] == pytest.approx(lane_end_x + 200.0, abs=1e-6)
    headings = np.arctan2(*np.diff(ending, axis=0).T[::-1])
    assert np.abs(np.diff(headings)).max() < 0.1                        # the ramp joins tangentially


def test_centerline_follows_connections_where_the_lane_numbering_shifts(ramps):
    # main_1 adds the acceleration lane as index 0: the left lane is index 2 on main_0 and main_2
    # but index 3 on main_1. Followed through its connections it stays at y = -1.8 m throughout.
    route = ["main_0", "main_1", "main_2", "main_3"]
    from_start = ramps.route_centerline(route, 2)
    assert np.allclose(from_start[:, 1], -1.8, atol=1e-6)
    from_main_1 = ramps.route_centerline(route, 3, lane_edge="main_1")
    assert np.allclose(from_main_1, from_start)
    assert ramps.route_edge_starts(route, 3, lane_edge="main_1") == pytest.approx(ramps.route_edge_starts(route, 2))
