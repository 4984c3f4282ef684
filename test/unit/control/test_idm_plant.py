"""IDM baseline and vehicle plant: physical invariants and closed-loop outcomes (no SUMO)."""
import math

import numpy as np
import pytest

from cav_stack.control.idm_baseline import (
    IdmParams, Leader, LeaderWindow, crossing_ahead, find_leader, idm_acceleration, pure_pursuit_steer,
)
from cav_stack.control.vehicle_models import load_vehicle_params
from cav_stack.core.messages import Header, ObjectClass, TrackedObject, TrackList
from cav_stack.core.path import Polyline
from cav_stack.sim.plant import VehiclePlant

IDM = IdmParams(desired_speed=30.0, time_gap=1.5, standstill_gap=2.0, max_accel=1.5, comfortable_decel=2.0,
                max_decel=6.0, exponent=4.0, lookahead_time=1.0, min_lookahead=6.0)
WINDOW = LeaderWindow(corridor_half_width=1.1, sensing_range=150.0)


@pytest.fixture
def vehicle(repo_root):
    return load_vehicle_params(repo_root / "controllers" / "vehicle.yaml")


def test_idm_equilibrium_gap():
    speed = 20.0
    equilibrium = (IDM.standstill_gap + speed * IDM.time_gap) / math.sqrt(1 - (speed / IDM.desired_speed) ** 4)
    assert idm_acceleration(speed, Leader(equilibrium, speed, 1), IDM) == pytest.approx(0.0, abs=1e-9)
    assert idm_acceleration(speed, Leader(equilibrium * 0.8, speed, 1), IDM) < 0.0
    assert idm_acceleration(0.0, None, IDM) == pytest.approx(IDM.max_accel)
    assert idm_acceleration(20.0, Leader(0.5, 0.0, 1), IDM) == -IDM.max_decel


def test_plant_follows_commands_with_lag_and_never_reverses(vehicle):
    plant = VehiclePlant(vehicle, 0.0, 0.0, 0.0, 10.0)
    plant.step(2.0, 0.0, 0.05)
    assert 0.0 < plant.accel < 2.0                   # first-order lag
    for _ in range(200):
        plant.step(-8.0, 0.0, 0.05)
    assert plant.speed == 0.0
    x_stopped = plant.state[0]
    plant.step(-8.0, 0.0, 0.05)
    assert plant.state[0] == pytest.approx(x_stopped)


def test_plant_limits_steering_rate_and_angle(vehicle):
    plant = VehiclePlant(vehicle, 0.0, 0.0, 0.0, 10.0)
    plant._steer_cmd = 0.0
    for _ in range(100):
        plant.step(0.0, 1.5, 0.05)
    assert plant.steer <= vehicle.max_steer + 1e-9
    circle_radius = vehicle.wheelbase / math.tan(plant.steer)
    assert plant.yaw_rate == pytest.approx(plant.speed / circle_radius)


def test_car_following_closed_loop_has_no_collision_and_settles(vehicle):
    path = Polyline(np.array([[0.0, 0.0], [5000.0, 0.0]]))
    ego = VehiclePlant(vehicle, 0.0, 0.3, 0.02, 25.0)
    leader_x, leader_v = 60.0, 25.0
    gaps = []
    dt = 0.05
    for step in range(1600):
        t = step * dt
        leader_v = 15.0 if 10.0 <= t < 40.0 else 25.0
        leader_x += leader_v * dt
        cx, cy = ego.centre
        objects = TrackList(Header(t, "map"), (TrackedObject(1, leader_x, 0.0, 0.0, leader_v, 4.5, 1.8),))
        leader = find_leader(path, cx, cy, vehicle.length, objects, WINDOW)
        accel = idm_acceleration(ego.speed, leader, IDM)
        steer = pure_pursuit_steer(path, ego.state[0], ego.state[1], ego.yaw, ego.speed, vehicle.wheelbase, IDM)
        ego.step(accel, steer, dt)
        gaps.append(leader.gap)
    assert min(gaps) > IDM.standstill_gap
    assert abs(ego.centre[1]) < 0.05                  # pure pursuit removed the initial offset
    assert ego.speed == pytest.approx(25.0, abs=0.5)


def test_find_leader_ignores_other_lanes_and_vehicles_behind():
    path = Polyline(np.array([[0.0, 0.0], [500.0, 0.0]]))
    objects = TrackList(Header(0.0, "map"), (
        TrackedObject(1, 30.0, 3.5, 0.0, 20.0, 4.5, 1.8),      # next lane
        TrackedObject(2, -20.0, 0.0, 0.0, 20.0, 4.5, 1.8),     # behind
        TrackedObject(3, 80.0, 0.2, 0.0, 18.0, 4.5, 1.8),
        TrackedObject(4, 50.0, -0.4, 0.0, 22.0, 4.5, 1.8),
    ))
    leader = find_leader(path, 10.0, 0.0, 4.6, objects, WINDOW)
    assert leader.track_id == 4 and leader.gap == pytest.approx(40.0 - 4.55)


def test_find_leader_takes_a_car_cutting_in_while_it_crosses_the_lane_line():
    path = Polyline(np.array([[0.0, 0.0], [500.0, 0.0]]))
    drift = math.atan2(-1.2, 25.0)                       # 1.2 m/s towards the ego's lane
    cutting_in = TrackedObject(5, 30.0, 3.0, drift, math.hypot(25.0, 1.2), 4.5, 1.8)
    steady = TrackedObject(6, 30.0, 3.0, 0.0, 25.0, 4.5, 1.8)
    leaving = TrackedObject(7, 30.0, 3.0, -drift, math.hypot(25.0, 1.2), 4.5, 1.8)
    converging_road = TrackedObject(8, 30.0, 3.0, -0.24, 27.0, 4.5, 1.8)    # an on-ramp's main line
    anticipating = LeaderWindow(corridor_half_width=1.1, sensing_range=150.0, cut_in_horizon=1.5)
    for window, car, expected in ((anticipating, cutting_in, 5), (WINDOW, cutting_in, None),
                                  (anticipating, steady, None), (anticipating, leaving, None),
                                  (anticipating, converging_road, None)):
        leader = find_leader(path, 10.0, 0.0, 4.6, TrackList(Header(0.0, "map"), (car,)), window)
        assert (leader.track_id if leader else None) == expected
    with pytest.raises(ValueError, match="cut_in_horizon"):
        LeaderWindow(corridor_half_width=1.1, sensing_range=150.0, cut_in_horizon=-1.0)


def test_find_leader_takes_a_bus_whose_corner_turns_into_the_lane_before_its_centre_does():
    """R157 4.4.1 cut-in (bus at 10 km/h, 1 m/s across): the bus turns about its rear, so its
    front corner is in the ego's corridor while its centre is still 2.99 m off the path and its
    heading (0.106 rad) gives only 0.3 m/s of drift."""
    path = Polyline(np.array([[0.0, 0.0], [500.0, 0.0]]))
    bus = TrackedObject(9, 30.0, 2.99, -0.106, 2.78, 13.5, 2.5)
    window = LeaderWindow(corridor_half_width=1.1, sensing_range=150.0, cut_in_horizon=1.0)
    leader = find_leader(path, 10.0, 0.0, 5.0, TrackList(Header(0.0, "map"), (bus,)), window)
    assert leader is not None and leader.track_id == 9
    aligned = TrackedObject(9, 30.0, 2.99, 0.0, 2.78, 13.5, 2.5)          # the same bus keeping its lane
    assert find_leader(path, 10.0, 0.0, 5.0, TrackList(Header(0.0, "map"), (aligned,)), window) is None


def test_find_leader_takes_a_pedestrian_walking_towards_the_path_and_lets_one_that_crossed_go():
    path = Polyline(np.array([[0.0, 0.0], [500.0, 0.0]]))
    window = LeaderWindow(corridor_half_width=1.1, sensing_range=150.0, cut_in_horizon=1.0, crossing_horizon=4.0)

    def walker(y, heading, speed=1.5):
        return TrackedObject(3, 60.0, y, heading, speed, 0.3, 0.5, object_class=ObjectClass.PEDESTRIAN)

    def found(obj, p=window):
        leader = find_leader(path, 10.0, 0.0, 5.0, TrackList(Header(0.0, "map"), (obj,)), p)
        return leader.track_id if leader else None

    assert found(walker(-6.0, math.pi / 2)) == 3                 # 4.75 m to the corridor at 1.5 m/s: within 4 s
    assert found(walker(-6.0, math.pi / 2), WINDOW) is None       # without the crossing horizon
    assert found(walker(-9.0, math.pi / 2)) is None               # 7.65 m: not yet
    assert found(walker(2.0, math.pi / 2)) is None                # crossed, walking on
    assert found(walker(-3.0, 0.0)) is None                       # walking along the road side
    assert found(walker(-3.0, math.pi / 2, speed=0.0)) is None    # standing beside the lane
    path_ahead = (TrackList(Header(0.0, "map"), (walker(3.0, math.pi / 2),)),
                  TrackList(Header(0.0, "map"), (walker(-3.0, math.pi / 2, speed=0.0),)),
                  TrackList(Header(0.0, "map"), (walker(9.0, math.pi / 2),)))
    assert [crossing_ahead(path, 10.0, objects, 150.0) for objects in path_ahead] == [True, False, False]
