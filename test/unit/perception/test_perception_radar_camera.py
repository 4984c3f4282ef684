"""Radar and camera detection: positions and radial speed against the simulated truth."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from cav_stack.core.messages import CameraFrame, EgoState, Header, ObjectClass
from cav_stack.perception.camera_processing import CameraDetector
from cav_stack.perception.detections import MeasurementKind
from cav_stack.perception.radar_processing import RadarDetector
from cav_stack.sim.sensors.camera import CameraModel
from cav_stack.sim.sensors.radar import RadarModel
from cav_stack.sim.sensors.synthetic import ego_scene, vehicle_box

EGO_SPEED = 25.0
EGO = EgoState(Header(0.0, "map"), 0.0, 0.0, 0.0, EGO_SPEED)


def test_radar_cluster_gives_centre_and_ground_radial_speed(rig, perception_params):
    radar = dataclasses.replace(rig.radars[0], false_alarms_mean=0.0, detection_probability=1.0,
                                extra_points_mean=3.0)
    target = vehicle_box("t", 50.0, 3.5, speed=20.0)
    truth, ego = ego_scene(0.0, target, ego_speed=EGO_SPEED)
    detector = RadarDetector(radar, perception_params.radar)
    rng = np.random.default_rng(0)
    xs, ys, radial = [], [], []
    for _ in range(100):
        ds = detector.detect(RadarModel(radar).measure(truth, ego, 0.0, rng), EGO)
        # several reflections of one car may form one or two clusters (rear face, side)
        assert ds.kind is MeasurementKind.POSITION_RADIAL and 1 <= len(ds) <= 2
        xs.extend(ds.z[:, 0]), ys.extend(ds.z[:, 1]), radial.extend(ds.z[:, 2])
    assert np.max(np.hypot(np.array(xs) - 50.0, np.array(ys) - 3.5)) < 3.0
    los = np.array([50.0 - radar.mounting.x, 3.5]) / math.hypot(50.0 - radar.mounting.x, 3.5)
    # ground radial speed = the target's own velocity along the line of sight (ego motion removed)
    assert np.mean(radial) == pytest.approx(20.0 * los[0], abs=0.1)
    assert np.mean(xs) == pytest.approx(50.0, abs=1.0)  # near surface + centre_offset along the line of sight
    assert np.mean(ys) == pytest.approx(3.5, abs=0.3)


def test_camera_detection_is_on_the_bearing_with_class_and_range_noise_growing(rig, perception_params):
    cam = rig.cameras[0]
    detector = CameraDetector(cam, perception_params.camera, perception_params.tracker.size_priors)
    rng = np.random.default_rng(1)
    spreads = []
    for distance in (20.0, 60.0):
        truth, ego = ego_scene(0.0, vehicle_box("t", distance, 3.5))
        xs, bearings = [], []
        for _ in range(100):
            ds = detector.detect(CameraModel(cam).measure(truth, ego, 0.0, rng), EGO)
            if len(ds):
                assert ds.classes[0] is ObjectClass.CAR
                xs.append(ds.z[0, 0])
                bearings.append(math.atan2(ds.z[0, 1], ds.z[0, 0] - cam.mounting.x))
        assert np.mean(bearings) == pytest.approx(math.atan2(3.5, distance - cam.mounting.x), abs=0.01)
        assert np.mean(xs) == pytest.approx(distance, abs=0.05 * distance)
        spreads.append(np.std(xs))
    assert spreads[1] > 2.0 * spreads[0]


def test_camera_drops_truncated_boxes_and_rejects_foreign_frames(rig, perception_params):
    cam = rig.cameras[0]
    detector = CameraDetector(cam, perception_params.camera, perception_params.tracker.size_priors)
    with pytest.raises(ValueError, match="not this camera"):
        detector.detect(CameraFrame(Header(0.0, "lidar_top")), EGO)
    truth, ego = ego_scene(0.0, vehicle_box("close", 4.5, 2.5))  # beside the bonnet: cut by the image edge
    frame = dataclasses.replace(CameraModel(dataclasses.replace(cam, detection_probability=1.0)).measure(
        truth, ego, 0.0, np.random.default_rng(2)))
    assert len(detector.detect(frame, EGO)) == 0
