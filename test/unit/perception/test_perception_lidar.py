"""LiDAR detection on simulated clouds: boxes against the true boxes, trucks, ground, errors;
and the torch backend against numpy."""
from __future__ import annotations

import dataclasses
import math
import sys

import numpy as np
import pytest

from cav_stack.core.messages import EgoState, Header, ObjectClass, PointCloud
from cav_stack.perception.lidar_processing import LidarDetector, NumpyLidarBackend, fit_plane
from cav_stack.sim.sensors.lidar import LidarModel
from cav_stack.sim.sensors.synthetic import SyntheticHighway, ego_scene, vehicle_box

EGO = EgoState(Header(0.0, "map"), 0.0, 0.0, 0.0, 0.0)


def detect(rig, params, *vehicles, backend="numpy", seed=0):
    truth, ego = ego_scene(0.0, *vehicles)
    cloud = LidarModel(rig.lidars[0]).measure(truth, ego, 0.0, np.random.default_rng(seed))
    lidar = dataclasses.replace(params.lidar, backend=backend)
    return LidarDetector(rig.lidars[0], lidar, params.tracker.size_priors).detect(cloud, EGO)


def nearest(ds, x, y):
    i = int(np.argmin(np.hypot(ds.z[:, 0] - x, ds.z[:, 1] - y)))
    return ds.z[i], i


@pytest.mark.parametrize("x, y, yaw", [(25.0, 0.0, 0.0), (12.0, 3.5, 0.05), (-30.0, -3.5, 0.0), (8.0, 7.0, 0.3)])
def test_car_boxes_are_recovered(rig, perception_params, x, y, yaw):
    ds = detect(rig, perception_params, vehicle_box("car", x, y, yaw=yaw, length=4.5, width=1.8))
    assert len(ds) == 1
    z, _ = nearest(ds, x, y)
    assert math.hypot(z[0] - x, z[1] - y) < 0.25
    assert abs(0.5 * math.remainder(2 * (z[2] - yaw), 2 * math.pi)) < 0.06  # yaw modulo pi
    assert ds.classes[0] is ObjectClass.UNKNOWN and ds.kind.name == "POSITION_YAW"


def test_truck_seen_from_behind_is_a_truck_with_its_centre_completed(rig, perception_params):
    ds = detect(rig, perception_params, vehicle_box("truck", 40.0, 3.5, length=12.0, width=2.5, height=3.6))
    assert len(ds) == 1  # the sparse side seen at a grazing angle is merged, not a second object
    z, i = nearest(ds, 40.0, 3.5)
    assert ds.classes[i] is ObjectClass.TRUCK
    assert math.hypot(z[0] - 40.0, z[1] - 3.5) < 0.5
    # the far end was completed: the centre would move further ahead for a longer truck
    assert ds.extent_shift[i, 0] @ np.array([1.0, 0.0]) == pytest.approx(1.0, abs=0.01)


def test_ground_only_cloud_gives_no_detection_and_plane_fit_matches_lstsq(rig, perception_params):
    assert len(detect(rig, perception_params)) == 0
    rng = np.random.default_rng(0)
    xy = rng.uniform(-20, 20, (500, 2))
    z = 0.02 * xy[:, 0] - 0.01 * xy[:, 1] + 0.3 + rng.normal(0, 0.01, 500)
    np.testing.assert_allclose(fit_plane(np.c_[xy, z]), [0.02, -0.01, 0.3], atol=0.003)


def test_wrong_frame_and_bad_shape_are_rejected(rig, perception_params):
    detector = LidarDetector(rig.lidars[0], perception_params.lidar, perception_params.tracker.size_priors)
    with pytest.raises(ValueError, match="not this LiDAR"):
        detector.detect(PointCloud(Header(0.0, "radar_front"), np.zeros((3, 4), np.float32)), EGO)
    with pytest.raises(ValueError, match=r"\(N, >=3\)"):
        detector.detect(PointCloud(Header(0.0, "lidar_top"), np.zeros((3, 2), np.float32)), EGO)


def test_torch_backend_equals_numpy(rig, perception_params):
    pytest.importorskip("torch")
    world = SyntheticHighway.random(25, np.random.default_rng(7), cut_in=True)
    truth, ego = world.truth(3.0), world.ego(3.0)
    cloud = LidarModel(rig.lidars[0]).measure(truth, ego, 3.0, np.random.default_rng(1))
    state = EgoState(Header(3.0, "map"), ego.x, ego.y, ego.yaw, ego.speed)
    results = {}
    for backend in ("numpy", "torch"):
        lidar = dataclasses.replace(perception_params.lidar, backend=backend)
        results[backend] = LidarDetector(rig.lidars[0], lidar, perception_params.tracker.size_priors).detect(cloud,
                                                                                                            state)
    a, b = results["numpy"], results["torch"]
    assert len(a) == len(b) > 10
    np.testing.assert_allclose(a.z, b.z, atol=1e-6)  # stated tolerance: 1e-6 m / rad
    np.testing.assert_allclose(a.lengths, b.lengths, atol=1e-6)


def test_torch_backend_without_torch_names_the_extra(monkeypatch, perception_params):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "cav_stack.perception.lidar_torch", raising=False)
    from cav_stack.perception.lidar_processing import make_backend
    with pytest.raises(ImportError, match="'gpu' extra"):
        make_backend(dataclasses.replace(perception_params.lidar, backend="torch"))
    assert isinstance(make_backend(perception_params.lidar), NumpyLidarBackend)
