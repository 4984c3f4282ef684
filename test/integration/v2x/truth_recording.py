"""Test helpers: a SUMO world that keeps every ground-truth snapshot, and a plain-view test on it."""
from __future__ import annotations

import math
from pathlib import Path

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.sim.sumo import SumoWorld


class TruthRecordingWorld:
    """A SumoWorld that appends every WorldTruth it produces to ``truths`` (start and steps)."""

    def __init__(self, world: SumoWorld):
        self._world = world
        self.truths: list[WorldTruth] = []

    def __enter__(self) -> TruthRecordingWorld:
        self._world.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._world.__exit__(*exc)

    def start(self) -> WorldTruth:
        truth = self._world.start()
        self.truths.append(truth)
        return truth

    def step(self) -> WorldTruth:
        truth = self._world.step()
        self.truths.append(truth)
        return truth

    def __getattr__(self, name: str):
        return getattr(self._world, name)


def recording_factory(worlds: list[TruthRecordingWorld]):
    """A ``world_factory`` for run_scenario that records its world into ``worlds``."""
    def factory(spec, seed: int, cache: Path) -> TruthRecordingWorld:
        world = TruthRecordingWorld(SumoWorld(spec, seed, backend="libsumo", cache_dir=cache))
        worlds.append(world)
        return world
    return factory


def _segment_box_distance(ax: float, ay: float, bx: float, by: float, v: VehicleTruth) -> float:
    """Shortest distance [m] between segment A-B and the footprint box of ``v`` (0 if they cross)."""
    c, s = math.cos(v.yaw), math.sin(v.yaw)

    def local(x: float, y: float) -> tuple[float, float]:
        dx, dy = x - v.x, y - v.y
        return c * dx + s * dy, -s * dx + c * dy
    (pax, pay), (pbx, pby) = local(ax, ay), local(bx, by)
    hl, hw = v.length / 2.0, v.width / 2.0
    best = math.inf
    for k in range(201):  # sampled segment: fine enough (< 0.5 m steps over 100 m) for a clearance check
        t = k / 200.0
        x, y = pax + t * (pbx - pax), pay + t * (pby - pay)
        best = min(best, math.hypot(max(abs(x) - hl, 0.0), max(abs(y) - hw, 0.0)))
    return best


def in_plain_view(observer: VehicleTruth, x: float, y: float, others: tuple[VehicleTruth, ...],
                  max_distance: float, clearance: float, radius: float = 0.0) -> bool:
    """Whether the disc of ``radius`` [m] around (x, y) [m, map] is in plain view of the observer:
    its far edge within ``max_distance`` [m] of the observer's centre, and every other vehicle's
    box at least ``clearance`` [m] away from the sight lines to its centre, its far edge and its
    left and right edges (seen from the observer)."""
    dx, dy = x - observer.x, y - observer.y
    distance = math.hypot(dx, dy)
    if distance + radius > max_distance or distance <= radius:
        return False
    ux, uy = dx / distance, dy / distance
    targets = ((x, y), (x + radius * ux, y + radius * uy), (x - radius * uy, y + radius * ux),
               (x + radius * uy, y - radius * ux))
    reach = max_distance + clearance + 10.0  # farther boxes cannot come near the lines of sight
    near = [v for v in others if v.vehicle_id != observer.vehicle_id
            and math.hypot(v.x - observer.x, v.y - observer.y) <= reach]
    return all(_segment_box_distance(observer.x, observer.y, tx, ty, v) >= clearance
               for v in near for tx, ty in targets)
