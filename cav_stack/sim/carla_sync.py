"""Matching CARLA sensor frames to the tick they belong to.

In synchronous mode every sensor produces one measurement per tick, delivered on CARLA's
streaming threads shortly after ``world.tick()`` returns the tick's frame number. The matcher
keeps one queue per sensor; :meth:`SensorFrameMatcher.collect` waits (wall clock, bounded by the
timeout) for each expected sensor's measurement whose ``frame`` equals the tick's. Older frames
are discarded and reported, a newer frame is kept for its own tick, and a sensor without a frame
for the tick is reported missing: a frame is never reused for another tick.
"""
from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterable


@dataclass(frozen=True)
class TickFrames:
    """Sensor measurements of one tick.

    frame: CARLA frame number of the tick; data: sensor name -> measurement (its ``frame`` equals
    ``frame``); missing: expected sensors without a measurement; discarded: (sensor, frame) of
    late measurements of earlier ticks that were thrown away.
    """

    frame: int
    data: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    discarded: tuple[tuple[str, int], ...] = ()


class SensorFrameMatcher:
    """Per-sensor queues fed by ``sensor.listen(matcher.callback(name))``.

    timeout [s]: longest wall-clock wait of one :meth:`collect` for all its sensors together.
    """

    def __init__(self, names: Iterable[str], timeout: float, clock: Callable[[], float] = time.monotonic):
        if not timeout > 0.0:
            raise ValueError(f"sensor timeout must be > 0 s, got {timeout}")
        self.timeout = float(timeout)
        self._clock = clock
        self._queues: dict[str, queue.Queue] = {name: queue.Queue() for name in names}
        self._early: dict[str, Any] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._queues)

    def callback(self, name: str) -> Callable[[Any], None]:
        """The function to hand to ``sensor.listen`` for sensor ``name`` (thread-safe)."""
        if name not in self._queues:
            raise KeyError(f"unknown sensor '{name}' (known: {', '.join(self._queues)})")
        return self._queues[name].put

    def collect(self, frame: int, expected: Iterable[str] | None = None) -> TickFrames:
        """The measurements of tick ``frame`` for ``expected`` sensors (default: all)."""
        names = tuple(self._queues) if expected is None else tuple(expected)
        deadline = self._clock() + self.timeout
        data: dict[str, Any] = {}
        missing: list[str] = []
        discarded: list[tuple[str, int]] = []
        for name in names:
            if name not in self._queues:
                raise KeyError(f"unknown sensor '{name}' (known: {', '.join(self._queues)})")
            found = self._take(name, frame, deadline, discarded)
            if found is None:
                missing.append(name)
            else:
                data[name] = found
        return TickFrames(frame, data, tuple(missing), tuple(discarded))

    def _take(self, name: str, frame: int, deadline: float, discarded: list[tuple[str, int]]) -> Any:
        early = self._early.get(name)
        if early is not None:
            if early.frame > frame:
                return None
            del self._early[name]
            if early.frame == frame:
                return early
            discarded.append((name, int(early.frame)))
        source = self._queues[name]
        while True:
            remaining = deadline - self._clock()
            try:
                item = source.get(timeout=remaining) if remaining > 0.0 else source.get_nowait()
            except queue.Empty:
                return None
            if item.frame == frame:
                return item
            if item.frame < frame:
                discarded.append((name, int(item.frame)))
                continue
            self._early[name] = item
            return None
