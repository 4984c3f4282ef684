"""Wall time the in-process executor spends in each namespace's callbacks, per control tick.

A vehicle's stack is the set of nodes under its namespace (``cav_0``, ...); one of its ticks is
everything they ran in one period of ``tick`` seconds of simulated time: their timers and the
subscription callbacks of the messages they received (decoding and verifying V2X frames, keeping
the latest track list, ...). Nodes without a namespace (the sim bridge: the world, the plants,
the sensor and radio models) are not a vehicle's stack and are not counted.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np


class CallbackTiming:
    """Accumulates callback wall and CPU time [s] per (namespace, tick index); ``tick`` [s] > 0.
    CPU time (of the executor's thread, which runs every callback) is what the stack itself
    spent: on a machine shared with other load it stays close to the quiet machine's wall time,
    where wall time grows with the load."""

    def __init__(self, tick: float):
        if not tick > 0.0:
            raise ValueError(f"tick must be > 0 s, got {tick}")
        self.tick = tick
        self._seconds: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))

    def add(self, namespace: str, now: float, wall: float, cpu: float) -> None:
        """Count ``wall`` and ``cpu`` seconds spent at simulated time ``now`` [s] by a node of
        ``namespace`` (ignored when empty)."""
        if namespace:
            total = self._seconds[namespace][math.floor(now / self.tick + 1e-9)]
            total[0] += wall
            total[1] += cpu

    def namespaces(self) -> list[str]:
        """Namespaces that ran a callback, sorted."""
        return sorted(self._seconds)

    def per_tick(self, skip_ticks: int = 0) -> np.ndarray:
        """(wall, cpu) time [s] of every (namespace, tick) with a callback, shape (n, 2), leaving
        out each namespace's first ``skip_ticks`` ticks (start-up: first solves, caches filling)."""
        samples = []
        for ticks in self._seconds.values():
            first = min(ticks)
            samples += [s for k, s in ticks.items() if k >= first + skip_ticks]
        return np.asarray(samples, dtype=float).reshape(-1, 2)
