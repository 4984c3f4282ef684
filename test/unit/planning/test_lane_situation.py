"""Lane situation on the real networks: neighbours per lane, the lane change to make (mandatory where
the lane ends on the route, discretionary by MOBIL), when a lane change is over or given up, and
the stop before the end of an ending lane."""
from __future__ import annotations

import pytest

from cav_stack.control.idm_baseline import IdmParams
from cav_stack.core.messages import Header, TrackedObject, TrackList
from cav_stack.core.path import Polyline
from cav_stack.planning.lane_change import MobilParams
from cav_stack.planning.lane_situation import LANE_END_STOP_MARGIN, LaneChangeStart, LaneSituation, path_coordinates
from cav_stack.sim.network_build import build_network
from cav_stack.world.road_map import RoadMap
from cav_stack.world.scenario import scenarios_dir

EGO_LENGTH = 4.6
IDM = IdmParams(30.0, 1.5, 2.0, 1.5, 2.0, 8.0, 4.0, 1.0, 6.0)
MOBIL = MobilParams(politeness=0.3, threshold=0.2, safe_decel=3.0, min_gap=5.0)
LANE_END_DECEL = 3.0
LANE_CHANGE_DURATION = 4.0
HIGHWAY = ("hw_0", "hw_1", "hw_2", "hw_3")        # 3 lanes, centres at y = -9.0, -5.4, -1.8 m
RAMP_ROUTE = ("ramp_in", "main_1", "main_2", "main_3")   # main_1 lane 0 (y = -12.6 m) ends at x = 1246 m


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    cache = tmp_path_factory.mktemp("net-cache")
    return {name: RoadMap.from_net_file(build_network(scenarios_dir() / "networks" / name, cache))
            for name in ("highway_3lane", "highway_ramps")}


def situation(road_map: RoadMap) -> LaneSituation:
    return LaneSituation(road_map, EGO_LENGTH, IDM, MOBIL, LANE_END_DECEL, LANE_CHANGE_DURATION)


def car(track_id: int, x: float, y: float, speed: float, length: float = 4.5) -> TrackedObject:
    return TrackedObject(track_id=track_id, x=x, y=y, yaw=0.0, speed=speed, length=length, width=1.8)


def objects(*cars: TrackedObject) -> TrackList:
    return TrackList(Header(0.0, "map"), tuple(cars))


def lane_path(road_map: RoadMap, route: tuple[str, ...], lane: int) -> Polyline:
    return Polyline(road_map.route_centerline(route, lane))


def test_neighbours_are_the_nearest_cars_in_that_lane_bumper_to_bumper(maps):
    lanes = situation(maps["highway_3lane"])
    path = lane_path(maps["highway_3lane"], HIGHWAY, 1)           # ego in the middle lane at x = 500
    s_ego, _, _ = path.project(500.0, -5.4)
    around = objects(car(1, 540.0, -5.4, 20.0), car(2, 600.0, -5.4, 25.0),    # own lane ahead
                     car(3, 470.0, -1.8, 28.0),                               # left lane behind
                     car(4, 520.0, -9.0, 22.0))                               # right lane ahead
    s_obj, d_obj = path_coordinates(path, around)
    own = lanes.neighbours(s_obj, d_obj, s_ego, 0.0, 3.6, around)
    assert own.front_gap == pytest.approx(40.0 - 0.5 * (4.5 + EGO_LENGTH)) and own.front_speed == 20.0
    assert own.rear_gap is None
    left = lanes.neighbours(s_obj, d_obj, s_ego, 3.6, 3.6, around)
    assert left.front_gap is None and left.rear_gap == pytest.approx(30.0 - 0.5 * (4.5 + EGO_LENGTH))
    right = lanes.neighbours(s_obj, d_obj, s_ego, -3.6, 3.6, around)
    assert right.front_speed == 22.0 and right.rear_gap is None


def test_slow_leader_and_free_neighbour_lane_gives_a_discretionary_change(maps):
    road = maps["highway_3lane"]
    lanes, path = situation(road), lane_path(road, HIGHWAY, 1)
    s_ego, _, _ = path.project(500.0, -5.4)
    slow = objects(car(1, 530.0, -5.4, 15.0))
    option = lanes.lane_option(HIGHWAY, path, s_ego, 28.0, slow, "hw_0", 1, discretionary=True,
                               leader_connected=False)
    assert option is not None and not option.mandatory and abs(option.lane_offset) == pytest.approx(3.6)
    assert option.incentive > MOBIL.threshold
    assert lanes.lane_option(HIGHWAY, path, s_ego, 28.0, slow, "hw_0", 1, discretionary=False,
                             leader_connected=False) is None          # discretionary changes off
    assert lanes.lane_option(HIGHWAY, path, s_ego, 28.0, slow, "hw_0", 1, discretionary=True,
                             leader_connected=True) is None           # a connected leader is followed
    assert lanes.lane_option(HIGHWAY, path, s_ego, 28.0, slow, ":junction_0", 1, discretionary=True,
                             leader_connected=False) is None          # never on a junction


def test_blocked_neighbour_lanes_give_no_change(maps):
    road = maps["highway_3lane"]
    lanes, path = situation(road), lane_path(road, HIGHWAY, 1)
    s_ego, _, _ = path.project(500.0, -5.4)
    boxed_in = objects(car(1, 530.0, -5.4, 15.0), car(2, 503.0, -1.8, 28.0), car(3, 498.0, -9.0, 28.0))
    assert lanes.lane_option(HIGHWAY, path, s_ego, 28.0, boxed_in, "hw_0", 1, discretionary=True,
                             leader_connected=False) is None


def test_ending_acceleration_lane_gives_a_mandatory_change_to_the_left_once_safe(maps):
    road = maps["highway_ramps"]
    lanes, path = situation(road), lane_path(road, RAMP_ROUTE, 0)
    s_ego, _, _ = path.project(1100.0, -12.6)
    option = lanes.lane_option(RAMP_ROUTE, path, s_ego, 20.0, objects(), "main_1", 0, discretionary=False,
                               leader_connected=False)
    assert option is not None and option.mandatory and option.lane_offset == pytest.approx(3.6)
    beside = objects(car(1, 1101.0, -9.0, 20.0))                   # a car right beside it: not safe
    assert lanes.lane_option(RAMP_ROUTE, path, s_ego, 20.0, beside, "main_1", 0, discretionary=False,
                             leader_connected=False) is None


def test_blocked_mandatory_change_seeks_a_gap_slower_than_the_lane_to_merge_into(maps):
    road = maps["highway_ramps"]
    lanes, path = situation(road), lane_path(road, RAMP_ROUTE, 0)
    s_ego, _, _ = path.project(1100.0, -12.6)
    beside = objects(car(1, 1101.0, -9.0, 22.0), car(2, 1070.0, -9.0, 21.0))   # ahead (just), behind
    assert lanes.gap_seeking_speed(RAMP_ROUTE, path, s_ego, beside, "main_1", 0, 2.0) == pytest.approx(20.0)
    behind_only = objects(car(2, 1095.0, -9.0, 21.0))
    assert lanes.gap_seeking_speed(RAMP_ROUTE, path, s_ego, behind_only, "main_1", 0, 2.0) == pytest.approx(19.0)
    jammed = objects(car(1, 1101.0, -9.0, 1.0))
    assert lanes.gap_seeking_speed(RAMP_ROUTE, path, s_ego, jammed, "main_1", 0, 2.0) == 0.0   # never negative
    assert lanes.gap_seeking_speed(RAMP_ROUTE, path, s_ego, objects(), "main_1", 0, 2.0) is None   # nobody there
    through = lane_path(road, RAMP_ROUTE, 1)                     # the lane leads on: nothing to seek
    s_through, _, _ = through.project(1100.0, -9.0)
    assert lanes.gap_seeking_speed(RAMP_ROUTE, through, s_through, beside, "main_1", 1, 2.0) is None


def test_lane_change_is_over_when_centred_in_the_other_lane_or_given_up(maps):
    road = maps["highway_3lane"]
    lanes, path = situation(road), lane_path(road, HIGHWAY, 1)
    s_ego, _, _ = path.project(500.0, -5.4)
    start = LaneChangeStart(lane_index=1, time=10.0, offset=3.6)
    free = objects()
    assert not lanes.lane_change_over(None, 11.0, 1, 0.0, path, s_ego, 28.0, free, "hw_0")
    assert not lanes.lane_change_over(start, 11.0, 1, 1.0, path, s_ego, 28.0, free, "hw_0")    # under way
    assert not lanes.lane_change_over(start, 12.0, 2, 0.5, path, s_ego, 28.0, free, "hw_0")    # not centred
    assert lanes.lane_change_over(start, 12.5, 2, 0.1, path, s_ego, 28.0, free, "hw_0")        # done
    assert lanes.lane_change_over(start, 10.0 + 2.0 * LANE_CHANGE_DURATION + 0.1, 1, 1.0, path, s_ego, 28.0,
                                  free, "hw_0")                                               # blocked too long
    closing = objects(car(1, 499.0, -1.8, 30.0))                # a car closed the target gap
    assert lanes.lane_change_over(start, 11.0, 1, 1.0, path, s_ego, 28.0, closing, "hw_0")     # given up


def test_stop_before_the_end_of_an_ending_lane_only_once_braking_needs_it(maps):
    road = maps["highway_ramps"]
    lanes = situation(road)
    end = road.lane(road.lane_id("main_1", 0)).length
    speed = 20.0
    needed = speed ** 2 / (2.0 * LANE_END_DECEL) + speed * 1.0
    far = end - 0.5 * EGO_LENGTH - LANE_END_STOP_MARGIN - needed - 10.0
    assert lanes.lane_end_stop("main_1", 0, far, speed) is None
    near = far + 20.0
    assert lanes.lane_end_stop("main_1", 0, near, speed) == pytest.approx(
        end - near - 0.5 * EGO_LENGTH - LANE_END_STOP_MARGIN)
    assert lanes.lane_end_stop("main_1", 0, near, 0.0) is None       # standing far back: nothing to brake for
    past_margin = end - 0.5 * EGO_LENGTH - LANE_END_STOP_MARGIN + 0.5
    assert lanes.lane_end_stop("main_1", 0, past_margin, 0.0) == pytest.approx(-0.5)   # stopped past the margin
