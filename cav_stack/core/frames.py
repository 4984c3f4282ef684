"""Frame and angle helpers (REP 103: x forward, y left, z up; angles CCW from +x)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@overload
def wrap_angle(angle: float) -> float: ...


@overload
def wrap_angle(angle: NDArray[Any]) -> NDArray[np.float64]: ...


def wrap_angle(angle: float | NDArray[Any]) -> float | NDArray[np.float64]:
    """Wrap an angle [rad] (scalar or array) to [-pi, pi)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def map_to_body(x: float, y: float, pose_x: float, pose_y: float, pose_yaw: float) -> tuple[float, float]:
    """Express a ``map`` point (x, y) [m] in the body frame of a pose (pose_x, pose_y, pose_yaw)."""
    dx, dy = x - pose_x, y - pose_y
    c, s = math.cos(pose_yaw), math.sin(pose_yaw)
    return c * dx + s * dy, -s * dx + c * dy


def body_to_map(x: float, y: float, pose_x: float, pose_y: float, pose_yaw: float) -> tuple[float, float]:
    """Express a body-frame point (x, y) [m] of a pose in ``map``."""
    c, s = math.cos(pose_yaw), math.sin(pose_yaw)
    return pose_x + c * x - s * y, pose_y + s * x + c * y


def sumo_angle_to_yaw(angle_deg: float) -> float:
    """SUMO heading [deg, clockwise from north] to REP 103 yaw [rad, CCW from east]."""
    return wrap_angle(math.radians(90.0 - angle_deg))


def yaw_to_sumo_angle(yaw: float) -> float:
    """REP 103 yaw [rad, CCW from east] to SUMO heading [deg, clockwise from north, 0..360)."""
    return (90.0 - math.degrees(yaw)) % 360.0
