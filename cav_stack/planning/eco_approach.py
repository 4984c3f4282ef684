"""Eco-approach to signalised intersections: a green-light optimal speed advisory (GLOSA).

Given the distance to the stop line and the signal's upcoming green windows (from SPaT), pick the
cruise speed that reaches the line inside a green window with the smallest change from the
current speed; if no speed between the minimum and the limit makes it, advise a smooth stop at
the line. Constant-speed arrival model as in K. Katsaros et al., "Performance study of a Green
Light Optimized Speed Advisory (GLOSA) application using an integrated cooperative ITS simulation
platform", IWCMC 2011.
"""
from __future__ import annotations

from dataclasses import dataclass


CRAWL_FRACTION = 0.5
"""Fraction of the minimum advised speed still accepted when only a slower approach makes a window."""


@dataclass(frozen=True)
class GreenWindow:
    """A future green interval of the ego's signal group, relative to now: [start, end) [s]."""

    start: float
    end: float


@dataclass(frozen=True)
class SpeedAdvice:
    """Advised cruise speed [m/s]; stop: True when the car should stop at the line (distance [m])."""

    speed: float
    stop: bool
    stop_distance: float | None
    arrival_time: float | None


def advise_speed(distance: float, speed: float, speed_limit: float, min_speed: float,
                 windows: tuple[GreenWindow, ...], margin: float) -> SpeedAdvice:
    """Advice for reaching a stop line ``distance`` [m] ahead at ``speed`` [m/s].

    margin [s] is kept inside each green window at both ends (yellow and start-up safety); a
    window that is open already keeps it at its end only. min_speed [m/s]: slowest advised cruise,
    unless a window can only be made slower (down to ``CRAWL_FRACTION`` of it).
    """
    if distance <= 0.0:
        return SpeedAdvice(speed_limit, False, None, 0.0)
    best: SpeedAdvice | None = None
    for window in windows:
        # a window already open needs no start margin (a car waiting at the line just goes)
        earliest = 0.0 if window.start <= 0.0 else window.start + margin
        latest = window.end - margin
        if latest <= earliest:
            continue
        # arrival time t = distance / v  =>  v in [distance / latest, distance / earliest]
        v_low = distance / latest
        v_high = distance / earliest if earliest > 0.0 else float("inf")
        v_high = min(v_high, speed_limit)
        if v_low > v_high or v_high < CRAWL_FRACTION * min_speed:
            continue
        # min_speed floors the advice unless only a slower approach (down to CRAWL_FRACTION of
        # it) makes the window: a car already slowing for a green does not give up on it because
        # the constant-speed model ignores the distance it covers while slowing
        floor = min(max(v_low, min_speed), v_high)
        advised = min(max(speed, floor), v_high)
        candidate = SpeedAdvice(advised, False, None, distance / advised)
        if best is None or abs(advised - speed) < abs(best.speed - speed):
            best = candidate
    if best is not None:
        return best
    return SpeedAdvice(0.0, True, distance, None)
