"""Vehicle models shared by the plant (simulation) and the MPC (prediction).

State and input vectors are plain arrays so the same dynamics serve numpy (plant, fast
integration) and CasADi (symbolic prediction in the MPC): :meth:`VehicleModel.derivatives`
takes a math namespace (``numpy`` or ``casadi``) and a function to stack the result.

Kinematic bicycle state, all in ``map`` with the reference point at the rear axle:
    x [m], y [m], yaw [rad], speed [m/s], accel [m/s^2], steer [rad] (front wheel, positive left)
Inputs: commanded acceleration [m/s^2] and commanded front-wheel angle [rad]; the actuators
follow them with first-order lags.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol
from collections.abc import Callable

import numpy as np

from cav_stack.core.params import load_node_params, validate_positive

STATE_NAMES = ("x", "y", "yaw", "speed", "accel", "steer")
#: Dynamic bicycle state: the kinematic state followed by lateral speed [m/s] at the centre of
#: gravity (body frame, positive left) and yaw rate [rad/s].
DYNAMIC_STATE_NAMES = STATE_NAMES + ("lateral_speed", "yaw_rate")
INPUT_NAMES = ("accel_cmd", "steer_cmd")


@dataclass(frozen=True)
class VehicleParams:
    """Geometry, actuator dynamics and limits of a vehicle.

    wheelbase, length, width, rear_overhang [m] (rear_overhang: rear bumper to rear axle);
    accel_time_constant, steer_time_constant: first-order actuator lags [s];
    max_accel, max_decel (positive number) [m/s^2]; max_steer [rad]; max_steer_rate [rad/s];
    max_speed [m/s]; mass [kg]; yaw_inertia [kg m^2]; cg_to_front, cg_to_rear [m];
    cornering_stiffness_front, cornering_stiffness_rear [N/rad] (dynamic model);
    dynamic_blend_speed_low, dynamic_blend_speed_high [m/s]: the dynamic model is purely
    kinematic below the low speed, purely dynamic above the high one, blended linearly between.
    """

    wheelbase: float
    length: float
    width: float
    rear_overhang: float
    accel_time_constant: float
    steer_time_constant: float
    max_accel: float
    max_decel: float
    max_steer: float
    max_steer_rate: float
    max_speed: float
    mass: float = 1500.0
    yaw_inertia: float = 2500.0
    cg_to_front: float = 1.2
    cg_to_rear: float = 1.6
    cornering_stiffness_front: float = 80000.0
    cornering_stiffness_rear: float = 80000.0
    dynamic_blend_speed_low: float = 3.0
    dynamic_blend_speed_high: float = 5.0

    def __post_init__(self) -> None:
        validate_positive(
            wheelbase=self.wheelbase, length=self.length, width=self.width,
            accel_time_constant=self.accel_time_constant, steer_time_constant=self.steer_time_constant,
            max_accel=self.max_accel, max_decel=self.max_decel, max_steer=self.max_steer,
            max_steer_rate=self.max_steer_rate, max_speed=self.max_speed,
        )
        if not self.dynamic_blend_speed_high > self.dynamic_blend_speed_low > 0.0:
            raise ValueError(
                "need 0 < dynamic_blend_speed_low < dynamic_blend_speed_high, got "
                f"{self.dynamic_blend_speed_low} and {self.dynamic_blend_speed_high}")

    @property
    def rear_axle_to_centre(self) -> float:
        """Distance from the rear axle forward to the centre of the bounding box [m]."""
        return self.length / 2.0 - self.rear_overhang


class VehicleModel(Protocol):
    """Continuous-time vehicle dynamics over numpy or CasADi values."""

    @property
    def params(self) -> VehicleParams: ...

    def derivatives(self, state: Any, control: Any, ops: Any, stack: Callable[[list[Any]], Any]) -> Any:
        """Time derivative of ``state`` under ``control`` using math namespace ``ops``."""


@dataclass(frozen=True)
class KinematicBicycle:
    """Kinematic bicycle about the rear axle with first-order acceleration and steering lags."""

    params: VehicleParams
    state_names: ClassVar[tuple[str, ...]] = STATE_NAMES

    def derivatives(self, state: Any, control: Any, ops: Any, stack: Callable[[list[Any]], Any]) -> Any:
        _, _, yaw, speed, accel, steer = (state[i] for i in range(6))
        accel_cmd, steer_cmd = control[0], control[1]
        p = self.params
        return stack([
            speed * ops.cos(yaw),
            speed * ops.sin(yaw),
            speed * ops.tan(steer) / p.wheelbase,
            accel,
            (accel_cmd - accel) / p.accel_time_constant,
            (steer_cmd - steer) / p.steer_time_constant,
        ])


@dataclass(frozen=True)
class DynamicBicycle:
    """Dynamic single-track model with linear tyres and actuator lags, blended to kinematic.

    State :data:`DYNAMIC_STATE_NAMES` (the first six as in :class:`KinematicBicycle`, so the
    rear-axle pose and speed read the same); inputs as for :class:`KinematicBicycle`.
    Tyre forces are linear in the slip angles (cornering stiffness [N/rad]); the longitudinal
    speed follows the lagged acceleration as in the kinematic model. Slip angles are singular at
    standstill, so the derivative is blended from the kinematic one (below
    ``dynamic_blend_speed_low``) to the dynamic one (above ``dynamic_blend_speed_high``), with the
    kinematic lateral speed and yaw rate differentiated in time so the two agree
    (Kabzan et al., "Learning-based model predictive control for autonomous racing",
    IEEE RA-L 4(4), 2019, Sec. III-A).
    """

    params: VehicleParams
    state_names: ClassVar[tuple[str, ...]] = DYNAMIC_STATE_NAMES

    def __post_init__(self) -> None:
        p = self.params
        if abs(p.cg_to_front + p.cg_to_rear - p.wheelbase) > 1e-6:
            raise ValueError(
                f"cg_to_front + cg_to_rear ({p.cg_to_front + p.cg_to_rear}) must equal the "
                f"wheelbase ({p.wheelbase}) for the dynamic bicycle")
        validate_positive(mass=p.mass, yaw_inertia=p.yaw_inertia, cg_to_front=p.cg_to_front,
                          cg_to_rear=p.cg_to_rear,
                          cornering_stiffness_front=p.cornering_stiffness_front,
                          cornering_stiffness_rear=p.cornering_stiffness_rear)

    def derivatives(self, state: Any, control: Any, ops: Any, stack: Callable[[list[Any]], Any]) -> Any:
        _, _, yaw, speed, accel, steer, lat_speed, yaw_rate = (state[i] for i in range(8))
        accel_cmd, steer_cmd = control[0], control[1]
        p = self.params
        lf, lr = p.cg_to_front, p.cg_to_rear
        steer_rate = (steer_cmd - steer) / p.steer_time_constant
        cos_yaw, sin_yaw, cos_steer = ops.cos(yaw), ops.sin(yaw), ops.cos(steer)

        # Dynamic: linear tyres; the slip angles use a speed floored at the blend start, where
        # the dynamic part has zero weight.
        vx = ops.fmax(speed, p.dynamic_blend_speed_low)
        force_front = p.cornering_stiffness_front * (steer - (lat_speed + lf * yaw_rate) / vx)
        force_rear = p.cornering_stiffness_rear * (-(lat_speed - lr * yaw_rate) / vx)
        rear_lat_speed = lat_speed - lr * yaw_rate
        dynamic = [
            speed * cos_yaw - rear_lat_speed * sin_yaw,
            speed * sin_yaw + rear_lat_speed * cos_yaw,
            yaw_rate,
            (force_front * cos_steer + force_rear) / p.mass - speed * yaw_rate,
            (lf * force_front * cos_steer - lr * force_rear) / p.yaw_inertia,
        ]
        # Kinematic: no slip at the rear axle; yaw rate and CG lateral speed follow the steering.
        tan_steer = ops.tan(steer)
        kin_yaw_rate = speed * tan_steer / p.wheelbase
        kin_yaw_accel = (accel * tan_steer + speed * steer_rate / cos_steer**2) / p.wheelbase
        kinematic = [speed * cos_yaw, speed * sin_yaw, kin_yaw_rate, lr * kin_yaw_accel, kin_yaw_accel]

        weight = ops.fmin(ops.fmax(
            (speed - p.dynamic_blend_speed_low) / (p.dynamic_blend_speed_high - p.dynamic_blend_speed_low),
            0.0), 1.0)
        x_dot, y_dot, yaw_dot, lat_dot, yaw_rate_dot = (
            weight * d + (1.0 - weight) * k for d, k in zip(dynamic, kinematic, strict=True))
        return stack([
            x_dot, y_dot, yaw_dot, accel,
            (accel_cmd - accel) / p.accel_time_constant,
            steer_rate,
            lat_dot, yaw_rate_dot,
        ])


def load_vehicle_params(path: str | Path, node_name: str = "vehicle") -> VehicleParams:
    """Load :class:`VehicleParams` from the ``node_name: ros__parameters:`` section of a YAML file.

    Angles are given as ``*_deg`` keys (``max_steer_deg``, ``max_steer_rate_deg`` [deg/s]);
    raises :class:`cav_stack.core.params.ParamsError` naming file, line and key on bad input.
    """
    return load_node_params(path, node_name, VehicleParams)


def rk4_step(model: VehicleModel, state: Any, control: Any, dt: float, ops: Any,
             stack: Callable[[list[Any]], Any]) -> Any:
    """One classical Runge-Kutta step of ``model`` over ``dt`` [s] (numpy or CasADi)."""
    k1 = model.derivatives(state, control, ops, stack)
    k2 = model.derivatives(state + 0.5 * dt * k1, control, ops, stack)
    k3 = model.derivatives(state + 0.5 * dt * k2, control, ops, stack)
    k4 = model.derivatives(state + dt * k3, control, ops, stack)
    return state + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def numpy_stack(items: list[Any]) -> np.ndarray:
    """Stack scalar derivatives into a numpy vector (the ``stack`` argument for numpy)."""
    return np.array(items, dtype=float)


def clamp_controls(params: VehicleParams, accel_cmd: float, steer_cmd: float) -> tuple[float, float]:
    """Limit commanded acceleration [m/s^2] and steering [rad] to the vehicle's capabilities."""
    accel = min(max(accel_cmd, -params.max_decel), params.max_accel)
    steer = min(max(steer_cmd, -params.max_steer), params.max_steer)
    return accel, steer


def centre_from_rear_axle(x: float, y: float, yaw: float, params: VehicleParams) -> tuple[float, float]:
    """Box centre [m, map] of a vehicle whose rear axle is at (x, y) with heading yaw [rad]."""
    d = params.rear_axle_to_centre
    return x + d * math.cos(yaw), y + d * math.sin(yaw)


def rear_axle_from_centre(x: float, y: float, yaw: float, params: VehicleParams) -> tuple[float, float]:
    """Rear-axle position [m, map] of a vehicle whose box centre is at (x, y) with heading yaw [rad]."""
    d = params.rear_axle_to_centre
    return x - d * math.cos(yaw), y - d * math.sin(yaw)
