"""GNSS/IMU/odometry noise and kinematics; rig files and their errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cav_stack.core.params import ParamsError
from cav_stack.core.truth import WorldTruth
from cav_stack.world.sensor_rig import load_rig
from cav_stack.sim.sensors.ego import EgoMotion
from cav_stack.sim.sensors.inertial import GnssModel, ImuModel, WheelOdometryModel


def test_gnss_imu_odometry_statistics(rig128):
    ego = EgoMotion("ego", 10.0, -5.0, 0.3, 20.0, accel=0.5, yaw_rate=0.1)
    truth = WorldTruth(0.0)
    rng = np.random.default_rng(0)
    fixes = np.array([[f.x, f.y] for f in (GnssModel(rig128.gnss).measure(truth, ego, 0.0, rng)
                                            for _ in range(2000))])
    assert np.allclose(fixes.mean(axis=0), [10.0, -5.0], atol=0.05)
    assert np.allclose(fixes.std(axis=0), rig128.gnss.sigma, rtol=0.1)
    imu = [ImuModel(rig128.imu).measure(truth, ego, 0.0, rng) for _ in range(2000)]
    assert np.mean([s.accel_y for s in imu]) == pytest.approx(20.0 * 0.1, abs=0.01)  # centripetal v * omega
    assert np.mean([s.yaw_rate for s in imu]) == pytest.approx(0.1 + rig128.imu.yaw_rate_bias, abs=1e-4)
    speeds = [WheelOdometryModel(rig128.wheel_odometry).measure(truth, ego, 0.0, rng).speed for _ in range(2000)]
    assert np.mean(speeds) == pytest.approx(20.0 * (1 + rig128.wheel_odometry.scale_error), abs=0.01)


def test_rig_units_are_converted(rig128):
    lidar = rig128.lidars[0]
    assert lidar.elevation_min == pytest.approx(math.radians(-25.0))
    assert lidar.latency == pytest.approx(0.05)
    assert rig128.cameras[0].horizontal_fov == pytest.approx(2 * math.atan(960 / 1400))


def test_bad_rig_file_names_file_and_key(tmp_path, repo_root):
    text = (repo_root / "sensors" / "rig_128.yaml").read_text().replace("range_sigma: 0.03", "range_sigma: -0.03")
    bad = tmp_path / "bad_rig.yaml"
    bad.write_text(text)
    with pytest.raises(ParamsError, match=r"bad_rig.yaml.*lidars\[0\].*range_sigma must be > 0"):
        load_rig(bad)
    bad.write_text(text.replace("range_sigma: -0.03", "range_sigma: 0.03").replace("beams: 128", "beam: 128"))
    with pytest.raises(ParamsError, match="unknown parameter"):
        load_rig(bad)


def test_sensor_suite_names_every_model_and_rejects_unknown_kinds(rig128):
    from cav_stack.sim.sensors.suite import build_sensor_models

    models = build_sensor_models(rig128)
    assert set(models) == {"lidar_top", "radar_front", "radar_rear_left", "radar_rear_right", "camera_front", "gnss",
                           "imu", "wheel_odometry"}
    assert models["lidar_top"].rate == 10.0 and models["camera_front"].latency == pytest.approx(0.08)
    with pytest.raises(ValueError, match="unknown sensor kinds"):
        build_sensor_models(rig128, ("sonar",))
