"""Recent ego states, to place a sensor measurement with the ego pose of its own stamp.

Sensor messages arrive tens of milliseconds after their measurement; at highway speed the ego has
moved metres meanwhile, so each message must be placed with the pose at its stamp, not the newest.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import replace

from cav_stack.core.frames import wrap_angle
from cav_stack.core.messages import EgoState, Header


class EgoHistory:
    """Ego states of the last ``duration`` [s], interpolated (or extrapolated) at any stamp."""

    def __init__(self, duration: float):
        if not duration > 0.0:
            raise ValueError(f"duration must be > 0, got {duration}")
        self.duration = duration
        self._stamps: list[float] = []
        self._states: list[EgoState] = []

    def add(self, state: EgoState) -> None:
        """Insert a state (in stamp order; an equal stamp replaces the older entry)."""
        if state.header.frame_id != "map":
            raise ValueError(f"ego states must be in 'map', got {state.header.frame_id!r}")
        stamp = state.header.stamp
        i = bisect.bisect_left(self._stamps, stamp)
        if i < len(self._stamps) and self._stamps[i] == stamp:
            self._states[i] = state
        else:
            self._stamps.insert(i, stamp)
            self._states.insert(i, state)
        horizon = self._stamps[-1] - self.duration
        while len(self._stamps) > 2 and self._stamps[1] <= horizon:
            del self._stamps[0], self._states[0]

    def at(self, stamp: float) -> EgoState:
        """State at ``stamp`` [s]: linear interpolation between neighbours; outside the history,
        constant-turn-rate extrapolation from the nearest state. Raises LookupError when empty."""
        if not self._states:
            raise LookupError("no ego state yet")
        i = bisect.bisect_left(self._stamps, stamp)
        if i < len(self._stamps) and self._stamps[i] == stamp:
            return self._states[i]
        if 0 < i < len(self._stamps):
            a, b = self._states[i - 1], self._states[i]
            w = (stamp - a.header.stamp) / (b.header.stamp - a.header.stamp)
            return replace(a, header=Header(stamp, a.header.frame_id), x=a.x + w * (b.x - a.x),
                           y=a.y + w * (b.y - a.y), yaw=float(wrap_angle(a.yaw + w * wrap_angle(b.yaw - a.yaw))),
                           speed=a.speed + w * (b.speed - a.speed))
        s = self._states[0] if i == 0 else self._states[-1]
        dt = stamp - s.header.stamp
        heading = s.yaw + 0.5 * s.yaw_rate * dt
        return replace(s, header=Header(stamp, s.header.frame_id), x=s.x + s.speed * dt * math.cos(heading),
                       y=s.y + s.speed * dt * math.sin(heading), yaw=float(wrap_angle(s.yaw + s.yaw_rate * dt)))
