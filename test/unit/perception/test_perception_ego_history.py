"""Ego history: interpolation and extrapolation of the ego pose at a message stamp."""
from __future__ import annotations

import math

import pytest

from cav_stack.core.messages import EgoState, Header
from cav_stack.perception.ego_history import EgoHistory


def state(t, x, y, yaw, speed=20.0, yaw_rate=0.0):
    return EgoState(Header(t, "map"), x, y, yaw, speed, yaw_rate=yaw_rate)


def test_interpolates_across_the_angle_wrap_and_extrapolates_on_an_arc():
    history = EgoHistory(1.0)
    history.add(state(0.0, 0.0, 0.0, math.pi - 0.1))
    history.add(state(0.1, -2.0, 0.0, -math.pi + 0.1, yaw_rate=0.2))
    mid = history.at(0.05)
    assert mid.x == pytest.approx(-1.0) and abs(abs(mid.yaw) - math.pi) < 1e-9
    ahead = history.at(0.6)  # 0.5 s beyond the newest state: constant turn rate 0.2 rad/s at 20 m/s
    heading = -math.pi + 0.1 + 0.5 * 0.2 * 0.5
    assert ahead.x == pytest.approx(-2.0 + 10.0 * math.cos(heading))
    assert ahead.yaw == pytest.approx(-math.pi + 0.1 + 0.1)


def test_old_states_are_dropped_and_errors_are_clear():
    history = EgoHistory(0.5)
    with pytest.raises(LookupError):
        history.at(0.0)
    for k in range(20):
        history.add(state(0.1 * k, 2.0 * k, 0.0, 0.0))
    assert history.at(1.0).x == pytest.approx(20.0)
    with pytest.raises(ValueError, match="'map'"):
        history.add(EgoState(Header(2.0, "odom"), 0.0, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError):
        EgoHistory(0.0)


def test_pipeline_places_a_late_cloud_with_the_pose_of_its_stamp(rig, perception_params):
    import numpy as np

    from cav_stack.perception.pipeline import PerceptionPipeline
    from cav_stack.sim.sensors.lidar import LidarModel
    from cav_stack.sim.sensors.synthetic import ego_scene, vehicle_box

    pipeline = PerceptionPipeline(rig, perception_params)
    truth, ego = ego_scene(0.0, vehicle_box("car", 20.0, 0.0, speed=25.0), ego_speed=25.0)
    cloud = LidarModel(rig.lidars[0]).measure(truth, ego, 0.0, np.random.default_rng(0))
    with pytest.raises(LookupError):
        pipeline.on_message(cloud)
    for k in range(3):  # the cloud is delivered 0.1 s late, the ego has moved 2.5 m since
        pipeline.on_ego_state(state(0.05 * k, 1.25 * k, 0.0, 0.0, speed=25.0))
    (x, y, _), = pipeline.on_message(cloud).z
    assert x == pytest.approx(20.0, abs=0.25) and y == pytest.approx(0.0, abs=0.2)
