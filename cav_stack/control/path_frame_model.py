"""Kinematic bicycle in the path (Frenet) frame of a reference line, for MPC prediction.

State: s [m] arc length of the rear-axle's projection, lateral [m] offset of the rear axle
(positive left), heading_error [rad] (yaw minus path heading), speed [m/s], accel [m/s^2],
steer [rad]; inputs as :class:`cav_stack.control.vehicle_models.KinematicBicycle`.
The same rear-axle kinematics as the plant's model, expressed relative to a path of curvature
``curvature`` [1/m] (held constant over a stage by the MPC). ``steer_bias`` [rad] is subtracted
from the steering angle in the yaw kinematics (see :mod:`steer_bias`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from cav_stack.control.vehicle_models import VehicleParams

PATH_STATE_NAMES = ("s", "lateral", "heading_error", "speed", "accel", "steer")


@dataclass(frozen=True)
class PathFrameBicycle:
    """Rear-axle kinematic bicycle with actuator lags along a path of given curvature."""

    params: VehicleParams
    curvature: Any
    steer_bias: Any = 0.0
    state_names: ClassVar[tuple[str, ...]] = PATH_STATE_NAMES

    def derivatives(self, state: Any, control: Any, ops: Any, stack: Callable[[list[Any]], Any]) -> Any:
        _, lateral, heading_error, speed, accel, steer = (state[i] for i in range(6))
        accel_cmd, steer_cmd = control[0], control[1]
        p = self.params
        s_dot = speed * ops.cos(heading_error) / (1.0 - self.curvature * lateral)
        return stack([
            s_dot,
            speed * ops.sin(heading_error),
            speed * ops.tan(steer - self.steer_bias) / p.wheelbase - self.curvature * s_dot,
            accel,
            (accel_cmd - accel) / p.accel_time_constant,
            (steer_cmd - steer) / p.steer_time_constant,
        ])
