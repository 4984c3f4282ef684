"""From the stack's (acceleration, steering angle) command to CARLA's ``VehicleControl``.

Longitudinal: a calibrated forward model of the CARLA vehicle,

    a = (g_t + g_tv * v) * throttle - g_b * brake - r_0 - c_d * v^2          [m/s^2]

(throttle, brake in [0, 1], speed v [m/s]) is linear in its five coefficients, so it is fitted by
least squares to logged (v, throttle, brake, a) samples (:func:`fit_longitudinal_model`) and
inverted in closed form (:meth:`LongitudinalModel.pedals`): the pedal that makes the model's
acceleration equal the request, throttle when the request exceeds the coasting deceleration,
brake otherwise, never both.

Lateral: CARLA's ``steer`` in [-1, 1] (positive turns right) scales the front wheels' maximum
steering angle (``WheelPhysicsControl.max_steer_angle`` [deg]), which PhysX further scales by the
vehicle's ``steering_curve`` (factor against forward speed in km/h, as Unreal's
``SteeringCurve``); :class:`SteeringMap` inverts both.
"""
from __future__ import annotations

from itertools import pairwise
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cav_stack.core.messages import ControlCommand
from cav_stack.core.params import validate_positive
from cav_stack.core.units import KPH_PER_MPS
from cav_stack.sim.carla_client import require_carla


@dataclass(frozen=True)
class LongitudinalModel:
    """Coefficients of the longitudinal model (module docstring).

    throttle_gain g_t [m/s^2] and throttle_gain_per_speed g_tv [1/s]: full-throttle acceleration
    at standstill and its change with speed; brake_gain g_b [m/s^2]: full-brake deceleration;
    rolling_decel r_0 [m/s^2]; drag_coefficient c_d [1/m].
    """

    throttle_gain: float
    throttle_gain_per_speed: float
    brake_gain: float
    rolling_decel: float
    drag_coefficient: float

    def __post_init__(self) -> None:
        validate_positive(throttle_gain=self.throttle_gain, brake_gain=self.brake_gain)
        if self.rolling_decel < 0.0 or self.drag_coefficient < 0.0:
            raise ValueError("rolling_decel and drag_coefficient must be >= 0")

    def throttle_authority(self, speed: float) -> float:
        """Full-throttle acceleration above the resistances' [m/s^2] at ``speed`` [m/s], floored at 0."""
        return max(self.throttle_gain + self.throttle_gain_per_speed * speed, 0.0)

    def resistance(self, speed: float) -> float:
        """Coasting deceleration [m/s^2] at ``speed`` [m/s] (0 at standstill: nothing to resist)."""
        return (self.rolling_decel + self.drag_coefficient * speed * speed) if speed > 0.0 else 0.0

    def accel(self, speed: float, throttle: float, brake: float) -> float:
        """Model acceleration [m/s^2] for pedals in [0, 1] at ``speed`` [m/s]."""
        return self.throttle_authority(speed) * throttle - self.brake_gain * brake - self.resistance(speed)

    def pedals(self, accel: float, speed: float) -> tuple[float, float]:
        """(throttle, brake) in [0, 1] for the requested ``accel`` [m/s^2] at ``speed`` [m/s]."""
        if not (math.isfinite(accel) and math.isfinite(speed)):
            raise ValueError(f"non-finite acceleration request {accel} m/s^2 at speed {speed} m/s")
        need = accel + self.resistance(speed)
        if need > 0.0:
            authority = self.throttle_authority(speed)
            return (min(need / authority, 1.0) if authority > 0.0 else 1.0), 0.0
        return 0.0, min(-need / self.brake_gain, 1.0)


def fit_longitudinal_model(speed: np.ndarray, throttle: np.ndarray, brake: np.ndarray,
                           accel: np.ndarray) -> LongitudinalModel:
    """Least-squares fit of :class:`LongitudinalModel` to logged samples (arrays of equal length).

    speed [m/s] (> 0 samples only are used: the resistances vanish at standstill), throttle and
    brake in [0, 1], accel [m/s^2] (measured longitudinal acceleration). Raises ValueError when
    the samples do not excite throttle, brake and speed enough to identify the coefficients.
    """
    speed, throttle, brake, accel = (np.asarray(a, dtype=float).ravel() for a in (speed, throttle, brake, accel))
    if not speed.size == throttle.size == brake.size == accel.size:
        raise ValueError("speed, throttle, brake and accel must have the same length")
    moving = speed > 0.0
    v, th, br, a = speed[moving], throttle[moving], brake[moving], accel[moving]
    design = np.column_stack([th, th * v, -br, -np.ones_like(v), -v * v])
    if v.size < design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError("calibration samples do not identify the model: log throttle and brake steps "
                         "at several speeds (and some coasting)")
    coefficients, *_ = np.linalg.lstsq(design, a, rcond=None)
    g_t, g_tv, g_b, r_0, c_d = (float(c) for c in coefficients)
    try:
        return LongitudinalModel(g_t, g_tv, g_b, max(r_0, 0.0), max(c_d, 0.0))
    except ValueError as exc:
        raise ValueError(f"calibration gave a non-physical model ({exc}); check the logged samples") from exc


@dataclass(frozen=True)
class SteeringMap:
    """Front-wheel angle [rad, REP 103: positive left] <-> CARLA ``steer`` in [-1, 1] (positive right).

    max_angle: largest front-wheel angle [rad] at full steer; curve_speeds [m/s] and curve_factors
    [-]: CARLA's ``steering_curve`` (factor on max_angle against forward speed, linear in between,
    held beyond the ends).
    """

    max_angle: float
    curve_speeds: tuple[float, ...] = (0.0,)
    curve_factors: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        validate_positive(max_angle=self.max_angle)
        if len(self.curve_speeds) != len(self.curve_factors) or not self.curve_speeds:
            raise ValueError("steering curve needs as many speeds as factors (at least one)")
        if any(b <= a for a, b in pairwise(self.curve_speeds)):
            raise ValueError("steering curve speeds must increase")
        if any(not f > 0.0 for f in self.curve_factors):
            raise ValueError("steering curve factors must be > 0")

    @classmethod
    def from_physics_control(cls, physics: Any) -> SteeringMap:
        """From a ``carla.VehiclePhysicsControl``: the largest wheel ``max_steer_angle`` [deg] and the
        ``steering_curve`` (x: forward speed [km/h], y: factor)."""
        angles = [float(wheel.max_steer_angle) for wheel in physics.wheels]
        if not angles or max(angles) <= 0.0:
            raise ValueError("vehicle physics control has no steerable wheel (max_steer_angle > 0)")
        curve = sorted((float(p.x) / KPH_PER_MPS, float(p.y)) for p in physics.steering_curve) or [(0.0, 1.0)]
        return cls(math.radians(max(angles)), tuple(s for s, _ in curve), tuple(f for _, f in curve))

    def max_angle_at(self, speed: float) -> float:
        """Largest reachable front-wheel angle [rad] at forward ``speed`` [m/s]."""
        return self.max_angle * float(np.interp(abs(speed), self.curve_speeds, self.curve_factors))

    def steer_input(self, angle: float, speed: float) -> float:
        """CARLA ``steer`` for the front-wheel ``angle`` [rad, positive left] at ``speed`` [m/s]."""
        if not math.isfinite(angle):
            raise ValueError(f"non-finite steering angle {angle} rad")
        return min(max(-angle / self.max_angle_at(speed), -1.0), 1.0)


def vehicle_control(command: ControlCommand, speed: float, longitudinal: LongitudinalModel,
                    steering: SteeringMap) -> Any:
    """The ``carla.VehicleControl`` realising ``command`` at forward ``speed`` [m/s]."""
    carla = require_carla()
    throttle, brake = longitudinal.pedals(command.accel, speed)
    return carla.VehicleControl(throttle=throttle, steer=steering.steer_input(command.steer, speed), brake=brake,
                                hand_brake=False, reverse=False, manual_gear_shift=False)
