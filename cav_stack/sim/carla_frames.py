"""The one place where CARLA's left-handed Unreal frame meets the stack's REP 103 frame.

CARLA (Unreal Engine) uses x forward, y right, z up (left-handed), lengths in metres, angles in
degrees: ``carla.Rotation(pitch, yaw, roll)`` with yaw turning x towards +y (clockwise seen from
above) and pitch lifting the nose. REP 103 uses x forward, y left, z up (right-handed), radians,
yaw counter-clockwise from +x. With the reflection S = diag(1, -1, 1):

* positions and linear vectors (velocity, acceleration, LiDAR points): ``p_rep = S p_ue``
  (plus the map offset for positions, below);
* rotation matrices: ``R_rep = S R_ue S``, which in angles is roll_rep = roll_ue,
  pitch_rep = -pitch_ue, yaw_rep = -yaw_ue (radians);
* angular velocities (axial vectors change sign under a reflection): ``w_rep = -S w_ue``,
  i.e. (-wx, wy, -wz).

Map offset: when CARLA's map was converted from (or to) a SUMO network, the ``map`` frame of the
stack (SUMO network coordinates) and CARLA's origin differ by the network offset, as in CARLA's
own SUMO co-simulation: ``map_x = x_ue + offset_x``, ``map_y = -y_ue + offset_y``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.sim.carla_client import require_carla


@dataclass(frozen=True)
class Pose3:
    """A pose in REP 103: position x, y, z [m]; roll, pitch, yaw [rad] (intrinsic Z-Y'-X'')."""

    x: float
    y: float
    z: float
    roll: float = 0.0
    pitch: float = 0.0
    yaw: float = 0.0


def rotation_to_rpy(rotation: Any) -> tuple[float, float, float]:
    """``carla.Rotation`` [deg, UE] -> (roll, pitch, yaw) [rad, REP 103]; yaw wrapped to [-pi, pi)."""
    return (math.radians(rotation.roll), -math.radians(rotation.pitch),
            float(wrap_angle(-math.radians(rotation.yaw))))


def rpy_to_rotation(roll: float, pitch: float, yaw: float) -> Any:
    """(roll, pitch, yaw) [rad, REP 103] -> ``carla.Rotation`` [deg, UE]."""
    carla = require_carla()
    return carla.Rotation(pitch=-math.degrees(pitch), yaw=-math.degrees(yaw), roll=math.degrees(roll))


def vector_to_rep103(vector: Any) -> tuple[float, float, float]:
    """A linear ``carla.Vector3D`` (velocity [m/s], acceleration [m/s^2]...) in REP 103 axes."""
    return float(vector.x), -float(vector.y), float(vector.z)


def angular_to_rep103(vector: Any) -> tuple[float, float, float]:
    """An angular-velocity ``carla.Vector3D`` in REP 103 axes (same unit as given)."""
    return -float(vector.x), float(vector.y), -float(vector.z)


def points_to_rep103(points: np.ndarray) -> np.ndarray:
    """Copy of an (N, >=3) array of sensor-frame points with the y column mirrored (UE -> REP 103)."""
    out = np.array(points, copy=True)
    out[:, 1] = -out[:, 1]
    return out


@dataclass(frozen=True)
class CarlaFrame:
    """Conversion between CARLA world coordinates and the stack's ``map`` frame.

    offset_x, offset_y: ``map`` coordinates [m] of CARLA's origin (0 for a stand-alone CARLA
    town, the SUMO network offset in co-simulation).
    """

    offset_x: float = 0.0
    offset_y: float = 0.0

    def to_map(self, location: Any) -> tuple[float, float, float]:
        """``carla.Location`` (or any x/y/z object) [m] -> (x, y, z) [m] in ``map``."""
        return float(location.x) + self.offset_x, -float(location.y) + self.offset_y, float(location.z)

    def to_location(self, x: float, y: float, z: float = 0.0) -> Any:
        """(x, y, z) [m] in ``map`` -> ``carla.Location``."""
        carla = require_carla()
        return carla.Location(x=float(x - self.offset_x), y=float(-(y - self.offset_y)), z=float(z))

    def to_pose(self, transform: Any) -> Pose3:
        """``carla.Transform`` -> :class:`Pose3` in ``map``."""
        x, y, z = self.to_map(transform.location)
        roll, pitch, yaw = rotation_to_rpy(transform.rotation)
        return Pose3(x, y, z, roll, pitch, yaw)

    def to_transform(self, pose: Pose3) -> Any:
        """:class:`Pose3` in ``map`` -> ``carla.Transform``."""
        carla = require_carla()
        return carla.Transform(self.to_location(pose.x, pose.y, pose.z),
                               rpy_to_rotation(pose.roll, pose.pitch, pose.yaw))


def relative_transform(pose: Pose3) -> Any:
    """A pose relative to a parent (REP 103, e.g. a sensor in ``base_link``) as ``carla.Transform``."""
    return CarlaFrame().to_transform(pose)
