"""What the MPC knows about the vehicle it follows, and its prediction over the horizon."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cav_stack.core.messages import Trajectory

LEADER_SOURCES = ("sensor", "v2x")


@dataclass(frozen=True)
class LeaderPrediction:
    """The leader as seen by the ego at the tick.

    gap [m]: bumper to bumper (ego front to leader rear) along the ego's path;
    speed [m/s] and accel [m/s^2] along the path; planned_speeds [m/s]: the leader's
    communicated plan sampled at the MPC's stage times 0, step, 2*step, ... from now
    (None when not communicated); source: ``sensor`` (onboard tracks) or ``v2x``.
    """

    gap: float
    speed: float
    accel: float = 0.0
    planned_speeds: tuple[float, ...] | None = None
    source: str = "sensor"

    def __post_init__(self) -> None:
        if self.source not in LEADER_SOURCES:
            raise ValueError(f"source must be one of {LEADER_SOURCES}, got {self.source!r}")
        values = (self.gap, self.speed, self.accel) + tuple(self.planned_speeds or ())
        if not all(np.isfinite(values)):
            raise ValueError(f"leader prediction has non-finite values: {self}")
        if self.planned_speeds is not None and len(self.planned_speeds) == 0:
            raise ValueError("planned_speeds must be None or non-empty")


def predict_leader_motion(leader: LeaderPrediction, times: np.ndarray,
                          use_acceleration: bool) -> tuple[np.ndarray, np.ndarray]:
    """Distance travelled [m] and speed [m/s] of the leader at ``times`` [s] from now.

    With ``planned_speeds`` the plan is followed (held at its last value beyond its end,
    integrated with the trapezoid rule); otherwise constant acceleration (``use_acceleration``)
    or constant speed, never reversing.
    """
    times = np.asarray(times, dtype=float)
    if leader.planned_speeds is not None:
        plan = np.maximum(np.asarray(leader.planned_speeds, dtype=float), 0.0)
        step = times[1] - times[0] if len(times) > 1 else 0.0
        plan_times = np.arange(len(plan)) * step
        speeds = np.interp(times, plan_times, plan) if len(plan) > 1 else np.full_like(times, plan[0])
        speeds[0] = max(leader.speed, 0.0)
        travelled = np.concatenate(([0.0], np.cumsum(0.5 * (speeds[1:] + speeds[:-1]) * np.diff(times))))
        return travelled, speeds
    v0 = max(leader.speed, 0.0)
    a = leader.accel if use_acceleration else 0.0
    if a < 0.0:
        t_stop = v0 / -a
        t = np.minimum(times, t_stop)
    else:
        t = times
    return v0 * t + 0.5 * a * t**2, v0 + a * t


def planned_speeds_from_trajectory(trajectory: Trajectory, now: float, step: float,
                                   count: int) -> tuple[float, ...]:
    """Resample a leader's shared trajectory to ``count`` stage times now, now+step, ... [s].

    The trajectory's points are at ``header.stamp + t``; times past its end hold the last
    speed. Raises ValueError for an empty trajectory.
    """
    if not trajectory.points:
        raise ValueError("trajectory has no points")
    t_points = np.array([trajectory.header.stamp + p.t for p in trajectory.points])
    speeds = np.array([p.speed for p in trajectory.points])
    return tuple(float(v) for v in np.interp(now + step * np.arange(count), t_points, speeds))
