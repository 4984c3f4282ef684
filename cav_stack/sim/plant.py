"""The ego vehicle plant: our own dynamics moving a CAV through the simulated world.

The plant integrates :class:`~cav_stack.control.vehicle_models.KinematicBicycle` (first-order
actuator lags) with RK4 sub-steps, limits the commands to the vehicle's capabilities and
never lets the vehicle roll backwards. The world bridge pushes the resulting pose into SUMO.
State in ``map``, reference point at the rear axle (see vehicle_models).
"""
from __future__ import annotations

import math

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.control.vehicle_models import (
    KinematicBicycle, VehicleParams, centre_from_rear_axle, clamp_controls, numpy_stack,
    rear_axle_from_centre, rk4_step,
)

SUBSTEPS = 5


class VehiclePlant:
    """Integrates one vehicle's motion over fixed ticks.

    Start it from the vehicle's box centre (x, y [m], map), yaw [rad] and speed [m/s].
    """

    def __init__(self, params: VehicleParams, centre_x: float, centre_y: float, yaw: float, speed: float):
        self.params = params
        self.model = KinematicBicycle(params)
        rx, ry = rear_axle_from_centre(centre_x, centre_y, yaw, params)
        self.state = np.array([rx, ry, yaw, speed, 0.0, 0.0])
        self._steer_cmd = 0.0

    def step(self, accel_cmd: float, steer_cmd: float, dt: float) -> None:
        """Advance ``dt`` [s] under the commanded acceleration [m/s^2] and steering angle [rad]."""
        accel_cmd, steer_cmd = clamp_controls(self.params, accel_cmd, steer_cmd)
        max_delta = self.params.max_steer_rate * dt
        self._steer_cmd = min(max(steer_cmd, self._steer_cmd - max_delta), self._steer_cmd + max_delta)
        h = dt / SUBSTEPS
        for _ in range(SUBSTEPS):
            accel_limit = accel_cmd if self.state[3] > 0.0 else max(accel_cmd, 0.0)
            self.state = rk4_step(self.model, self.state, np.array([accel_limit, self._steer_cmd]), h,
                                  np, numpy_stack)
            if self.state[3] < 0.0:
                self.state[3] = 0.0
                self.state[4] = max(self.state[4], 0.0)
        self.state[2] = wrap_angle(self.state[2])

    @property
    def centre(self) -> tuple[float, float]:
        """Box centre [m, map]."""
        return centre_from_rear_axle(self.state[0], self.state[1], self.state[2], self.params)

    @property
    def yaw(self) -> float:
        return float(self.state[2])

    @property
    def speed(self) -> float:
        return float(self.state[3])

    @property
    def accel(self) -> float:
        return float(self.state[4])

    @property
    def steer(self) -> float:
        return float(self.state[5])

    @property
    def yaw_rate(self) -> float:
        """Yaw rate [rad/s] from the kinematic relation v tan(delta) / L."""
        return self.speed * math.tan(self.steer) / self.params.wheelbase
