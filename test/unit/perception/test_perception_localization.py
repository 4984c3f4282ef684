"""Ego localisation EKF driven by the simulated GNSS, IMU and odometry on a curved drive."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cav_stack.core.messages import GnssFix, Header
from cav_stack.core.truth import WorldTruth
from cav_stack.perception.localization import EgoLocalizer
from cav_stack.sim.sensors.ego import EgoMotion
from cav_stack.sim.sensors.inertial import GnssModel, ImuModel, WheelOdometryModel


def drive(t: float) -> EgoMotion:
    """Straight at 20 m/s for 5 s, then a left arc of radius 200 m (yaw rate 0.1 rad/s)."""
    speed, rate = 20.0, 0.1
    if t <= 5.0:
        return EgoMotion("ego", speed * t, 0.0, 0.0, speed)
    tau = t - 5.0
    radius = speed / rate
    return EgoMotion("ego", 100.0 + radius * math.sin(rate * tau), radius * (1.0 - math.cos(rate * tau)),
                     rate * tau, speed, 0.0, rate)


def test_ekf_beats_gnss_and_tracks_heading_through_a_curve(rig, localization_params):
    rng = np.random.default_rng(0)
    models = [(ImuModel(rig.imu), "imu"), (WheelOdometryModel(rig.wheel_odometry), "odo"),
              (GnssModel(rig.gnss), "gnss")]
    loc = EgoLocalizer(localization_params)
    errors, yaw_errors, gnss_errors = [], [], []
    for k in range(2000):  # 20 s at 100 Hz
        t = 0.01 * k
        ego = drive(t)
        truth = WorldTruth(t)
        for model, name in models:
            period = round(1.0 / model.rate / 0.01)
            if k % period:
                continue
            msg = model.measure(truth, ego, t, rng)
            {"imu": loc.on_imu, "odo": loc.on_odometry, "gnss": loc.on_gnss}[name](msg)
            if name == "gnss":
                gnss_errors.append(math.hypot(msg.x - ego.x, msg.y - ego.y))
        est = loc.estimate(t)
        if t < 0.2:
            assert est is None  # needs GNSS travel for the heading
        if est is not None and t > 3.0:
            errors.append(math.hypot(est.x - ego.x, est.y - ego.y))
            yaw_errors.append(abs(math.remainder(est.yaw - ego.yaw, 2 * math.pi)))
            cov = np.array(est.covariance).reshape(4, 4)
            assert np.all(np.linalg.eigvalsh(cov) > 0)
    rmse = math.sqrt(np.mean(np.square(errors)))
    assert rmse < 0.5 * math.sqrt(np.mean(np.square(gnss_errors)))
    assert np.max(yaw_errors) < math.radians(2.0)


def test_localization_rejects_bad_fixes(localization_params):
    loc = EgoLocalizer(localization_params)
    with pytest.raises(ValueError, match="'map'"):
        loc.on_gnss(GnssFix(Header(0.0, "odom"), 0.0, 0.0, 0.5))
    with pytest.raises(ValueError, match="sigma_m"):
        loc.on_gnss(GnssFix(Header(0.0, "map"), 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="non-finite"):
        loc.on_gnss(GnssFix(Header(0.0, "map"), math.nan, 0.0, 0.5))
