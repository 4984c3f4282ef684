"""Jerk during steady following: the comfort figure that shows command chatter.

A CAV follows steadily while it and its leader each keep their speed within ``band`` (0.3 m/s)
over ``window`` (5 s) centred on the sample. Manoeuvres (a cut-in, a leader braking, a lane change) change a
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
    """Samples at the middle of a window of ``window`` [s] in which a leader is known (finite
    ``leader_speed``) and both speeds [m/s] stay within ``band`` [m/s]; ``time`` [s] uniform.

    Centred windows: the speeds were steady for ``window``/2 before a sample and stay so for as
    long after it. The first and last half window of a steady stretch are where a manoeuvre
    ends or begins, not steady following: when a platoon's leader starts braking at 2.5 m/s^2,
    its followers' jerk builds up to the comfort limit for ~0.5 s before their speeds leave the
    band (counted, that onset alone made the platoon's followers' figure 0.22-0.27 m/s^3 while
    their jerk inside the stretches stayed below 0.07).
    """
    time, speed, leader_speed = (np.asarray(a, dtype=float) for a in (time, speed, leader_speed))
    mask = np.zeros(time.size, dtype=bool)
    if time.size < 2:
        return mask
    n = int(round(window / float(np.median(np.diff(time)))))
    if time.size <= n:
        return mask
    lead = np.lib.stride_tricks.sliding_window_view(leader_speed, n + 1)
    own = np.lib.stride_tricks.sliding_window_view(speed, n + 1)
    with np.errstate(invalid="ignore"):
        steady = (np.all(np.isfinite(lead), axis=1) & (np.ptp(lead, axis=1) <= band)
                  & (np.ptp(own, axis=1) <= band))
    mask[n // 2: n // 2 + steady.size] = steady
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
