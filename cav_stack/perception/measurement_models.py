"""Measurement functions h(x), their Jacobians and residuals for each :class:`MeasurementKind`.

States are CTRA rows (x, y, yaw, speed, yaw rate, accel) in ``map``; see :mod:`motion_model`.
"""
from __future__ import annotations

import math

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.perception.detections import MeasurementKind
from cav_stack.perception.motion_model import SPEED, STATE_SIZE, X, Y, YAW

_SELECTIONS = {
    MeasurementKind.POSITION: [X, Y],
    MeasurementKind.POSITION_YAW: [X, Y, YAW],
    MeasurementKind.FULL_STATE: list(range(STATE_SIZE)),
}


def predict_measurements(kind: MeasurementKind, states: np.ndarray,
                         sensor_position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected measurements (N, k) and Jacobians (N, k, 6) of states (N, 6)."""
    n = states.shape[0]
    if kind in _SELECTIONS:
        rows = _SELECTIONS[kind]
        jac = np.zeros((n, len(rows), STATE_SIZE))
        jac[:, np.arange(len(rows)), rows] = 1.0
        return states[:, rows].copy(), jac
    # POSITION_RADIAL: ground radial speed = v (cos yaw, sin yaw) . u, u = unit(p - sensor).
    rel = states[:, :2] - sensor_position
    dist = np.maximum(np.hypot(rel[:, 0], rel[:, 1]), 1e-3)
    u = rel / dist[:, None]
    heading = np.stack([np.cos(states[:, YAW]), np.sin(states[:, YAW])], axis=1)
    velocity = states[:, SPEED:SPEED + 1] * heading
    radial = np.sum(velocity * u, axis=1)
    jac = np.zeros((n, 3, STATE_SIZE))
    jac[:, 0, X] = jac[:, 1, Y] = 1.0
    # d(v . u)/dp = v^T (I - u u^T) / |p - s|
    jac[:, 2, X:Y + 1] = (velocity - radial[:, None] * u) / dist[:, None]
    jac[:, 2, YAW] = states[:, SPEED] * (-heading[:, 1] * u[:, 0] + heading[:, 0] * u[:, 1])
    jac[:, 2, SPEED] = np.sum(heading * u, axis=1)
    return np.c_[states[:, :2], radial], jac


def residuals(kind: MeasurementKind, z: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """z - h(x) with angles wrapped (yaw modulo pi for POSITION_YAW, modulo 2 pi for FULL_STATE)."""
    r = z - expected
    if kind is MeasurementKind.POSITION_YAW:
        r[..., 2] = 0.5 * wrap_angle(2.0 * r[..., 2])
    elif kind is MeasurementKind.FULL_STATE:
        r[..., 2] = wrap_angle(r[..., 2])
    return r


def yaw_branch(measured_yaw: float, reference_yaw: float) -> float:
    """Of ``measured_yaw`` and ``measured_yaw + pi``, the one nearest ``reference_yaw`` [rad]."""
    flip = abs(wrap_angle(measured_yaw - reference_yaw)) > 0.5 * math.pi
    return float(wrap_angle(measured_yaw + math.pi)) if flip else float(wrap_angle(measured_yaw))
