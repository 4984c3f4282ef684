"""Post-encroachment time (PET) of the conflicts a CAV is part of, from ground truth.

PET is the time from the moment a first road user leaves a conflict area to the moment a second
one enters it (Allen, Shin & Cooper, "Analysis of traffic conflicts and collisions",
Transportation Research Record 667, 1978). Here the conflict areas are the cells of a square grid
of ``CELL_SIZE`` in ``map``; a vehicle occupies the cells its bounding box covers (box sampled
every ``CELL_SIZE`` / 2, so two boxes more than ``CELL_SIZE`` apart never share a cell).

An encroachment: vehicle B enters a cell at step time t_B that vehicle A last occupied at step
time t_A < t_B, A ≠ B, at least one of them a CAV, and no lane (SUMO edge and lane index) that A
was on while in the cell is one B was on while in it: crossing paths at junctions, merges and the
lane a changer straddles. Following along one path is left out (time headway measures it): a
follower is on the lanes its leader was on where the leader was. PET = t_B - t_A
(resolution: one world step). Only encroachments with PET ≤ ``MAX_PET`` count as conflicts,
SSAM's default threshold (Gettman & Head, "Surrogate safety measures from traffic simulation
models", FHWA-RD-03-050, 2003).

:class:`PostEncroachment` observes the world like :class:`~cav_stack.eval.metrics.RunRecorder`
(``observer(truth, commands)`` once per world step); only vehicles within ``WATCH_RADIUS`` of a
CAV are rasterised. Per step and vehicle only the cells it enters and leaves cost work: a stay's
last step and its lanes are settled when it closes, from the vehicle's last step seen and its
lane history.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cav_stack.core.truth import VehicleTruth, WorldTruth

CELL_SIZE = 0.5
"""Side [m] of the grid cells that are the conflict areas."""
MAX_PET = 5.0
"""Largest PET [s] that is a conflict (SSAM default)."""
WATCH_RADIUS = 200.0
"""Vehicles farther than this [m] from every CAV are not rasterised: at 40 m/s a CAV cannot
reach within MAX_PET a cell they occupy."""
_PRUNE_EVERY = 100
_ROW_BITS = 32
"""A cell's key is column * 2**32 + row (row taken modulo 2**32): one Python int per cell."""


def occupied_cells(vehicles: list[VehicleTruth]) -> dict[str, set[int]]:
    """Per vehicle ID, the keys of the grid cells its bounding box covers (box sampled every
    CELL_SIZE / 2); vehicles of one size are rasterised together."""
    by_size: dict[tuple[float, float], list[VehicleTruth]] = {}
    for vehicle in vehicles:
        by_size.setdefault((vehicle.length, vehicle.width), []).append(vehicle)
    cells: dict[str, set[int]] = {}
    for (length, width), group in by_size.items():
        u, v = _box_samples(length, width)
        pose = np.array([(g.x, g.y, math.cos(g.yaw), math.sin(g.yaw)) for g in group])
        x, y, c, s = (pose[:, i:i + 1] for i in range(4))
        cols = np.floor((x + c * u - s * v) / CELL_SIZE).astype(np.int64)
        rows = np.floor((y + s * u + c * v) / CELL_SIZE).astype(np.int64)
        keys = ((cols << _ROW_BITS) + (rows & ((1 << _ROW_BITS) - 1))).tolist()
        for vehicle, row in zip(group, keys, strict=True):
            cells[vehicle.vehicle_id] = set(row)
    return cells


@lru_cache(maxsize=64)
def _box_samples(length: float, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample points (along, across) [m, vehicle frame, from the box centre] of a length x width box."""
    step = CELL_SIZE / 2.0
    along = np.linspace(-length / 2.0, length / 2.0, max(2, math.ceil(length / step) + 1))
    across = np.linspace(-width / 2.0, width / 2.0, max(2, math.ceil(width / step) + 1))
    u, v = np.meshgrid(along, across)
    return u.ravel(), v.ravel()


@dataclass(eq=False)
class _Occupancy:
    """One vehicle's stay in one cell: entry step [s]; once closed, its last step [s] (and, once
    asked for, the lanes it was on meanwhile); the previous occupant's stay when this entry may
    be an encroachment on it."""

    vehicle_id: str
    is_cav: bool
    entered: float
    previous: _Occupancy | None
    last: float | None = None
    lanes: frozenset[tuple[str, int]] | None = None


class PostEncroachment:
    """Observer of the world truth; ``summary()`` gives the PET figures (see module docstring).

    ``conflicts``: (first vehicle, second vehicle) -> smallest PET [s] and when [s] the second
    entered the conflict cell. A stay is judged when the second vehicle leaves the cell: the two
    are on one path, not in conflict, when they shared a lane while in it (a follower crossing
    from one edge to the next does so where its leader did).
    """

    def __init__(self) -> None:
        self.conflicts: dict[tuple[str, str], tuple[float, float]] = {}
        self._cells: dict[int, _Occupancy] = {}
        self._open: dict[str, dict[int, _Occupancy]] = {}
        self._seen: dict[str, float] = {}
        self._lane_history: dict[str, list[tuple[float, tuple[str, int]]]] = {}
        self._steps = 0
        self._poses: dict[str, tuple[tuple[float, ...], set[int]]] = {}

    def __call__(self, truth: WorldTruth, commands: dict) -> None:
        """Record one world step (``commands`` is unused: the signature is the runner's observer's)."""
        del commands
        now = truth.stamp
        watched = _watched(truth.vehicles)
        occupying, still = self._rasterise(watched)
        for vehicle_id in [v for v in self._open if v not in occupying]:
            for stay in self._open.pop(vehicle_id).values():
                self._close(stay)
        entries = []
        for vehicle in watched:
            vehicle_id = vehicle.vehicle_id
            lane = (vehicle.edge_id, vehicle.lane_index)
            history = self._lane_history.setdefault(vehicle_id, [])
            if not history or history[-1][1] != lane:
                history.append((now, lane))
            if vehicle_id in still:
                continue  # same cells as last step: no stay opens or closes
            stays = self._open.setdefault(vehicle_id, {})
            cells = occupying[vehicle_id]
            for cell in stays.keys() - cells:
                self._close(stays.pop(cell))
            for cell in cells - stays.keys():
                previous = self._encroached(vehicle, cell, now, occupying)
                entries.append((cell, _Occupancy(vehicle_id, vehicle.is_cav, now, previous)))
        for cell, stay in entries:
            self._open[stay.vehicle_id][cell] = stay
            self._cells[cell] = stay
        for vehicle in watched:
            self._seen[vehicle.vehicle_id] = now
        self._steps += 1
        if self._steps % _PRUNE_EVERY == 0:
            self._cells = {cell: stay for cell, stay in self._cells.items()
                           if stay.last is None or now - stay.last <= MAX_PET}

    def _rasterise(self, watched: list[VehicleTruth]) -> tuple[dict[str, set[int]], set[str]]:
        """:func:`occupied_cells` of the watched vehicles, and the IDs of those that were watched
        at the previous step in the same pose (their cells are reused: queues and cars at a red
        light are most of the vehicles in many scenarios)."""
        poses = {v.vehicle_id: (v.x, v.y, v.yaw, v.length, v.width) for v in watched}
        still = {i for i, pose in poses.items() if i in self._poses and self._poses[i][0] == pose}
        occupying = occupied_cells([v for v in watched if v.vehicle_id not in still])
        occupying.update((i, self._poses[i][1]) for i in still)
        self._poses = {i: (pose, occupying[i]) for i, pose in poses.items()}
        return occupying, still

    def _encroached(self, vehicle: VehicleTruth, cell: int, now: float,
                    occupying: dict[str, set[int]]) -> _Occupancy | None:
        """The previous occupant's stay in ``cell`` if ``vehicle`` entering it now may encroach on it."""
        last = self._cells.get(cell)
        if last is None or last.vehicle_id == vehicle.vehicle_id or not (last.is_cav or vehicle.is_cav):
            return None
        if cell in occupying.get(last.vehicle_id, ()):
            return None  # both in the cell: an overlap, counted as a collision elsewhere
        left = last.last if last.last is not None else self._seen[last.vehicle_id]
        return last if now - left <= MAX_PET + 1e-9 else None

    def _close(self, stay: _Occupancy) -> None:
        """Settle the stay's last step (the vehicle was last seen in the cell) and judge it."""
        stay.last = self._seen[stay.vehicle_id]
        first = stay.previous
        if first is None or self._lanes(first) & self._lanes(stay):
            return
        assert first.last is not None, "the previous stay is closed before the next one is judged"
        pet = stay.entered - first.last
        pair = (first.vehicle_id, stay.vehicle_id)
        if pair not in self.conflicts or pet < self.conflicts[pair][0]:
            self.conflicts[pair] = (pet, stay.entered)

    def _lanes(self, stay: _Occupancy) -> frozenset[tuple[str, int]]:
        """The lanes a closed stay's vehicle was on from its entry to its last step (cached)."""
        if stay.lanes is None:
            assert stay.last is not None, "only closed stays have lanes"
            lanes = set()
            for since, lane in reversed(self._lane_history[stay.vehicle_id]):
                if since <= stay.last:
                    lanes.add(lane)
                if since <= stay.entered:
                    break
            stay.lanes = frozenset(lanes)
        return stay.lanes

    def summary(self) -> dict:
        """``min_pet_s`` (smallest PET over the conflicts [s], None without any conflict),
        ``pet_conflicts`` (vehicle pairs with a conflict) and ``pet_events`` (per pair: first and
        second vehicle, PET [s], time [s] the second entered), worst first. Stays still open
        are judged as they are."""
        for stays in self._open.values():
            for stay in stays.values():
                self._close(stay)
        self._open = {}
        events = [{"first": a, "second": b, "pet_s": round(pet, 6), "time_s": round(t, 6)}
                  for (a, b), (pet, t) in sorted(self.conflicts.items(), key=lambda item: round(item[1][0], 6))]
        return {"min_pet_s": events[0]["pet_s"] if events else None,
                "pet_conflicts": len(events),
                "pet_events": events}


def _watched(vehicles: tuple[VehicleTruth, ...]) -> list[VehicleTruth]:
    """The vehicles within WATCH_RADIUS [m] of a CAV (CAVs included)."""
    cavs = np.array([(v.x, v.y) for v in vehicles if v.is_cav]).reshape(-1, 2)
    if not len(cavs):
        return []
    xy = np.array([(v.x, v.y) for v in vehicles])
    near = (np.hypot(xy[:, None, 0] - cavs[None, :, 0], xy[:, None, 1] - cavs[None, :, 1]) <= WATCH_RADIUS).any(axis=1)
    return [v for v, keep in zip(vehicles, near, strict=True) if keep]
