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
                         sight_lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected measurements (N, k) and Jacobians (N, k, 6) of states (N, 6).

    sight_lines (N, 2): for POSITION_RADIAL, the unit vector in ``map`` from the sensor along
    which each radial speed was measured (ignored by the other kinds). The radial speed is taken
    along the measured line of sight, not towards the state's centre: a radar measures the
    velocity of the reflecting surface point, and a rigid body moving without turning has the
    same velocity everywhere, so v . u is exact however far the reflections lie from the centre
    (near, off-axis targets show their side, whose bearing differs from the centre's by tens of
    degrees)."""
    n = states.shape[0]
    if kind in _SELECTIONS:
        rows = _SELECTIONS[kind]
        jac = np.zeros((n, len(rows), STATE_SIZE))
        jac[:, np.arange(len(rows)), rows] = 1.0
        return states[:, rows].copy(), jac
    radial, jac_radial = radial_speeds(states, sight_lines)
    jac = np.zeros((n, 3, STATE_SIZE))
    jac[:, 0, X] = jac[:, 1, Y] = 1.0
    jac[:, 2, :] = jac_radial
    return np.c_[states[:, :2], radial], jac


def radial_speeds(states: np.ndarray, sight_lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ground radial speeds v (cos yaw, sin yaw) . u [m/s] and their Jacobians (..., 6) for states
    (..., 6) and unit lines of sight u (..., 2) in ``map`` (broadcast against each other)."""
    heading = np.stack([np.cos(states[..., YAW]), np.sin(states[..., YAW])], axis=-1)
    along = np.sum(heading * sight_lines, axis=-1)
    across = -heading[..., 1] * sight_lines[..., 0] + heading[..., 0] * sight_lines[..., 1]
    jac = np.zeros(along.shape + (STATE_SIZE,))
    jac[..., YAW] = states[..., SPEED] * across
    jac[..., SPEED] = along
    return states[..., SPEED] * along, jac


def line_of_sight(points: np.ndarray, sensor_position: np.ndarray) -> np.ndarray:
    """Unit vectors (..., 2) from ``sensor_position`` (2,) to ``points`` (..., 2) [m, map]."""
    rel = points - sensor_position
    unit: np.ndarray = rel / np.maximum(np.hypot(rel[..., 0], rel[..., 1]), 1e-3)[..., None]
    return unit


def residuals(kind: MeasurementKind, z: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """z - h(x) with angles wrapped (yaw modulo pi for POSITION_YAW, modulo 2 pi for FULL_STATE)."""
    r: np.ndarray = z - expected
    if kind is MeasurementKind.POSITION_YAW:
        r[..., 2] = 0.5 * wrap_angle(2.0 * r[..., 2])
    elif kind is MeasurementKind.FULL_STATE:
        r[..., 2] = wrap_angle(r[..., 2])
    return r


def yaw_branch(measured_yaw: float, reference_yaw: float) -> float:
    """Of ``measured_yaw`` and ``measured_yaw + pi``, the one nearest ``reference_yaw`` [rad]."""
    flip = abs(wrap_angle(measured_yaw - reference_yaw)) > 0.5 * math.pi
    return float(wrap_angle(measured_yaw + math.pi)) if flip else float(wrap_angle(measured_yaw))


def surface_centroids(states: np.ndarray, sizes: np.ndarray, sensor_position: np.ndarray,
                      rays: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Mean point (N, 2) [m, map] of the box outline a sensor at ``sensor_position`` (2,) sees, and
    the covariance (N, 2, 2) [m^2] of the outline about it: where ``rays`` rays spread evenly over
    each box's azimuth interval first hit it.

    states (N, 6): box centre and yaw; sizes (N, >=2): length, width [m]. This is where the
    reflections of an extended object come from: its rear face when it is straight ahead, rear
    face and side when it is seen obliquely (then the mean lies beside the centre, not behind it
    along the line of sight, and single reflections scatter along the side). A sensor inside a
    box gets the box centre and no spread."""
    n = states.shape[0]
    if n == 0:
        return np.zeros((0, 2)), np.zeros((0, 2, 2))
    half = 0.5 * sizes[:, :2]  # (N, 2)
    c, s = np.cos(states[:, YAW]), np.sin(states[:, YAW])
    rel = sensor_position - states[:, :2]  # sensor relative to the centre, map axes
    origin = np.stack([c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1]], axis=1)  # box axes
    corners = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])[None] * half[:, None, :]  # (N, 4, 2)
    to_corner = corners - origin[:, None, :]
    centre_bearing = np.arctan2(-origin[:, 1], -origin[:, 0])
    offsets = wrap_angle(np.arctan2(to_corner[..., 1], to_corner[..., 0]) - centre_bearing[:, None])
    low, high = offsets.min(axis=1), offsets.max(axis=1)
    fractions = (np.arange(rays) + 0.5) / rays
    bearing = centre_bearing[:, None] + low[:, None] + (high - low)[:, None] * fractions[None, :]  # (N, R)
    d = np.stack([np.cos(bearing), np.sin(bearing)], axis=-1)  # (N, R, 2), box axes
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-half[:, None, :] - origin[:, None, :]) / d
        t2 = (half[:, None, :] - origin[:, None, :]) / d
    enter = np.nanmax(np.minimum(t1, t2), axis=-1)  # (N, R) slab method: entry distance
    hits = origin[:, None, :] + np.clip(enter, 0.0, None)[..., None] * d
    inside = np.all(np.abs(origin) < half, axis=1)
    hits = np.where(inside[:, None, None], 0.0, hits)  # (N, R, 2) box axes, from the centre
    local = hits.mean(axis=1)
    spread = hits - local[:, None, :]
    local_cov = np.einsum("nri,nrj->nij", spread, spread) / rays
    rot = np.stack([np.stack([c, -s], axis=1), np.stack([s, c], axis=1)], axis=1)  # (N, 2, 2) box -> map
    centroid = states[:, :2] + np.einsum("nij,nj->ni", rot, local)
    return centroid, rot @ local_cov @ rot.transpose(0, 2, 1)
