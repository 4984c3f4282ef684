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
CAV are rasterised.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

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


def occupied_cells(vehicle: VehicleTruth) -> set[tuple[int, int]]:
    """Grid cells (column, row) covered by the vehicle's bounding box (sampled every CELL_SIZE / 2)."""
    step = CELL_SIZE / 2.0
    along = np.linspace(-vehicle.length / 2.0, vehicle.length / 2.0, max(2, math.ceil(vehicle.length / step) + 1))
    across = np.linspace(-vehicle.width / 2.0, vehicle.width / 2.0, max(2, math.ceil(vehicle.width / step) + 1))
    u, v = np.meshgrid(along, across)
    c, s = math.cos(vehicle.yaw), math.sin(vehicle.yaw)
    x = vehicle.x + c * u - s * v
    y = vehicle.y + s * u + c * v
    cols = np.floor(x / CELL_SIZE).astype(np.int64).ravel()
    rows = np.floor(y / CELL_SIZE).astype(np.int64).ravel()
    return set(zip(cols.tolist(), rows.tolist()))


@dataclass(eq=False)
class _Occupancy:
    """One vehicle's stay in one cell: the lanes it was on meanwhile, entry and last step [s], and
    the previous occupant's stay when this entry may be an encroachment on it."""

    vehicle_id: str
    is_cav: bool
    lanes: set[tuple[str, int]]
    entered: float
    last: float
    previous: "_Occupancy | None"


class PostEncroachment:
    """Observer of the world truth; ``summary()`` gives the PET figures (see module docstring).

    ``conflicts``: (first vehicle, second vehicle) -> smallest PET [s] and when [s] the second
    entered the conflict cell. A stay is judged when the second vehicle leaves the cell: the two
    are on one path, not in conflict, when they shared a lane while in it (a follower crossing
    from one edge to the next does so where its leader did).
    """

    def __init__(self) -> None:
        self.conflicts: dict[tuple[str, str], tuple[float, float]] = {}
        self._cells: dict[tuple[int, int], _Occupancy] = {}
        self._open: dict[str, dict[tuple[int, int], _Occupancy]] = {}
        self._steps = 0

    def __call__(self, truth: WorldTruth, commands: dict) -> None:
        """Record one world step (``commands`` is unused: the signature is the runner's observer's)."""
        del commands
        now = truth.stamp
        cavs = [v for v in truth.vehicles if v.is_cav]
        watched = [v for v in truth.vehicles
                   if any(math.hypot(v.x - cav.x, v.y - cav.y) <= WATCH_RADIUS for cav in cavs)]
        occupying = {v.vehicle_id: occupied_cells(v) for v in watched}
        for vehicle_id in [v for v in self._open if v not in occupying]:
            for stay in self._open.pop(vehicle_id).values():
                self._judge(stay)
        entries = []
        for vehicle in watched:
            lane = (vehicle.edge_id, vehicle.lane_index)
            stays = self._open.setdefault(vehicle.vehicle_id, {})
            cells = occupying[vehicle.vehicle_id]
            for cell in [c for c in stays if c not in cells]:
                self._judge(stays.pop(cell))
            for cell in cells:
                if cell in stays:
                    stays[cell].lanes.add(lane)
                    stays[cell].last = now
                else:
                    previous = self._encroached(vehicle, cell, now, occupying)
                    entries.append((cell, _Occupancy(vehicle.vehicle_id, vehicle.is_cav, {lane}, now, now, previous)))
        for cell, stay in entries:
            self._open[stay.vehicle_id][cell] = stay
            self._cells[cell] = stay
        self._steps += 1
        if self._steps % _PRUNE_EVERY == 0:
            self._cells = {cell: stay for cell, stay in self._cells.items() if now - stay.last <= MAX_PET}

    def _encroached(self, vehicle: VehicleTruth, cell: tuple[int, int], now: float,
                    occupying: dict[str, set[tuple[int, int]]]) -> _Occupancy | None:
        """The previous occupant's stay in ``cell`` if ``vehicle`` entering it now may encroach on it."""
        last = self._cells.get(cell)
        if last is None or last.vehicle_id == vehicle.vehicle_id or not (last.is_cav or vehicle.is_cav):
            return None
        if cell in occupying.get(last.vehicle_id, ()):
            return None  # both in the cell: an overlap, counted as a collision elsewhere
        return last if now - last.last <= MAX_PET + 1e-9 else None

    def _judge(self, stay: _Occupancy) -> None:
        first = stay.previous
        if first is None or first.lanes & stay.lanes:
            return
        pet = stay.entered - first.last
        pair = (first.vehicle_id, stay.vehicle_id)
        if pair not in self.conflicts or pet < self.conflicts[pair][0]:
            self.conflicts[pair] = (pet, stay.entered)

    def summary(self) -> dict:
        """``min_pet_s`` (smallest PET over the conflicts [s], None without any conflict),
        ``pet_conflicts`` (vehicle pairs with a conflict) and ``pet_events`` (per pair: first and
        second vehicle, PET [s], time [s] the second entered), worst first. Stays still open
        are judged as they are."""
        for stays in self._open.values():
            for stay in stays.values():
                self._judge(stay)
        events = sorted(({"first": a, "second": b, "pet_s": round(pet, 6), "time_s": round(t, 6)}
                         for (a, b), (pet, t) in self.conflicts.items()), key=lambda e: e["pet_s"])
        return {"min_pet_s": events[0]["pet_s"] if events else None,
                "pet_conflicts": len(events),
                "pet_events": events}
