"""GNSS, IMU and wheel-odometry models driven by the ego's true motion.

GNSS reports the ``base_link`` position in ``map`` with white Gaussian noise (antenna lever arm
compensated); the IMU reports longitudinal acceleration, centripetal lateral acceleration
(speed x yaw rate) and yaw rate with a constant bias; odometry reports speed scaled by a
wheel-radius error plus white noise.
"""
from __future__ import annotations

import numpy as np

from cav_stack.core.messages import GnssFix, Header, ImuSample, WheelOdometry
from cav_stack.core.truth import WorldTruth
from cav_stack.world.sensor_rig import GnssParams, ImuParams, WheelOdometryParams
from cav_stack.sim.sensors.ego import EgoMotion, check_inputs


class GnssModel:
    """GNSS receiver; ``measure`` returns a :class:`GnssFix` in ``map``."""

    def __init__(self, params: GnssParams):
        self.params = params
        self.rate = params.rate
        self.latency = params.latency

    def measure(self, truth: WorldTruth, ego: EgoMotion, now: float, rng: np.random.Generator) -> GnssFix:
        """A fix of the ego's ``base_link`` at ``now`` [s]."""
        check_inputs(truth, ego, now)
        noise = rng.normal(0.0, self.params.sigma, 2)
        return GnssFix(Header(now, "map"), ego.x + float(noise[0]), ego.y + float(noise[1]), self.params.sigma)


class ImuModel:
    """IMU in ``base_link``; ``measure`` returns an :class:`ImuSample`."""

    def __init__(self, params: ImuParams):
        self.params = params
        self.rate = params.rate
        self.latency = params.latency

    def measure(self, truth: WorldTruth, ego: EgoMotion, now: float, rng: np.random.Generator) -> ImuSample:
        """Accelerations [m/s^2] and yaw rate [rad/s] at ``now`` [s]."""
        check_inputs(truth, ego, now)
        p = self.params
        noise = rng.normal(0.0, 1.0, 3)
        return ImuSample(Header(now, p.frame_id), accel_x=ego.accel + p.accel_sigma * float(noise[0]),
                         accel_y=ego.speed * ego.yaw_rate + p.accel_sigma * float(noise[1]),
                         yaw_rate=ego.yaw_rate + p.yaw_rate_bias + p.yaw_rate_sigma * float(noise[2]))


class WheelOdometryModel:
    """Wheel-speed odometry; ``measure`` returns a :class:`WheelOdometry`."""

    def __init__(self, params: WheelOdometryParams):
        self.params = params
        self.rate = params.rate
        self.latency = params.latency

    def measure(self, truth: WorldTruth, ego: EgoMotion, now: float, rng: np.random.Generator) -> WheelOdometry:
        """Longitudinal speed [m/s] at ``now`` [s]."""
        check_inputs(truth, ego, now)
        p = self.params
        return WheelOdometry(Header(now, p.frame_id),
                             ego.speed * (1.0 + p.scale_error) + float(rng.normal(0.0, p.speed_sigma)))
