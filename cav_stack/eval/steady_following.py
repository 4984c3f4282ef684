"""Jerk during steady following: the comfort figure that shows command chatter.

A CAV follows steadily while it and its leader each keep their speed within ``band`` (0.3 m/s)
for at least ``window`` (5 s). Manoeuvres (a cut-in, a leader braking, a lane change) change a
speed by more and fall outside; what jerk remains inside comes from the controller itself.
"""
from __future__ import annotations

import numpy as np

#: [m/s] largest spread (max - min) of each speed over a steady window.
STEADY_SPEED_BAND = 0.3
#: [s] shortest steady window.
STEADY_WINDOW = 5.0


def steady_following_mask(time: np.ndarray, speed: np.ndarray, leader_speed: np.ndarray,
                          band: float = STEADY_SPEED_BAND, window: float = STEADY_WINDOW) -> np.ndarray:
    """Samples inside a window of at least ``window`` [s] in which a leader is known (finite
    ``leader_speed``) and both speeds [m/s] stay within ``band`` [m/s]; ``time`` [s] uniform."""
    time, speed, leader_speed = (np.asarray(a, dtype=float) for a in (time, speed, leader_speed))
    mask = np.zeros(time.size, dtype=bool)
    if time.size < 2:
        return mask
    n = int(round(window / float(np.median(np.diff(time)))))
    for i in range(time.size - n):
        w = slice(i, i + n + 1)
        lead = leader_speed[w]
        if (np.all(np.isfinite(lead)) and np.ptp(lead) <= band and np.ptp(speed[w]) <= band):
            mask[w] = True
    return mask


def steady_following_jerk(time, speed, leader_speed, accel) -> tuple[float, float]:
    """(rms jerk [m/s^3], steady time [s]) over the steady-following samples of a trace;
    jerk by finite differences of the acceleration [m/s^2]; rms 0 when there are none."""
    time, accel = np.asarray(time, dtype=float), np.asarray(accel, dtype=float)
    mask = steady_following_mask(time, speed, leader_speed)
    if time.size < 2:
        return 0.0, 0.0
    jerk = np.diff(accel) / np.diff(time)
    inside = mask[1:] & mask[:-1]
    steady_s = float(np.sum(np.diff(time)[inside]))
    return (float(np.sqrt(np.mean(jerk[inside] ** 2))) if inside.any() else 0.0), steady_s
