"""Scenario networks as CARLA OpenDRIVE (frames coincide), signal ids, light states, town networks.

The OpenDRIVE files are parsed by the real ``carla.Map`` (client-side, no server).
"""
import math
from pathlib import Path
from xml.etree import ElementTree

import carla
import numpy as np
import pytest

from cav_stack.core.frames import wrap_angle
from cav_stack.core.truth import SignalTruth
from cav_stack.world.road_map import RoadMap
from cav_stack.core.share import share_path
from cav_stack.sim.carla_cosim import light_states
from cav_stack.sim.carla_frames import CarlaFrame, rotation_to_rpy
from cav_stack.sim.carla_maps import (carla_light_state, lane_pose, opendrive_network, scenario_opendrive,
                                      signal_link, sumo_state_char)
from cav_stack.sim.network_build import build_network
from carla_fake_server import load_fixture


@pytest.fixture(scope="module")
def arterial(tmp_path_factory):
    cache = tmp_path_factory.mktemp("net")
    net = build_network(share_path("scenarios", "networks", "arterial_3tls"), cache)
    xodr = scenario_opendrive(net, cache)
    return net, RoadMap.from_net_file(net), xodr, carla.Map("arterial", xodr)


def test_scenario_lanes_are_where_carla_puts_them(arterial):
    """A point on every SUMO lane centreline is on a CARLA lane centre at the same map place and heading."""
    _, road_map, _, carla_map = arterial
    frame = CarlaFrame()
    checked = 0
    for edge in road_map.edges():
        for index in range(road_map.lane_count(edge)):
            shape = road_map.lane_centerline(road_map.lane_id(edge, index))
            k = len(shape) // 2
            a, b = shape[max(k - 1, 0)], shape[k]
            mid = 0.5 * (a + b)
            waypoint = carla_map.get_waypoint(frame.to_location(mid[0], mid[1], 0.0))
            x, y, _ = frame.to_map(waypoint.transform.location)
            assert math.hypot(x - mid[0], y - mid[1]) < 0.1, edge
            heading = math.atan2(b[1] - a[1], b[0] - a[0])
            assert abs(wrap_angle(rotation_to_rpy(waypoint.transform.rotation)[2] - heading)) < 0.02, edge
            checked += 1
    assert checked >= 20


def test_every_carla_signal_names_a_sumo_link(arterial):
    net, _, _, carla_map = arterial
    links = {(c.get("tl"), int(c.get("linkIndex"))) for c in ElementTree.parse(net).getroot().iter("connection")
             if c.get("tl")}
    ids = {landmark.id for landmark in carla_map.get_all_landmarks()}
    assert ids and {signal_link(i) for i in ids} <= links
    assert {tls for tls, _ in links} == {signal_link(i)[0] for i in ids}


def test_controllers_are_attached_to_their_junctions(arterial):
    _, _, xodr, _ = arterial
    root = ElementTree.fromstring(xodr)
    controllers = {c.get("id") for c in root.findall("controller")}
    attached = {c.get("id") for j in root.iter("junction") for c in j.findall("controller")}
    assert controllers == attached == {"J1", "J2", "J3"}


def test_signal_link_parsing():
    assert signal_link("J1_10") == ("J1", 10)
    assert signal_link("cluster_a_b_3") == ("cluster_a_b", 3)
    assert signal_link("1000011") is None


def test_light_states_follow_sumo_links():
    signals = (SignalTruth("J1", "rGyO", 0, 10.0), SignalTruth("J2", "G", 1, 5.0))
    links = {1: ("J1", 0), 2: ("J1", 1), 3: ("J1", 2), 4: ("J1", 3), 5: ("J2", 0), 6: ("J2", 4), 7: ("J9", 0)}
    assert light_states(signals, links) == {1: "r", 2: "G", 3: "y", 4: "O", 5: "G"}
    states = carla.TrafficLightState
    assert [carla_light_state(c) for c in "rRuyYgGOos"] == [states.Red] * 3 + [states.Yellow] * 2 + \
        [states.Green] * 2 + [states.Off, states.Unknown, states.Unknown]
    assert [sumo_state_char(s) for s in (states.Red, states.Yellow, states.Green, states.Off, states.Unknown)] == \
        ["r", "y", "G", "O", "o"]


def test_lane_pose_places_the_box_centre_behind_the_front_bumper(arterial):
    _, road_map, _, _ = arterial
    edge = road_map.edges()[0]
    shape = road_map.lane_centerline(road_map.lane_id(edge, 0))
    x, y, yaw = lane_pose(road_map, edge, 0, 30.0, 4.0)
    steps = np.r_[0.0, np.cumsum(np.hypot(*np.diff(shape, axis=0).T))]
    assert (x, y) == pytest.approx((np.interp(28.0, steps, shape[:, 0]), np.interp(28.0, steps, shape[:, 1])))
    assert yaw == pytest.approx(math.atan2(shape[1, 1] - shape[0, 1], shape[1, 0] - shape[0, 0]))


def test_town_opendrive_becomes_a_network_in_the_same_frame(tmp_path):
    meta, _ = load_fixture()
    road_map = RoadMap.from_net_file(opendrive_network(meta["xodr"], "fixture", tmp_path))
    carla_map = carla.Map("fixture", meta["xodr"])
    frame = CarlaFrame()
    for edge in road_map.edges():
        for index in range(road_map.lane_count(edge)):
            shape = road_map.lane_centerline(road_map.lane_id(edge, index))
            mid = 0.5 * (shape[0] + shape[-1])
            x, y, _ = frame.to_map(carla_map.get_waypoint(frame.to_location(mid[0], mid[1])).transform.location)
            assert math.hypot(x - mid[0], y - mid[1]) < 0.1
    assert opendrive_network(meta["xodr"], "fixture", tmp_path) == next(Path(tmp_path).glob("fixture-*.net.xml"))
