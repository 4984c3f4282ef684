"""Constant turn rate and acceleration (CTRA) motion model, vectorised over tracks.

State per track (``map``): x, y [m], yaw [rad], speed [m/s], yaw rate [rad/s], accel [m/s^2].
Propagation over dt uses the midpoint heading and speed (second-order accurate, smooth at zero
yaw rate); process noise is white jerk along the heading and white yaw acceleration, integrated
over dt, plus a small isotropic position noise.
"""
from __future__ import annotations

import numpy as np

from cav_stack.core.frames import wrap_angle

STATE_SIZE = 6
X, Y, YAW, SPEED, YAW_RATE, ACCEL = range(STATE_SIZE)


def predict_states(states: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Propagate states (N, 6) by dt [s]; returns new states and Jacobians (N, 6, 6)."""
    n = states.shape[0]
    yaw, v, w, a = states[:, YAW], states[:, SPEED], states[:, YAW_RATE], states[:, ACCEL]
    heading = yaw + 0.5 * w * dt
    mean_speed = v + 0.5 * a * dt
    c, s = np.cos(heading), np.sin(heading)
    out = states.copy()
    out[:, X] += mean_speed * dt * c
    out[:, Y] += mean_speed * dt * s
    out[:, YAW] = wrap_angle(yaw + w * dt)
    out[:, SPEED] = v + a * dt
    jac = np.broadcast_to(np.eye(STATE_SIZE), (n, STATE_SIZE, STATE_SIZE)).copy()
    jac[:, X, YAW] = -mean_speed * dt * s
    jac[:, X, YAW_RATE] = -mean_speed * dt * s * 0.5 * dt
    jac[:, X, SPEED] = dt * c
    jac[:, X, ACCEL] = 0.5 * dt * dt * c
    jac[:, Y, YAW] = mean_speed * dt * c
    jac[:, Y, YAW_RATE] = mean_speed * dt * c * 0.5 * dt
    jac[:, Y, SPEED] = dt * s
    jac[:, Y, ACCEL] = 0.5 * dt * dt * s
    jac[:, YAW, YAW_RATE] = dt
    jac[:, SPEED, ACCEL] = dt
    return out, jac


def process_noise(states: np.ndarray, dt: float, jerk_psd: float | np.ndarray, yaw_accel_psd: float | np.ndarray,
                  position_psd: float | np.ndarray) -> np.ndarray:
    """Discrete process noise (N, 6, 6) over dt [s] for states (N, 6).

    jerk_psd [m^2/s^5]: white jerk along the heading (a triple integrator: position along the
    heading, speed, accel); yaw_accel_psd [rad^2/s^3]: white yaw acceleration (yaw, yaw rate);
    position_psd [m^2/s]: isotropic position random walk. Each is one value or one per track (N,)."""
    n = states.shape[0]
    jerk, yaw_accel, position = (np.broadcast_to(np.asarray(v, float), (n,))[:, None, None]
                                 for v in (jerk_psd, yaw_accel_psd, position_psd))
    d2, d3, d4, d5 = dt ** 2, dt ** 3, dt ** 4, dt ** 5
    chain = jerk * np.array([[d5 / 20.0, d4 / 8.0, d3 / 6.0], [d4 / 8.0, d3 / 3.0, d2 / 2.0],
                             [d3 / 6.0, d2 / 2.0, dt]])[None]  # (N, 3, 3)
    c, s = np.cos(states[:, YAW]), np.sin(states[:, YAW])
    q = np.zeros((n, STATE_SIZE, STATE_SIZE))
    along = np.stack([c, s], axis=1)  # (N, 2)
    q[:, :2, :2] = chain[:, :1, :1] * along[:, :, None] * along[:, None, :] + position * dt * np.eye(2)
    q[:, :2, SPEED] = chain[:, 0, 1, None] * along
    q[:, :2, ACCEL] = chain[:, 0, 2, None] * along
    q[:, SPEED, :2] = q[:, :2, SPEED]
    q[:, ACCEL, :2] = q[:, :2, ACCEL]
    q[:, SPEED, SPEED] = chain[:, 1, 1]
    q[:, SPEED, ACCEL] = q[:, ACCEL, SPEED] = chain[:, 1, 2]
    q[:, ACCEL, ACCEL] = chain[:, 2, 2]
    yaw_accel = yaw_accel[:, 0, 0]
    q[:, YAW, YAW] = yaw_accel * d3 / 3.0
    q[:, YAW, YAW_RATE] = q[:, YAW_RATE, YAW] = yaw_accel * d2 / 2.0
    q[:, YAW_RATE, YAW_RATE] = yaw_accel * dt
    return q
