"""Run outputs: ``report.json``, ``trajectories.csv`` and ``plot.png`` in the run directory."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from cav_stack.eval.metrics import RunRecorder, summarise_cav

TRACE_COLUMNS = ("time", "x", "y", "yaw", "speed", "accel", "accel_cmd", "steer_cmd", "gap",
                 "leader_speed", "ttc", "headway", "fuel")


def build_report(recorder: RunRecorder, *, scenario: str, seed: int, controller: str,
                 sim_time_s: float, wall_time_s: float, extra: dict | None = None) -> dict:
    """The run report: fleet-wide figures (worst case over CAVs) and per-CAV figures under ``cavs``."""
    cavs = {cav_id: summarise_cav(trace) for cav_id, trace in recorder.traces.items()}

    def worst(key: str, pick) -> float | None:
        values = [c[key] for c in cavs.values() if c[key] is not None]
        return pick(values) if values else None

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
        "sim_time_s": sim_time_s,
        "wall_time_s": wall_time_s,
        "real_time_factor": sim_time_s / wall_time_s if wall_time_s > 0 else None,
        "max_vehicles": recorder.max_vehicles,
        "vehicles_seen": len(recorder.vehicle_ids_seen),
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
            for row in zip(*columns):
                writer.writerow([cav_id] + ["" if isinstance(v, float) and math.isnan(v) else f"{v:.6g}"
                                            for v in row])
    return path


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
    for ax, label in zip(axes, labels):
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("time [s]")
    if len(recorder.traces) <= 10:
        axes[0].legend(loc="best", fontsize="small", ncol=3)
    fig.suptitle(title)
    fig.tight_layout()
    path = out_dir / "plot.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
