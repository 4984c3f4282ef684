"""Ego localisation: an extended Kalman filter on GNSS, IMU and wheel odometry.

State (``base_link`` in ``map``): x, y [m], yaw [rad], speed [m/s], gyro bias [rad/s] and
odometry scale error [-] (wheel speed = speed * (1 + scale error)).
The IMU drives the prediction (its longitudinal acceleration and bias-corrected yaw rate are
held between samples); GNSS updates the position, odometry the speed. A measurement stamped
before the filter time (GNSS arriving after newer IMU samples) is moved to the filter time along
the current velocity before the update (its latency is short: tens of ms). The filter starts once
GNSS has moved ``init_min_distance`` while odometry reads at least ``init_speed_min`` (the heading
comes from that displacement); before that :meth:`EgoLocalizer.estimate` returns None.
"""
from __future__ import annotations

import math

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.core.messages import MAP_FRAME, EgoState, GnssFix, Header, ImuSample, WheelOdometry
from cav_stack.perception.params import LocalizationParams

X, Y, YAW, SPEED, BIAS, SCALE = range(6)
N_STATES = 6
INITIAL_BIAS_SIGMA = 0.01  # [rad/s] gyro bias uncertainty at start (consumer-grade MEMS)
INITIAL_SCALE_SIGMA = 0.02  # [-] wheel-radius uncertainty at start (tyre wear and pressure)


class EgoLocalizer:
    """EKF over (x, y, yaw, speed, gyro bias, odometry scale error); see the module docstring."""

    def __init__(self, params: LocalizationParams):
        self.params = params
        self._x: np.ndarray | None = None
        self._p = np.zeros((N_STATES, N_STATES))
        self._time = -math.inf
        self._accel = 0.0
        self._yaw_rate = 0.0
        self._first_fix: GnssFix | None = None
        self._odometry_speed = 0.0

    @property
    def initialized(self) -> bool:
        """Whether the filter has a heading and gives estimates."""
        return self._x is not None

    def on_imu(self, sample: ImuSample) -> None:
        """Predict to the sample's stamp with the previous input, then hold this sample's input."""
        self._check_finite(sample.header.stamp, sample.accel_x, sample.yaw_rate)
        if self._x is not None and sample.header.stamp > self._time:
            self._predict(sample.header.stamp - self._time)
            self._time = sample.header.stamp
        self._accel, self._yaw_rate = sample.accel_x, sample.yaw_rate

    def on_odometry(self, odometry: WheelOdometry) -> None:
        """Speed update."""
        self._check_finite(odometry.header.stamp, odometry.speed)
        self._odometry_speed = odometry.speed
        if self._x is None:
            return
        self._advance(odometry.header.stamp)
        h = np.zeros((1, N_STATES))
        h[0, SPEED], h[0, SCALE] = 1.0 + self._x[SCALE], self._x[SPEED]
        expected = self._x[SPEED] * (1.0 + self._x[SCALE])
        self._update(np.array([odometry.speed - expected]), h, np.array([[self.params.odometry_sigma ** 2]]))

    def on_gnss(self, fix: GnssFix) -> None:
        """Position update (or initialisation). Raises ValueError for a fix not in ``map``."""
        self._check_finite(fix.header.stamp, fix.x, fix.y, fix.sigma_m)
        if fix.header.frame_id != MAP_FRAME:
            raise ValueError(f"GNSS fix must be in 'map', got {fix.header.frame_id!r}")
        if fix.sigma_m <= 0.0:
            raise ValueError(f"GNSS fix sigma_m must be > 0, got {fix.sigma_m}")
        if self._x is None:
            self._try_initialise(fix)
            return
        self._advance(fix.header.stamp)
        late = max(self._time - fix.header.stamp, 0.0)
        z = np.array([fix.x, fix.y]) + late * self._x[SPEED] * np.array([math.cos(self._x[YAW]),
                                                                          math.sin(self._x[YAW])])
        h = np.zeros((2, N_STATES))
        h[0, X] = h[1, Y] = 1.0
        self._update(z - self._x[:2], h, fix.sigma_m ** 2 * np.eye(2))

    def estimate(self, now: float) -> EgoState | None:
        """State predicted to ``now`` [s] (None before initialisation); covariance of (x, y, yaw, speed)."""
        if self._x is None:
            return None
        x, p = self._x, self._p
        if now > self._time:
            x, jac, q = self._transition(now - self._time)
            p = jac @ p @ jac.T + q
        cov = p[:4, :4]
        return EgoState(Header(now, MAP_FRAME), float(x[X]), float(x[Y]), float(x[YAW]), float(x[SPEED]),
                        accel=self._accel, yaw_rate=self._yaw_rate - float(x[BIAS]),
                        covariance=tuple(float(c) for c in cov.ravel()))

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _check_finite(*values: float) -> None:
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"non-finite localisation input: {values}")

    def _try_initialise(self, fix: GnssFix) -> None:
        p = self.params
        if self._first_fix is None or self._odometry_speed < p.init_speed_min:
            self._first_fix = fix
            return
        dx, dy = fix.x - self._first_fix.x, fix.y - self._first_fix.y
        distance = math.hypot(dx, dy)
        if distance < p.init_min_distance:
            return
        self._x = np.array([fix.x, fix.y, math.atan2(dy, dx), self._odometry_speed, 0.0, 0.0])
        yaw_sigma = math.sqrt(2.0) * fix.sigma_m / distance
        speed_sigma = math.hypot(p.odometry_sigma, INITIAL_SCALE_SIGMA * self._odometry_speed)
        self._p = np.diag([fix.sigma_m ** 2, fix.sigma_m ** 2, yaw_sigma ** 2, speed_sigma ** 2,
                           INITIAL_BIAS_SIGMA ** 2, INITIAL_SCALE_SIGMA ** 2])
        self._time = fix.header.stamp

    def _advance(self, stamp: float) -> None:
        if stamp > self._time:
            self._predict(stamp - self._time)
            self._time = stamp

    def _transition(self, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = self._x
        assert x is not None, "predicting before the first fix"
        rate = self._yaw_rate - x[BIAS]
        heading = x[YAW] + 0.5 * rate * dt
        mean_speed = x[SPEED] + 0.5 * self._accel * dt
        c, s = math.cos(heading), math.sin(heading)
        new = x.copy()
        new[X] += mean_speed * dt * c
        new[Y] += mean_speed * dt * s
        new[YAW] = wrap_angle(x[YAW] + rate * dt)
        new[SPEED] += self._accel * dt
        jac = np.eye(N_STATES)
        jac[X, YAW], jac[Y, YAW] = -mean_speed * dt * s, mean_speed * dt * c
        jac[X, SPEED], jac[Y, SPEED] = dt * c, dt * s
        jac[X, BIAS], jac[Y, BIAS] = mean_speed * dt * s * 0.5 * dt, -mean_speed * dt * c * 0.5 * dt
        jac[YAW, BIAS] = -dt
        p = self.params
        q = np.zeros((N_STATES, N_STATES))
        q[SPEED, SPEED] = (p.accel_noise_sigma * dt) ** 2
        q[YAW, YAW] = (p.yaw_rate_noise_sigma * dt) ** 2
        q[BIAS, BIAS] = p.yaw_rate_bias_psd * dt
        return new, jac, q

    def _predict(self, dt: float) -> None:
        self._x, jac, q = self._transition(dt)
        self._p = jac @ self._p @ jac.T + q

    def _update(self, residual: np.ndarray, h: np.ndarray, r: np.ndarray) -> None:
        s = h @ self._p @ h.T + r
        gain = np.linalg.solve(s, h @ self._p).T
        self._x = self._x + gain @ residual
        self._x[YAW] = wrap_angle(self._x[YAW])
        i_kh = np.eye(N_STATES) - gain @ h
        self._p = i_kh @ self._p @ i_kh.T + gain @ r @ gain.T
