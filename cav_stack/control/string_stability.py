"""String-stability figures of a vehicle string from recorded speed traces.

A string of followers is string stable in the sense used for CACC evaluation (Ploeg, van de
Wouw, Nijmeijer, "Lp string stability of cascaded systems", IEEE TCST 22(2), 2014, with the
L-infinity norm of the speed deviation) when the peak deviation of the speed from the
pre-manoeuvre equilibrium does not grow from one vehicle to the next during a manoeuvre of the
string's head.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def peak_speed_deviation(time: np.ndarray, speed: np.ndarray, equilibrium_speed: float,
                         start: float, end: float) -> float:
    """Largest |speed - equilibrium_speed| [m/s] over samples with start <= time < end [s].

    time [s] and speed [m/s] are one vehicle's trace (same length, time ascending);
    equilibrium_speed [m/s]: the string's speed before the manoeuvre. Raises ValueError for
    traces of different lengths, non-finite speeds inside the window or an empty window.
    """
    time = np.asarray(time, dtype=float)
    speed = np.asarray(speed, dtype=float)
    if time.shape != speed.shape or time.ndim != 1:
        raise ValueError(f"time and speed must be 1-D of equal length, got {time.shape} and {speed.shape}")
    inside = (time >= start) & (time < end)
    if not inside.any():
        raise ValueError(f"no samples in the window [{start}, {end}) s")
    window = speed[inside]
    if not np.all(np.isfinite(window)):
        raise ValueError("speed has non-finite values inside the window")
    return float(np.max(np.abs(window - equilibrium_speed)))



@dataclass(frozen=True)
class VehicleFigures:
    """One vehicle of a string during a manoeuvre: peak |speed - equilibrium| [m/s] over the
    manoeuvre window, and the smallest bumper-to-bumper gap to its leader over the whole run [m]."""

    vehicle_id: str
    peak_speed_deviation: float
    min_gap: float


def string_figures(trajectories_csv: str | Path, vehicle_ids: tuple[str, ...], equilibrium_speed: float,
                   start: float, end: float) -> list[VehicleFigures]:
    """Figures of ``vehicle_ids`` (in string order) from a run's ``trajectories.csv`` (columns
    ``cav_id``, ``time`` [s], ``speed`` [m/s], ``gap`` [m], empty gap: no leader); the window
    [start, end) [s] is on the run's (the scenario's) clock. Raises ValueError for a vehicle
    missing from the file."""
    columns: dict[str, tuple[list[float], list[float], list[float]]] = {}
    with open(trajectories_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            time, speed, gap = columns.setdefault(row["cav_id"], ([], [], []))
            time.append(float(row["time"]))
            speed.append(float(row["speed"]))
            gap.append(float(row["gap"]) if row["gap"] else math.nan)
    missing = [v for v in vehicle_ids if v not in columns]
    if missing:
        raise ValueError(f"{trajectories_csv}: no trace of {missing}")
    figures = []
    for vehicle_id in vehicle_ids:
        t, v, g = (np.asarray(c, dtype=float) for c in columns[vehicle_id])
        figures.append(VehicleFigures(vehicle_id,
                                      peak_speed_deviation(t, v, equilibrium_speed, start, end),
                                      float(np.nanmin(g)) if np.isfinite(g).any() else math.inf))
    return figures
