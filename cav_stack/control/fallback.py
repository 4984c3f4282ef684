"""Last-resort control when the MPC has no usable plan: bounded braking along the path.

Steering follows the path with pure pursuit (Coulter, "Implementation of the pure pursuit path
tracking algorithm", CMU-RI-TR-92-01, 1992) on the rear-axle bicycle: δ = atan(2 L sin α / l_d).
"""
from __future__ import annotations

import math

import numpy as np

from cav_stack.control.reference_path import ReferencePath
from cav_stack.control.vehicle_models import VehicleParams
from cav_stack.core.messages import EgoState, Header, Trajectory, TrajectoryPoint


def pure_pursuit_steer(path: ReferencePath, ego: EgoState, lateral_target: float,
                       lookahead: float, vehicle: VehicleParams) -> float:
    """Front-wheel angle [rad] steering the rear axle onto the path shifted by ``lateral_target``
    [m, left] at ``lookahead`` [m] ahead, limited to the vehicle's maximum."""
    s, _, _ = path.project(ego.x, ego.y, ego.yaw)
    gx, gy = path.to_map(s + lookahead, lateral_target)
    dx, dy = float(gx) - ego.x, float(gy) - ego.y
    alpha = math.atan2(dy, dx) - ego.yaw
    distance = max(math.hypot(dx, dy), 1e-3)
    steer = math.atan2(2.0 * vehicle.wheelbase * math.sin(alpha), distance)
    return min(max(steer, -vehicle.max_steer), vehicle.max_steer)


def braking_trajectory(path: ReferencePath, ego: EgoState, decel: float, step: float,
                       count: int) -> Trajectory:
    """Predicted stop along the path at constant deceleration ``decel`` [m/s^2] from the ego's
    current speed and lateral offset: ``count`` points ``step`` [s] apart, in ``map``."""
    s0, lateral, heading_error = path.project(ego.x, ego.y, ego.yaw)
    t = step * np.arange(count)
    v0 = max(ego.speed, 0.0)
    t_move = np.minimum(t, v0 / decel)
    speed = v0 - decel * t_move
    s = s0 + v0 * t_move - 0.5 * decel * t_move**2
    x, y = path.to_map(s, lateral)
    yaw = path.heading(s) + heading_error
    accel = np.where(t < v0 / decel, -decel, 0.0)
    points = tuple(TrajectoryPoint(float(ti), float(xi), float(yi), float(ya), float(vi), float(ai))
                   for ti, xi, yi, ya, vi, ai in zip(t, x, y, yaw, speed, accel, strict=True))
    return Trajectory(Header(ego.header.stamp, ego.header.frame_id), points)
