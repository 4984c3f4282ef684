"""Seeded synthetic V2X traces for misbehaviour tests.

World: a straight three-lane road along +x in ``map`` (lane centres y = 1.75, 5.25, 8.75 m) and a
separate circular road (centre (0, 500) m, radius 50 m). The ego drives lane 2 at 25 m/s and sees
every road user within ``SENSOR_RANGE`` (no occlusion); onboard tracks appear ``CONFIRM_DELAY``
after a vehicle comes into range, at 10 Hz, with 0.3 m white position noise.
Senders report at 10 Hz (generated on multiples of 0.1 s, received 5 ms later). GNSS error per
axis: first-order Gauss-Markov bias (sigma 1.0 m, correlation time 10 s) plus white noise
(sigma 1.1 m), i.e. sigma ~1.5 m; speed noise 0.1 m/s, heading noise 1 deg, acceleration
noise 0.3 m/s^2; reported position accuracy 1.5 m.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np

from cav_stack.core.messages import Header, TrackedObject, TrackList, V2xVehicleReport
from cav_stack.v2x.misbehaviour import MisbehaviourDetector

LANES = (1.75, 5.25, 8.75)
CIRCLE_CENTRE = (0.0, 500.0)
CIRCLE_RADIUS = 50.0
SENSOR_RANGE = 80.0
CONFIRM_DELAY = 0.3
TICK = 0.05

#: truth(t) -> (x, y, yaw, speed, accel) in map, SI.
Truth = Callable[[float], tuple[float, float, float, float, float]]


def is_on_road(x: float, y: float, margin: float) -> bool:
    """The straight road (three 3.5 m lanes) or the circular road (7 m wide), within ``margin``."""
    straight = -margin <= y <= 10.5 + margin
    radial = math.hypot(x - CIRCLE_CENTRE[0], y - CIRCLE_CENTRE[1]) - CIRCLE_RADIUS
    return straight or abs(radial) <= 3.5 + margin


def straight(lane: int, x0: float, v0: float, accel: Callable[[float], float] = lambda t: 0.0) -> Truth:
    """A vehicle on a lane of the straight road; ``accel(t)`` [m/s^2], speed floored at 0."""
    times = np.arange(0.0, 200.0 + TICK / 2, 0.01)
    xs, vs, accels = np.empty_like(times), np.empty_like(times), np.empty_like(times)
    x, v = x0, v0
    for i, t in enumerate(times):
        a = accel(t) if v > 0.0 or accel(t) > 0.0 else 0.0
        xs[i], vs[i], accels[i] = x, v, a
        v_next = max(0.0, v + a * 0.01)
        x += 0.5 * (v + v_next) * 0.01
        v = v_next

    def truth(t: float):
        i = int(round(t / 0.01))
        return float(xs[i]), LANES[lane], 0.0, float(vs[i]), float(accels[i])
    return truth


def circling(speed: float, phase: float) -> Truth:
    """A vehicle driving counter-clockwise around the circular road at constant speed."""
    rate = speed / CIRCLE_RADIUS

    def truth(t: float):
        angle = phase + rate * t
        return (CIRCLE_CENTRE[0] + CIRCLE_RADIUS * math.cos(angle), CIRCLE_CENTRE[1] + CIRCLE_RADIUS * math.sin(angle),
                angle + math.pi / 2, speed, 0.0)
    return truth


@dataclass
class Sender:
    """A V2X sender: what it reports is ``claim(t)`` (its truth unless it lies) plus GNSS noise.

    start: first generation time [s]; tracked: whether the ego's sensors see the vehicle whose
    truth is ``physical`` (None: nothing physical, a ghost)."""

    station_id: int
    claim: Truth
    physical: Truth | None
    start: float = 0.0
    bias: np.ndarray = field(default_factory=lambda: np.zeros(2))


def ego(t: float) -> tuple[float, float]:
    return 25.0 * t, LANES[1]


#: ``over_the_air(report, now)``: the report as a receiver decodes it at ``now`` [s] (e.g. through
#: the J2735 codec with some fields sent as unavailable).
AirPath = Callable[[V2xVehicleReport, float], V2xVehicleReport]


def run(senders: list[Sender], detector: MisbehaviourDetector, duration: float, rng: np.random.Generator,
        extra_vehicles: tuple[Truth, ...] = (), over_the_air: AirPath | None = None) -> dict[int, float | None]:
    """Drive the detector through the trace; first flag time of every sender (None: never flagged)."""
    phi = math.exp(-0.1 / 10.0)
    for sender in senders:
        sender.bias = rng.normal(0.0, 1.0, 2)
    physical = [s.physical for s in senders if s.physical is not None] + list(extra_vehicles)
    in_range_since: dict[int, float | None] = {i: None for i in range(len(physical))}
    first_flag: dict[int, float | None] = {s.station_id: None for s in senders}
    for k in range(int(round(duration / TICK))):
        now = k * TICK
        if k % 2 == 0:
            t = now
            for sender in senders:
                if t < sender.start:
                    continue
                sender.bias = phi * sender.bias + math.sqrt(1.0 - phi * phi) * rng.normal(0.0, 1.0, 2)
                x, y, yaw, speed, accel = sender.claim(t)
                noise = sender.bias + rng.normal(0.0, 1.1, 2)
                report = V2xVehicleReport(
                    Header(t, "map"), sender.station_id, round(t / 0.1) % 128, x + noise[0], y + noise[1],
                    yaw + math.radians(rng.normal(0.0, 1.0)), speed + rng.normal(0.0, 0.1),
                    accel + rng.normal(0.0, 0.3), position_sigma=1.5)
                if over_the_air is not None:
                    report = over_the_air(report, t + 0.005)
                detector.on_report(report, t + 0.005)
        else:
            ex, ey = ego(now)
            objects = []
            for i, truth in enumerate(physical):
                x, y, yaw, speed, _ = truth(now)
                if math.hypot(x - ex, y - ey) > SENSOR_RANGE:
                    in_range_since[i] = None
                    continue
                if in_range_since[i] is None:
                    in_range_since[i] = now
                if now - in_range_since[i] >= CONFIRM_DELAY:
                    nx, ny = rng.normal(0.0, 0.3, 2)
                    objects.append(TrackedObject(i, x + nx, y + ny, yaw, speed, 4.5, 1.8))
            def visible(x: float, y: float, r: float, ex: float = ex, ey: float = ey) -> bool:
                return math.hypot(x - ex, y - ey) + r <= SENSOR_RANGE

            detector.on_tracks(TrackList(Header(now, "map"), tuple(objects)), visible, now)
        for sender in senders:
            verdict = detector.verdict(sender.station_id)
            if verdict.flagged and first_flag[sender.station_id] is None:
                first_flag[sender.station_id] = verdict.flagged_at
    return first_flag
