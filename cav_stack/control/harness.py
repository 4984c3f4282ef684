"""Pure-numpy closed loop pieces for verifying controllers without a simulator.

The plant is a vehicle model (:class:`KinematicBicycle` unless given, e.g.
:class:`DynamicBicycle`) integrated with RK4 and the speed kept non-negative (a braking car
stops, it does not reverse). Used by the control unit tests and
``benchmarks/mpc.py``; the SUMO closed loop lives in ``cav_stack.sim``.
"""
from __future__ import annotations

import numpy as np

from cav_stack.control.vehicle_models import (
    KinematicBicycle,
    VehicleModel,
    VehicleParams,
    clamp_controls,
    numpy_stack,
    rk4_step,
)
from cav_stack.core.messages import MAP_FRAME, ControlCommand, EgoState, Header


def plant_step(vehicle: VehicleParams, state: np.ndarray, command: ControlCommand, dt: float,
               model: VehicleModel | None = None) -> np.ndarray:
    """Advance a model state (x, y, yaw, speed, accel, steer, ...) by ``dt`` [s] under
    ``command`` (clamped to the vehicle's limits); ``model`` defaults to the kinematic bicycle."""
    accel_cmd, steer_cmd = clamp_controls(vehicle, command.accel, command.steer)
    if state[3] <= 0.0 and accel_cmd < 0.0:
        accel_cmd = 0.0
    plant: VehicleModel = model if model is not None else KinematicBicycle(vehicle)
    nxt: np.ndarray = rk4_step(plant, state, np.array([accel_cmd, steer_cmd]), dt, np, numpy_stack)
    if nxt[3] < 0.0:
        nxt[3] = 0.0
        nxt[4] = max(nxt[4], 0.0)
    return nxt


def ego_from_state(now: float, state: np.ndarray, vehicle: VehicleParams) -> EgoState:
    """EgoState in ``map`` at ``now`` [s] of a kinematic (6) or dynamic (8) bicycle state vector
    (the kinematic yaw rate is v tan(δ) / L)."""
    x, y, yaw, speed, accel, steer = (float(v) for v in state[:6])
    yaw_rate = float(state[7]) if len(state) > 7 else speed * float(np.tan(steer)) / vehicle.wheelbase
    return EgoState(Header(now, MAP_FRAME), x, y, yaw, speed, accel, yaw_rate, steer)


def straight_path(x0: float, length: float, y: float = 0.0, spacing: float = 5.0) -> np.ndarray:
    """Polyline (M, 2) along +x from ``x0`` over ``length`` [m] at lateral position ``y`` [m]."""
    xs = np.arange(x0, x0 + length + spacing, spacing)
    return np.column_stack([xs, np.full_like(xs, y)])
