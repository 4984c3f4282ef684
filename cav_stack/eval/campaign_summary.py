"""A campaign's results: run specs and outcomes, summary.csv and summary.md.

Measurement only: the engine that runs the specs is :mod:`cav_stack.app.campaign`.
"""
from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cav_stack.world.scenario import load_scenario

STATUS_OK, STATUS_FAILED = "ok", "failed"
#: A penetration sweep's scenario name: ``<family>_p<percent>``.
PENETRATION_NAME = re.compile(r"^(?P<family>.+)_p(?P<percent>\d{1,3})$")

#: Report keys tabulated in summary.csv / summary.md and plotted per controller: key -> label.
SUMMARY_METRICS: dict[str, str] = {
    "collisions": "collisions",
    "min_ttc_s": "min TTC [s]",
    "min_gap_m": "min gap [m]",
    "min_time_headway_s": "min time headway [s]",
    "mean_speed_mps": "mean CAV speed [m/s]",
    "max_abs_accel_mps2": "max abs. acceleration [m/s²]",
    "p99_abs_jerk_mps3": "p99 abs. jerk [m/s³]",
    "vibration_total_value_mps2": "ISO 2631-1 vibration total value [m/s²]",
    "max_mtvv_mps2": "ISO 2631-1 MTVV [m/s²]",
    "max_vdv_mps175": "ISO 2631-1 VDV [m/s^1.75]",
    "min_pet_s": "min post-encroachment time [s]",
    "pet_conflicts": "PET conflicts (≤ 5 s)",
    "max_string_gain": "max L2 string gain",
    "v2x_pdr": "V2X PDR (≤ 300 m)",
    "v2x_mean_aoi_s": "V2X mean age of information [s]",
    "v2x_max_aoi_s": "V2X peak age of information [s]",
    "perception_mota": "perception MOTA (≤ 100 m)",
    "throughput_veh_h_lane": "lane throughput [veh/h/lane]",
    "mean_travel_time_s": "mean travel time [s]",
    "cav_fuel_g_per_km": "CAV fuel [g/km]",
    "fleet_fuel_g_per_km": "fleet fuel [g/km]",
    "real_time_factor": "real-time factor",
}
#: Report key of the V2X PDR against distance (``{"distance_m": [...], "pdr": [...]}``), plotted per controller.
PDR_KEY = "v2x_pdr_by_distance"
#: Report key of an OpenSCENARIO run's R157 figures (:mod:`cav_stack.eval.r157`), read by the R157 summary.
R157_KEY = "r157"
#: Every report key the summaries and plots read: what a campaign's index keeps of each run's report.
SUMMARY_REPORT_KEYS = (*SUMMARY_METRICS, "cav_share", PDR_KEY, R157_KEY, "events_not_as_scripted")
#: Start of the error of a run failed because its scripted events did not all happen as scripted.
EVENTS_NOT_AS_SCRIPTED = "scripted events not as scripted"


@dataclass(frozen=True)
class RunSpec:
    """One run of a campaign: ``duration_s`` [s] overrides the scenario's (None keeps it);
    ``radio``: V2X radio model (``dsrc``/``cv2x``) for controllers that use V2X."""

    scenario: str
    controller: str
    seed: int
    out_dir: Path
    duration_s: float | None = None
    radio: str = "dsrc"
    cav_seconds: float = 0.0
    """The run's simulated duration [s] x its number of CAVs: its size, for the start order."""
    params: tuple[tuple[str, str], ...] = ()
    """OpenSCENARIO parameter values (name, value text) of a concrete run of a logical scenario."""
    ego: str | None = None
    """OpenSCENARIO entity the stack drives (None: the one with the ALKS controller)."""
    shield: bool = True
    """Whether the joint-action shield is applied (False: ``--no-shield``, it only watches)."""


@dataclass(frozen=True)
class RunOutcome:
    """What became of a run: ``status`` ok/failed, ``error`` (one line) when failed,
    ``report`` (the run report) when ok, ``wall_time_s`` [s] of its process."""

    spec: RunSpec
    status: str
    error: str | None
    report: dict | None
    wall_time_s: float

    def to_json(self) -> dict:
        spec = asdict(self.spec)
        spec["out_dir"] = str(self.spec.out_dir)
        return {"spec": spec, "status": self.status, "error": self.error, "report": self.report,
                "wall_time_s": self.wall_time_s}

def summary_report(report: dict[str, Any]) -> dict[str, Any]:
    """The part of a run report the summaries and plots read (:data:`SUMMARY_REPORT_KEYS`)."""
    return {key: report[key] for key in SUMMARY_REPORT_KEYS if key in report}


def report_number(report: dict[str, Any], key: str) -> float | None:
    """The report's value at ``key`` as a finite float; None when missing, non-numeric or not finite."""
    value = report.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def outcome_number(outcome: RunOutcome, key: str) -> float | None:
    """:func:`report_number` of the run's report; None without a report."""
    return None if outcome.report is None else report_number(outcome.report, key)


def events_not_as_scripted(outcome: RunOutcome) -> bool:
    """Whether the run's scripted events did not all happen as scripted (its report says so)."""
    return bool(outcome.report and outcome.report.get("events_not_as_scripted"))


def completed(outcomes: list[RunOutcome]) -> list[RunOutcome]:
    """The runs that completed with a report."""
    return [o for o in outcomes if o.status == STATUS_OK and o.report is not None]


def capacity_points(outcomes: list[RunOutcome]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """family -> controller -> [(penetration %, throughput veh/h/lane)] over completed runs."""
    points: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for o in completed(outcomes):
        match = PENETRATION_NAME.match(o.spec.scenario)
        throughput = outcome_number(o, "throughput_veh_h_lane")
        if match is None or throughput is None:
            continue
        share = outcome_number(o, "cav_share")
        percent = 100.0 * share if share is not None else float(match["percent"])
        points[match["family"]][o.spec.controller].append((percent, throughput))
    return points


def write_summary_csv(outcomes: list[RunOutcome], path: Path) -> Path:
    """One row per run: scenario, controller, seed, status, error, then :data:`SUMMARY_METRICS`, then
    the run directory (relative to the csv's folder when inside it, so that the file does not depend
    on where the campaign folder lies)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["scenario", "controller", "seed", "status", "error", *SUMMARY_METRICS, "run_dir"])
        for o in outcomes:
            values = [outcome_number(o, key) for key in SUMMARY_METRICS]
            writer.writerow([o.spec.scenario, o.spec.controller, o.spec.seed, o.status, o.error or "",
                             *("" if v is None else f"{v:.6g}" for v in values),
                             _relative(o.spec.out_dir, path.parent)])
    return path


def _relative(run_dir: Path, folder: Path) -> str:
    try:
        return run_dir.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(run_dir)


def _cell(values: list[float]) -> str:
    if not values:
        return "–"
    mean = sum(values) / len(values)
    if len(values) == 1 or max(values) == min(values):
        return f"{mean:.3g}"
    return f"{mean:.3g} ({min(values):.3g}–{max(values):.3g})"


def _describe(scenario: str) -> tuple[str, tuple[str, ...]]:
    """Description and metrics of a campaign's scenario (an OpenSCENARIO file: its R157 figures)."""
    if scenario.lower().endswith(".xosc"):
        return f"OpenSCENARIO {Path(scenario).name} (R157 figures in r157_summary.md)", ("collisions", "min_ttc")
    spec = load_scenario(scenario)
    return spec.description, spec.metrics


def write_summary_md(outcomes: list[RunOutcome], path: Path) -> Path:
    """Per scenario: description, a table of controllers x metrics (mean and range over the
    completed seeds), then the failed runs with their reasons."""
    lines = ["# Evaluation campaign", ""]
    total, failed = len(outcomes), sum(o.status != STATUS_OK for o in outcomes)
    untrue = sum(1 for o in outcomes if events_not_as_scripted(o))
    lines += [f"{total} runs, {total - failed} completed, {failed} failed. Cells: mean (min–max) over "
              "the completed seeds; – where undefined.", "",
              f"Scenario truth: {untrue} of {total} runs had scripted events that did not all happen as scripted "
              "(each such run is failed; its report's `events` says which and why).", ""]
    unshielded = sum(1 for o in outcomes if not o.spec.shield)
    if unshielded:
        lines += [f"Joint-action shield: off in {unshielded} of {total} runs (`--no-shield`: it only watches; "
                  "each report's `shield` lists the conflicts it would have resolved).", ""]
    keys = [k for k in SUMMARY_METRICS if any(outcome_number(o, k) is not None for o in outcomes)]
    for scenario in dict.fromkeys(o.spec.scenario for o in outcomes):
        description, metrics = _describe(scenario)
        rows = [o for o in outcomes if o.spec.scenario == scenario]
        lines += [f"## {scenario}", "", description, "", f"Metrics that matter here: {', '.join(metrics)}.", ""]
        lines.append("| controller | runs ok | " + " | ".join(SUMMARY_METRICS[k] for k in keys) + " |")
        lines.append("|---|---|" + "---|" * len(keys))
        for controller in dict.fromkeys(o.spec.controller for o in rows):
            mine = [o for o in rows if o.spec.controller == controller]
            ok = [o for o in mine if o.status == STATUS_OK]
            cells = [_cell([v for o in ok if (v := outcome_number(o, k)) is not None]) for k in keys]
            lines.append(f"| {controller} | {len(ok)}/{len(mine)} | " + " | ".join(cells) + " |")
        failures = [o for o in rows if o.status != STATUS_OK]
        if failures:
            lines += ["", "Failed runs:", ""]
            lines += [f"- {o.spec.controller}, seed {o.spec.seed}: {o.error}" for o in failures]
        lines.append("")
    lines += capacity_tables(outcomes)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def capacity_tables(outcomes: list[RunOutcome]) -> list[str]:
    """Markdown lines: per penetration sweep, mean lane throughput [veh/h/lane] over seeds per
    controller and penetration level [%], and the ratio of the highest level's to the lowest's."""
    lines: list[str] = []
    for family, curves in capacity_points(outcomes).items():
        levels = sorted({round(p, 6) for pts in curves.values() for p, _ in pts})
        if len(levels) < 2:
            continue
        lines += [f"## Capacity against CAV penetration: {family}", "",
                  "Lane throughput [veh/h/lane], mean over the completed seeds.", "",
                  "| controller | " + " | ".join(f"{p:.0f} %" for p in levels)
                  + f" | {levels[-1]:.0f} % / {levels[0]:.0f} % |",
                  "|---|" + "---|" * (len(levels) + 1)]
        for controller, pts in curves.items():
            by_level: dict[float, list[float]] = {}
            for percent, throughput in pts:
                by_level.setdefault(round(percent, 6), []).append(throughput)
            means = {level: sum(values) / len(values) for level, values in by_level.items()}
            ratio = (f"{means[levels[-1]] / means[levels[0]]:.2f}"
                     if levels[0] in means and levels[-1] in means and means[levels[0]] > 0 else "–")
            cells = [f"{means[level]:.0f}" if level in means else "–" for level in levels]
            lines.append(f"| {controller} | " + " | ".join(cells) + f" | {ratio} |")
        lines.append("")
    return lines
