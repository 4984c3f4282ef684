"""LiDAR model: point budget, points on true surfaces, occlusion, noise level, frames."""
from __future__ import annotations


import numpy as np
import pytest

from cav_stack.sim.sensors.lidar import VEHICLE_INTENSITY, LidarModel
from cav_stack.sim.sensors.synthetic import ego_scene, vehicle_box


def to_map(points: np.ndarray, mounting) -> np.ndarray:
    """LiDAR-frame points in map for an ego at the origin heading +x (level mounting, yaw 0)."""
    return points[:, :3].astype(float) + np.array([mounting.x, mounting.y, mounting.z])


def test_128_beam_rig_gives_about_100k_points_on_an_open_road(rig128):
    truth, ego = ego_scene(0.0)
    cloud = LidarModel(rig128.lidars[0]).measure(truth, ego, 0.0, np.random.default_rng(0))
    p = rig128.lidars[0]
    elevations = np.linspace(p.elevation_min, p.elevation_max, p.beams)
    ground_beams = np.sum((elevations < 0) & (p.mounting.z / np.tan(-np.minimum(elevations, -1e-9)) < p.max_range))
    expected = ground_beams * p.azimuth_steps * (1.0 - p.dropout_probability)
    assert 80_000 <= cloud.points.shape[0] <= 130_000
    assert cloud.points.shape[0] == pytest.approx(expected, rel=0.02)
    assert cloud.points.dtype == np.float32 and cloud.header.frame_id == "lidar_top"


def test_ground_ranges_have_the_configured_noise(rig128):
    truth, ego = ego_scene(0.0)
    lidar = rig128.lidars[0]
    cloud = LidarModel(lidar).measure(truth, ego, 0.0, np.random.default_rng(1))
    pts = cloud.points[:, :3].astype(float)
    rng_meas = np.linalg.norm(pts, axis=1)
    # A ground return at measured direction d lies on z = -mount height: true range = h / -d_z.
    true_range = lidar.mounting.z / (-pts[:, 2] / rng_meas)
    err = rng_meas - true_range
    assert abs(err.mean()) < 0.005
    assert err.std() == pytest.approx(lidar.range_sigma, rel=0.1)


def test_vehicle_points_lie_on_its_box_and_a_hidden_vehicle_gets_none(rig128):
    front = vehicle_box("front", 15.0, 0.0, length=4.5, width=2.5, height=3.6, vehicle_class="truck")
    hidden = vehicle_box("hidden", 30.0, 0.0, height=1.5)
    truth, ego = ego_scene(0.0, front, hidden)
    lidar = rig128.lidars[0]
    cloud = LidarModel(lidar).measure(truth, ego, 0.0, np.random.default_rng(2))
    on_vehicle = to_map(cloud.points[cloud.points[:, 3] == np.float32(VEHICLE_INTENSITY)], lidar.mounting)
    assert on_vehicle.shape[0] > 200
    near_face = 15.0 - 2.25
    # every vehicle return is on the front car (x within its box, within 5 sigma of noise); none beyond
    assert on_vehicle[:, 0].min() > near_face - 5 * lidar.range_sigma
    assert on_vehicle[:, 0].max() < 15.0 + 2.25
    assert np.all(np.abs(on_vehicle[:, 1]) <= 1.25 + 0.05) and np.all(on_vehicle[:, 2] <= 3.6 + 0.05)


def test_lidar_sees_a_low_car_over_a_lower_one(rig128):
    # Physical check of the 3D occlusion: from 1.9 m the beams pass over a 1.2 m high car.
    truth, ego = ego_scene(0.0, vehicle_box("low", 12.0, 0.0, height=1.2), vehicle_box("behind", 30.0, 0.0))
    lidar = rig128.lidars[0]
    cloud = LidarModel(lidar).measure(truth, ego, 0.0, np.random.default_rng(2))
    on_vehicle = to_map(cloud.points[cloud.points[:, 3] == np.float32(VEHICLE_INTENSITY)], lidar.mounting)
    behind = on_vehicle[on_vehicle[:, 0] > 27.0]
    # Shadow line over the low car's rear roof edge (14.25 m, 1.2 m) reaches the car behind
    # (near face 27.75 m) at 1.9 - 0.7 * (27.75 - 1.3) / (14.25 - 1.3) = 0.47 m.
    shadow = lidar.mounting.z - (lidar.mounting.z - 1.2) * (27.75 - lidar.mounting.x) / (14.25 - lidar.mounting.x)
    assert behind.shape[0] > 50
    assert behind[:, 2].min() > shadow - 0.1


def test_32_beam_rig_sees_a_far_car_with_fewer_points(rig128, rig32):
    truth, ego = ego_scene(0.0, vehicle_box("far", 60.0, 3.5))
    counts = []
    for rig in (rig32, rig128):
        cloud = LidarModel(rig.lidars[0]).measure(truth, ego, 0.0, np.random.default_rng(3))
        counts.append(int(np.sum(cloud.points[:, 3] == np.float32(VEHICLE_INTENSITY))))
    assert 0 < counts[0] < counts[1] / 2


def test_stamp_mismatch_is_rejected(rig128):
    truth, ego = ego_scene(1.0)
    with pytest.raises(ValueError, match="does not match"):
        LidarModel(rig128.lidars[0]).measure(truth, ego, 2.0, np.random.default_rng(0))
