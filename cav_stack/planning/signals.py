"""Signalised stop lines along a route: which one is next, and what its light shows now.

Shared by the stack's mode selector (signal timing from SPaT) and the IDM baseline (the light
state a human driver sees). Distances are arc lengths [m] along the route's centre line of
:meth:`~cav_stack.world.road_map.RoadMap.route_centerline`; times are absolute [s].
"""
from __future__ import annotations

from dataclasses import dataclass

from cav_stack.core.messages import SignalTiming, SignalTimingList


@dataclass(frozen=True)
class StopLine:
    """A signalised stop line: traffic light ``tls_id``, its controlled link, arc length ``s`` [m]."""

    tls_id: str
    link_index: int
    s: float


def next_stop_line(stop_lines: list[tuple[str, int, float]], s_front: float) -> StopLine | None:
    """The first stop line strictly ahead of the front bumper at arc length ``s_front`` [m]
    (``stop_lines`` as returned by ``RoadMap.stop_lines``, in route order); None when none is left."""
    for tls_id, link_index, s in stop_lines:
        if s > s_front:
            return StopLine(tls_id, link_index, s)
    return None


def timing_of(timings: SignalTimingList, line: StopLine) -> SignalTiming | None:
    """The timing of ``line``'s signal group in ``timings``, or None when it is not known."""
    return next((t for t in timings.timings if t.intersection == line.tls_id and t.link_index == line.link_index),
                None)


def state_at(timing: SignalTiming, now: float) -> str | None:
    """The phase state (``green``, ``yellow``, ``red``) of ``timing`` at ``now`` [s]; None when
    no known phase covers ``now``."""
    for phase in timing.phases:
        if phase.start <= now < phase.end:
            return phase.state
    return None
