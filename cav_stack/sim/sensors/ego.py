"""True ego motion handed to the sensor models, and sensor poses derived from it."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.world.sensor_rig import Mounting


@dataclass(frozen=True)
class EgoMotion:
    """True motion of the ego's ``base_link`` (rear-axle centre) in ``map``.

    x, y [m]; yaw [rad]; speed [m/s] and accel [m/s^2] along yaw; yaw_rate [rad/s];
    vehicle_id: the ego's ID in :class:`WorldTruth` (its own box is invisible to its sensors).
    """

    vehicle_id: str
    x: float
    y: float
    yaw: float
    speed: float
    accel: float = 0.0
    yaw_rate: float = 0.0

    def velocity_at(self, px: float, py: float) -> np.ndarray:
        """Velocity [m/s, map] of the rigid body point (px, py) [m, map]."""
        vx = self.speed * math.cos(self.yaw) - self.yaw_rate * (py - self.y)
        vy = self.speed * math.sin(self.yaw) + self.yaw_rate * (px - self.x)
        return np.array([vx, vy])


@dataclass(frozen=True)
class SensorPose:
    """Pose of a level sensor in ``map``: position (x, y, z) [m], yaw [rad]."""

    x: float
    y: float
    z: float
    yaw: float

    @property
    def origin(self) -> np.ndarray:
        """Position (3,) [m, map]."""
        return np.array([self.x, self.y, self.z])


def sensor_pose(ego: EgoMotion, mounting: Mounting) -> SensorPose:
    """Pose in ``map`` of a sensor mounted at ``mounting`` (in ``base_link``) on the ego."""
    c, s = math.cos(ego.yaw), math.sin(ego.yaw)
    return SensorPose(ego.x + c * mounting.x - s * mounting.y, ego.y + s * mounting.x + c * mounting.y,
                      mounting.z, ego.yaw + mounting.yaw)


def other_vehicles(truth: WorldTruth, ego: EgoMotion, max_range: float = math.inf) -> tuple[VehicleTruth, ...]:
    """Vehicles of the snapshot except the ego whose box may reach within ``max_range`` [m] of it."""
    return tuple(v for v in truth.vehicles if v.vehicle_id != ego.vehicle_id
                 and math.hypot(v.x - ego.x, v.y - ego.y) - 0.5 * math.hypot(v.length, v.width) <= max_range)


def check_inputs(truth: WorldTruth, ego: EgoMotion, now: float) -> None:
    """Raise ValueError for a stamp mismatch or a non-finite ego state."""
    if not all(math.isfinite(v) for v in (ego.x, ego.y, ego.yaw, ego.speed, ego.accel, ego.yaw_rate, now)):
        raise ValueError(f"non-finite ego motion or time: {ego}, now={now}")
    if abs(truth.stamp - now) > 1e-6:
        raise ValueError(f"truth stamp {truth.stamp} does not match measurement time {now}")
