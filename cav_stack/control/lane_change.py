"""Smooth lateral reference for lane changes (quintic minimum-jerk profile).

The profile moves the lateral reference from where the ego is when a new target offset arrives
to the target in time T, with s(τ) = 10τ³ - 15τ⁴ + 6τ⁵ (zero lateral speed and acceleration at
both ends). Its peaks are a = 10/√3 · D/T² (acceleration) and j = 60 · D/T³ (jerk) for an offset
D, so T is the shortest duration keeping both under the comfort profile's lane-change figures.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from cav_stack.control.comfort_profile import ComfortProfile

_PEAK_ACCEL_FACTOR = 10.0 / math.sqrt(3.0)
_PEAK_JERK_FACTOR = 60.0
#: A target offset change smaller than this [m] does not start a new manoeuvre.
_TARGET_TOLERANCE = 0.05


def lane_change_duration(offset: float, comfort: ComfortProfile) -> float:
    """Duration [s] of a quintic lateral move by ``offset`` [m] within the profile's peaks."""
    d = abs(offset)
    duration: float = max(comfort.lane_change_min_duration,
               math.sqrt(_PEAK_ACCEL_FACTOR * d / comfort.lane_change_lateral_accel),
                          (_PEAK_JERK_FACTOR * d / comfort.lane_change_lateral_jerk) ** (1.0 / 3.0))
    return duration


@dataclass(frozen=True)
class LateralManoeuvre:
    """A quintic move of the lateral reference from ``start_offset`` to ``target_offset`` [m]
    (path frame, positive left) starting at ``start_time`` [s] and lasting ``duration`` [s]."""

    start_time: float
    duration: float
    start_offset: float
    target_offset: float

    def offset(self, t: ArrayLike) -> np.ndarray:
        """Lateral reference [m] at absolute time(s) ``t`` [s]."""
        tau = np.clip((np.asarray(t, dtype=float) - self.start_time) / self.duration, 0.0, 1.0)
        shape = tau**3 * (10.0 - 15.0 * tau + 6.0 * tau**2)
        return self.start_offset + (self.target_offset - self.start_offset) * shape

    def rate(self, t: ArrayLike) -> np.ndarray:
        """Rate of the lateral reference [m/s] at absolute time(s) ``t`` [s]."""
        tau = np.clip((np.asarray(t, dtype=float) - self.start_time) / self.duration, 0.0, 1.0)
        shape_rate = 30.0 * tau**2 * (1.0 - tau) ** 2 / self.duration
        return (self.target_offset - self.start_offset) * shape_rate


class LateralReference:
    """Tracks the commanded lane offset and turns changes into smooth manoeuvres.

    When a new target offset [m] arrives, the manoeuvre starts from the ego's current lateral
    offset relative to the given path, so a caller that switches the path to the target lane
    together with setting the offset back to 0 causes no second move.
    """

    def __init__(self) -> None:
        self._manoeuvre: LateralManoeuvre | None = None

    def reset(self) -> None:
        """Forget any manoeuvre (the reference returns to the commanded offset at once)."""
        self._manoeuvre = None

    def update(self, now: float, target_offset: float, ego_offset: float,
               comfort: ComfortProfile) -> LateralManoeuvre:
        """The manoeuvre in force at ``now`` [s] for ``target_offset`` [m], starting a new one
        from ``ego_offset`` [m] if the target changed."""
        m = self._manoeuvre
        if m is None or abs(m.target_offset - target_offset) > _TARGET_TOLERANCE:
            m = LateralManoeuvre(now, lane_change_duration(target_offset - ego_offset, comfort),
                                 ego_offset, target_offset)
            self._manoeuvre = m
        return m
