"""Radar and camera models against analytic geometry and kinematics."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cav_stack.core.messages import ObjectClass
from cav_stack.sim.sensors.camera import CameraModel
from cav_stack.sim.sensors.radar import RadarModel
from cav_stack.sim.sensors.synthetic import ego_scene, vehicle_box


def quiet(radar):
    return dataclasses.replace(radar, false_alarms_mean=0.0, extra_points_mean=0.0, detection_probability=1.0)


def test_radar_range_rate_matches_relative_motion(rig128):
    radar = quiet(rig128.radars[0])
    target = vehicle_box("t", 40.0, 3.5, speed=20.0)
    truth, ego = ego_scene(0.0, target, ego_speed=25.0)
    rng = np.random.default_rng(0)
    rates, ranges = [], []
    for _ in range(200):
        frame = RadarModel(radar).measure(truth, ego, 0.0, rng)
        assert len(frame.detections) == 1
        rates.append(frame.detections[0].range_rate)
        ranges.append(frame.detections[0].range_m)
    # Line of sight from the radar (x = 3.7) to the hit on the near face; closing at 5 m/s.
    los_cos = (40.0 - 2.25 - radar.mounting.x) / np.mean(ranges)
    assert np.mean(rates) == pytest.approx(-5.0 * los_cos, abs=0.05)
    assert np.std(rates) == pytest.approx(radar.range_rate_sigma, rel=0.2)


def test_radar_field_of_view_occlusion_and_clutter(rig128):
    radar = quiet(rig128.radars[0])
    outside = vehicle_box("side", 5.0, 15.0)  # 70 deg off the bore sight of a 60 deg radar
    blocker = vehicle_box("blocker", 20.0, 0.0, length=12.0, width=2.5, height=3.6, vehicle_class="truck")
    hidden = vehicle_box("hidden", 45.0, 0.0)
    truth, ego = ego_scene(0.0, outside, blocker, hidden)
    rng = np.random.default_rng(1)
    for _ in range(50):
        frame = RadarModel(radar).measure(truth, ego, 0.0, rng)
        assert len(frame.detections) == 1  # only the truck
        assert frame.detections[0].range_m < 20.0
    clutter = dataclasses.replace(radar, false_alarms_mean=3.0)
    empty, still_ego = ego_scene(0.0)
    counts = [len(RadarModel(clutter).measure(empty, still_ego, 0.0, rng).detections) for _ in range(400)]
    assert np.mean(counts) == pytest.approx(3.0, rel=0.1)


def test_camera_box_follows_the_pinhole_model(rig128):
    cam = dataclasses.replace(rig128.cameras[0], pixel_sigma=1e-6, detection_probability=1.0)
    truth, ego = ego_scene(0.0, vehicle_box("ahead", 31.8 + 2.25, 0.0, height=1.5, width=1.8))
    frame = CameraModel(cam).measure(truth, ego, 0.0, np.random.default_rng(0))
    (det,) = frame.detections
    depth = 30.0  # near face (x = 31.8) minus the camera mounting (x = 1.8)
    assert det.object_class is ObjectClass.CAR
    assert 0.5 * (det.u_min + det.u_max) == pytest.approx(cam.cx, abs=1e-3)
    assert det.u_max - det.u_min == pytest.approx(cam.fx * 1.8 / depth, rel=1e-3)
    # bottom edge: the near bottom corners, mounting height below the optical axis
    assert det.v_max == pytest.approx(cam.cy + cam.fy * cam.mounting.z / depth, rel=1e-3)


def test_camera_detection_rate_falls_with_distance_and_occlusion(rig128):
    cam = rig128.cameras[0]
    rng = np.random.default_rng(2)

    def rate(*vehicles):
        truth, ego = ego_scene(0.0, *vehicles)
        return np.mean([len(CameraModel(cam).measure(truth, ego, 0.0, rng).detections) for _ in range(300)])

    near, far = rate(vehicle_box("a", 30.0, 0.0)), rate(vehicle_box("a", 130.0, 0.0))
    assert near > 0.9 and far < 0.6
    expected_far = cam.detection_probability / (1.0 + (130.0 / cam.half_probability_range) ** 4)
    assert far == pytest.approx(expected_far, abs=0.08)
    hidden = rate(vehicle_box("truck", 20.0, 0.0, length=12.0, width=2.5, height=3.6), vehicle_box("b", 45.0, 0.0))
    assert hidden == pytest.approx(rate(vehicle_box("truck", 20.0, 0.0, length=12.0, width=2.5, height=3.6)),
                                   abs=0.05)
