"""Run outputs: ``report.json``, ``trajectories.csv`` and ``plot.png`` in the run directory."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from cav_stack.control.comfort import comfort_report, rms, weighted_acceleration
from cav_stack.eval.metrics import CavTrace, RunRecorder, summarise_cav
from cav_stack.eval.string_stability import max_string_gain

TRACE_COLUMNS = ("time", "x", "y", "yaw", "speed", "accel", "accel_cmd", "steer_cmd", "gap",
                 "leader_speed", "ttc", "headway", "fuel")


def lateral_acceleration(trace: CavTrace) -> np.ndarray:
    """Lateral acceleration [m/s^2] in ``base_link``: speed times yaw rate (yaw differentiated)."""
    t = np.asarray(trace.time)
    if t.size < 2:
        return np.zeros(t.size)
    yaw_rate = np.gradient(np.unwrap(np.asarray(trace.yaw)), t)
    return np.asarray(trace.speed) * yaw_rate


def comfort_figures(trace: CavTrace, event_windows: tuple[tuple[float, float], ...]) -> dict | None:
    """ISO 2631-1 figures of a CAV's ride (whole run), plus the weighted r.m.s. outside
    ``event_windows`` [s] (scripted events such as a cut-in), or None for too short a run."""
    t = np.asarray(trace.time)
    if t.size < 8:
        return None
    along, alat = np.asarray(trace.accel), lateral_acceleration(trace)
    figures = comfort_report(t, along, alat)
    outside = np.ones(t.size, dtype=bool)
    for start, end in event_windows:
        outside &= ~((t >= start) & (t <= end))
    fs = figures["sample_rate_hz"]
    if outside.any():
        wx = weighted_acceleration(along, fs, "Wd")[outside]
        wy = weighted_acceleration(alat, fs, "Wd")[outside]
        jerk = np.abs(np.diff(along) / np.diff(t))[outside[1:]]
        figures["outside_events"] = {
            "windows_s": [list(w) for w in event_windows],
            "vibration_total_value": float(np.hypot(rms(wx), rms(wy))),
            "p99_abs_jerk_mps3": float(np.percentile(jerk, 99)) if jerk.size else 0.0,
        }
    return figures


def build_report(recorder: RunRecorder, *, scenario: str, seed: int, controller: str,
                 sim_time_s: float, wall_time_s: float, extra: dict | None = None,
                 event_windows: tuple[tuple[float, float], ...] = ()) -> dict:
    """The run report: fleet-wide figures (worst case over CAVs) and per-CAV figures under ``cavs``.

    Fleet comfort (ISO 2631-1:1997, see :mod:`cav_stack.control.comfort`), the largest over the
    CAVs: ``vibration_total_value_mps2`` (Wd-weighted r.m.s. of both horizontal axes combined,
    clause 8.2.3), ``max_mtvv_mps2`` (maximum transient vibration value, 6.3.1) and
    ``max_vdv_mps175`` (vibration dose value [m/s^1.75], 6.3.2), either axis. ``max_string_gain``:
    the largest L2 string gain of a CAV's car following (:mod:`cav_stack.eval.string_stability`).

    event_windows: intervals [s] around scripted events, excluded from the ``outside_events``
    comfort figures.
    """
    cavs = {cav_id: summarise_cav(trace, recorder.destinations.get(cav_id))
            for cav_id, trace in recorder.traces.items()}
    for cav_id, trace in recorder.traces.items():
        cavs[cav_id]["comfort"] = comfort_figures(trace, event_windows)
        cavs[cav_id]["string_gain"] = max_string_gain(trace)

    def worst(key: str, pick) -> float | None:
        values = [c[key] for c in cavs.values() if c[key] is not None]
        return pick(values) if values else None

    def worst_comfort(pick) -> float | None:
        values = [pick(c["comfort"]) for c in cavs.values() if c["comfort"] is not None]
        return max(values) if values else None

    report = {
        "scenario": scenario,
        "seed": seed,
        "controller": controller,
        "collisions": len(recorder.collisions),
        "collision_events": recorder.collisions,
        "min_ttc_s": worst("min_ttc_s", min),
        "min_gap_m": worst("min_gap_m", min),
        "min_time_headway_s": worst("min_time_headway_s", min),
        "mean_time_headway_s": worst("mean_time_headway_s", lambda v: float(np.mean(v))),
        "mean_speed_mps": worst("mean_speed_mps", lambda v: float(np.mean(v))),
        "max_abs_accel_mps2": worst("max_abs_accel_mps2", max),
        "p99_abs_jerk_mps3": worst("p99_abs_jerk_mps3", max),
        "vibration_total_value_mps2": worst_comfort(lambda f: f["vibration_total_value"]),
        "max_mtvv_mps2": worst_comfort(lambda f: max(f["long"]["mtvv"], f["lat"]["mtvv"])),
        "max_vdv_mps175": worst_comfort(lambda f: max(f["long"]["vdv"], f["lat"]["vdv"])),
        "max_string_gain": worst("string_gain", max),
        "sim_time_s": sim_time_s,
        "wall_time_s": wall_time_s,
        "real_time_factor": sim_time_s / wall_time_s if wall_time_s > 0 else None,
        "max_vehicles": recorder.max_vehicles,
        "vehicles_seen": len(recorder.vehicle_ids_seen),
        "route_completed": all(c["route_completed"] for c in cavs.values()) if cavs else None,
        "cavs": cavs,
    }
    report.update(extra or {})
    return report


def write_report(report: dict, out_dir: Path) -> Path:
    path = out_dir / "report.json"
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def write_trajectories(recorder: RunRecorder, out_dir: Path) -> Path:
    """All CAV traces as one CSV (one row per CAV and step; empty cells where undefined)."""
    path = out_dir / "trajectories.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("cav_id",) + TRACE_COLUMNS)
        for cav_id, trace in recorder.traces.items():
            columns = [getattr(trace, name) for name in TRACE_COLUMNS]
            for row in zip(*columns, strict=True):
                writer.writerow([cav_id] + ["" if isinstance(v, float) and math.isnan(v) else f"{v:.6g}"
                                            for v in row])
    return path


def read_trajectories(path: Path) -> np.ndarray:
    """A ``trajectories.csv`` (:func:`write_trajectories`) as a structured array: one record per CAV
    and step, fields ``cav_id`` (str) and :data:`TRACE_COLUMNS` (SI units; NaN where undefined)."""
    rows = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    return np.atleast_1d(rows)


def cav_rows(rows: np.ndarray, cav_id: str) -> np.ndarray:
    """The records of one CAV in time order (see :func:`read_trajectories`)."""
    return rows[rows["cav_id"] == cav_id]


def write_plot(recorder: RunRecorder, out_dir: Path, title: str) -> Path:
    """Speed, gap, acceleration and jerk of every CAV over time, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(10, 10), sharex=True)
    for cav_id, trace in recorder.traces.items():
        t = np.asarray(trace.time)
        axes[0].plot(t, trace.speed, label=cav_id)
        axes[1].plot(t, trace.gap)
        axes[2].plot(t, trace.accel)
        if len(t) > 1:
            axes[3].plot(t[1:], trace.jerk())
    labels = ("speed [m/s]", "gap to leader [m]", "acceleration [m/s²]", "jerk [m/s³]")
    for ax, label in zip(axes, labels, strict=True):
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("time [s]")
    if 0 < len(recorder.traces) <= 10:
        axes[0].legend(loc="best", fontsize="small", ncol=3)
    fig.suptitle(title)
    fig.tight_layout()
    path = out_dir / "plot.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
