"""Steering-offset observer that makes the kinematic MPC offset-free on a real vehicle.

The MPC predicts yaw rate with the kinematic bicycle, r = v tan(δ) / L. A real car understeers
(and its steering may be misaligned), so a held steering angle turns less than predicted and the
MPC settles with a lateral offset in curves. The observer compares the measured yaw rate with
the kinematic prediction, expresses the difference as a steering offset
b = δ - atan(L r / v), low-pass filters it and hands it to the MPC, which then predicts with
tan(δ - b): a disturbance model with integral action (Pannocchia & Rawlings, "Disturbance models
for offset-free model-predictive control", AIChE J. 49(2), 2003).
"""
from __future__ import annotations

import math

from cav_stack.control.vehicle_models import VehicleParams
from cav_stack.core.messages import EgoState


class SteerBiasObserver:
    """First-order low-pass estimate of the steering offset [rad].

    time_constant [s]: filter time constant; limit [rad]: the estimate is clamped to ±limit;
    min_speed [m/s]: below it the yaw rate says little about the steering and the estimate holds.
    """

    def __init__(self, vehicle: VehicleParams, time_constant: float, limit: float, min_speed: float):
        self.vehicle = vehicle
        self.time_constant = time_constant
        self.limit = limit
        self.min_speed = min_speed
        self.bias = 0.0
        self._last_time: float | None = None

    def reset(self) -> None:
        """Forget the estimate."""
        self.bias = 0.0
        self._last_time = None

    def update(self, now: float, ego: EgoState) -> float:
        """Fold in the ego state at ``now`` [s] (uses speed, steer and yaw_rate); return the
        current estimate [rad]."""
        dt = 0.0 if self._last_time is None else now - self._last_time
        self._last_time = now
        if ego.speed < self.min_speed or dt <= 0.0:
            return self.bias
        raw = ego.steer - math.atan(self.vehicle.wheelbase * ego.yaw_rate / ego.speed)
        alpha = 1.0 - math.exp(-dt / self.time_constant)
        self.bias = min(max(self.bias + alpha * (raw - self.bias), -self.limit), self.limit)
        return self.bias
