"""Evaluation campaigns: scenarios x seeds x controllers, run in parallel processes.

``cav-stack eval --scenarios all|a,b --seeds N --jobs J --controllers c1,c2 [--radio dsrc|cv2x] [--out DIR]``
runs every combination, each in a process of its own (libsumo holds one simulation per process)
forked from a server that has done the imports once (:mod:`cav_stack.eval.run_preload`), at most
``J`` at a time, with a progress bar on the terminal. Seeds are the
scenario's own seed plus 0 .. N-1. Outputs in ``DIR`` (default ``runs/eval-<UTC time>``):

- ``<scenario>/<controller>/seed_<n>/``: the run directory (report.json, trajectories.csv,
  plot.png) and ``outcome.json`` (status, error, report);
- ``summary.csv``: one row per run; ``summary.md``: per scenario, mean and range over seeds
  per controller, and every failure with its reason; then, per penetration sweep
  (``<family>_p<NN>`` scenarios), lane throughput per controller and penetration and the ratio
  of the highest to the lowest penetration's throughput (the capacity gain);
- ``plots/*.png`` (see :mod:`cav_stack.eval.plots`).

A run that raises, times out (``--timeout``) or whose process dies is recorded as failed with
its reason; a controller that is not registered is recorded as failed without being started;
the campaign always carries on. Exit code: 0 when every run completed, 1 when any failed,
2 for bad arguments (unknown scenario, N or J < 1).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
STATUS_OK, STATUS_FAILED = "ok", "failed"
STACK_CONTROLLER = "stack"
DEFAULT_CONTROLLERS = (STACK_CONTROLLER, "idm_baseline", "sumo_acc", "sumo_cacc")
OUTCOME_FILE = "outcome.json"
_POLL_S = 0.2

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


def plan_runs(scenarios: list[str], seeds: int, controllers: list[str], out_dir: Path,
              duration_s: float | None = None, radio: str = "dsrc") -> list[RunSpec]:
    """Every (scenario, controller, seed) run, seeds = scenario seed + 0 .. ``seeds`` - 1;
    ``scenarios`` are names or YAML paths, run directories use the scenario's name.

    Raises UnknownScenarioError / ParamsError for a scenario that does not load, ValueError for
    ``seeds`` < 1 or a non-positive duration.
    """
    from cav_stack.eval.scenario import load_scenario

    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    if duration_s is not None and not duration_s > 0.0:
        raise ValueError(f"--duration must be > 0 seconds, got {duration_s}")
    runs = []
    for name in scenarios:
        scenario = load_scenario(name)
        for controller in controllers:
            for k in range(seeds):
                seed = scenario.seed + k
                run_dir = out_dir / scenario.name / controller / f"seed_{seed}"
                cav_seconds = (duration_s or scenario.duration) * len(scenario.cavs)
                runs.append(RunSpec(name, controller, seed, run_dir, duration_s, radio, cav_seconds))
    return runs


def execute_run(spec: RunSpec) -> RunOutcome:
    """Run one campaign entry in this process and write its ``outcome.json``; never raises for
    a failing run (the reason is in the outcome; the traceback in ``error.txt``)."""
    from cav_stack.eval.runner import run_scenario

    started = time.perf_counter()
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        result = run_scenario(spec.scenario, seed=spec.seed, out_dir=spec.out_dir, duration_s=spec.duration_s,
                              controller=spec.controller, radio=spec.radio)
        outcome = RunOutcome(spec, STATUS_OK, None, result.report, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - every failure of a run is recorded, the campaign goes on
        (spec.out_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        message = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        outcome = RunOutcome(spec, STATUS_FAILED, message, None, time.perf_counter() - started)
    _write_outcome(outcome)
    return outcome


def _write_outcome(outcome: RunOutcome) -> None:
    path = outcome.spec.out_dir / OUTCOME_FILE
    path.write_text(json.dumps(outcome.to_json(), indent=2) + "\n", encoding="utf-8")


def _read_outcome(spec: RunSpec, wall_time_s: float, exitcode: int | None) -> RunOutcome:
    path = spec.out_dir / OUTCOME_FILE
    if path.is_file():  # written by the run itself, even if its process then exited badly
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunOutcome(spec, data["status"], data["error"], data["report"], data["wall_time_s"])
    reason = f"killed by signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"exit code {exitcode}"
    outcome = RunOutcome(spec, STATUS_FAILED, f"run process died ({reason}) without an outcome", None, wall_time_s)
    _write_outcome(outcome)
    return outcome


ProgressCallback = Callable[[int, int, int], None]
"""``progress(done, total, failed)`` after every finished run."""


def start_order(runs: list[RunSpec]) -> list[int]:
    """Indices of ``runs``, the full stack's runs first (they cost ~10x a baseline's per
    simulated second: every CAV runs perception, V2X, mode selection and an MPC), each group
    by CAV-seconds, largest first; ties keep the plan's order."""
    return sorted(range(len(runs)), key=lambda i: (runs[i].controller != STACK_CONTROLLER, -runs[i].cav_seconds))


def run_campaign(runs: list[RunSpec], jobs: int, *, known_controllers: list[str] | None = None,
                 timeout_s: float | None = None, progress: ProgressCallback | None = None) -> list[RunOutcome]:
    """Run ``runs`` in at most ``jobs`` processes at a time, each forked from a fork server that
    imported :mod:`cav_stack.eval.run_preload`; outcomes in ``runs`` order.

    known_controllers: the registered controller names (default: the runner's); a run naming
    another is failed at once. timeout_s: wall-time limit [s] per run (None: no limit).
    Runs start largest first (:func:`start_order`), so that no long run is left alone at the end.
    """
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    if known_controllers is None:
        from cav_stack.eval.runner import controller_names
        known_controllers = controller_names()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["cav_stack.eval.run_preload"])
    outcomes: dict[int, RunOutcome] = {}
    queue = [(index, runs[index]) for index in start_order(runs)]
    running: dict[int, tuple[multiprocessing.process.BaseProcess, float]] = {}

    def finish(index: int, outcome: RunOutcome) -> None:
        outcomes[index] = outcome
        if progress is not None:
            progress(len(outcomes), len(runs), sum(o.status != STATUS_OK for o in outcomes.values()))

    while queue or running:
        while queue and len(running) < jobs:
            index, spec = queue.pop(0)
            if spec.controller not in known_controllers:
                spec.out_dir.mkdir(parents=True, exist_ok=True)
                outcome = RunOutcome(spec, STATUS_FAILED, f"controller '{spec.controller}' is not registered "
                                     f"(known: {', '.join(known_controllers)})", None, 0.0)
                _write_outcome(outcome)
                finish(index, outcome)
                continue
            spec.out_dir.mkdir(parents=True, exist_ok=True)
            (spec.out_dir / OUTCOME_FILE).unlink(missing_ok=True)
            process = context.Process(target=execute_run, args=(spec,), name=f"eval-{spec.scenario}-{spec.controller}")
            process.start()
            running[index] = (process, time.perf_counter())
        time.sleep(_POLL_S)
        for index, (process, started) in list(running.items()):
            spec, elapsed = runs[index], time.perf_counter() - started
            if process.is_alive():
                if timeout_s is not None and elapsed > timeout_s:
                    process.kill()
                    process.join()
                    del running[index]
                    outcome = RunOutcome(spec, STATUS_FAILED, f"timed out after {timeout_s:.0f} s", None, elapsed)
                    _write_outcome(outcome)
                    finish(index, outcome)
                continue
            process.join()
            del running[index]
            finish(index, _read_outcome(spec, elapsed, process.exitcode))
    return [outcomes[i] for i in range(len(runs))]


# --- summaries ---------------------------------------------------------------------------

def _value(outcome: RunOutcome, key: str) -> float | None:
    if outcome.report is None:
        return None
    value = outcome.report.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def write_summary_csv(outcomes: list[RunOutcome], path: Path) -> Path:
    """One row per run: scenario, controller, seed, status, error, then :data:`SUMMARY_METRICS`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["scenario", "controller", "seed", "status", "error", *SUMMARY_METRICS, "run_dir"])
        for o in outcomes:
            values = [_value(o, key) for key in SUMMARY_METRICS]
            writer.writerow([o.spec.scenario, o.spec.controller, o.spec.seed, o.status, o.error or "",
                             *("" if v is None else f"{v:.6g}" for v in values), str(o.spec.out_dir)])
    return path


def _cell(values: list[float]) -> str:
    if not values:
        return "–"
    mean = sum(values) / len(values)
    if len(values) == 1 or max(values) == min(values):
        return f"{mean:.3g}"
    return f"{mean:.3g} ({min(values):.3g}–{max(values):.3g})"


def write_summary_md(outcomes: list[RunOutcome], path: Path) -> Path:
    """Per scenario: description, a table of controllers x metrics (mean and range over the
    completed seeds), then the failed runs with their reasons."""
    from cav_stack.eval.scenario import load_scenario

    lines = ["# Evaluation campaign", ""]
    total, failed = len(outcomes), sum(o.status != STATUS_OK for o in outcomes)
    lines += [f"{total} runs, {total - failed} completed, {failed} failed. Cells: mean (min–max) over "
              "the completed seeds; – where undefined.", ""]
    keys = [k for k in SUMMARY_METRICS if any(_value(o, k) is not None for o in outcomes)]
    for scenario in dict.fromkeys(o.spec.scenario for o in outcomes):
        spec = load_scenario(scenario)
        rows = [o for o in outcomes if o.spec.scenario == scenario]
        lines += [f"## {scenario}", "", spec.description, "",
                  f"Metrics that matter here: {', '.join(spec.metrics)}.", ""]
        lines.append("| controller | runs ok | " + " | ".join(SUMMARY_METRICS[k] for k in keys) + " |")
        lines.append("|---|---|" + "---|" * len(keys))
        for controller in dict.fromkeys(o.spec.controller for o in rows):
            mine = [o for o in rows if o.spec.controller == controller]
            ok = [o for o in mine if o.status == STATUS_OK]
            cells = [_cell([v for o in ok if (v := _value(o, k)) is not None]) for k in keys]
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
    from cav_stack.eval.plots import capacity_points

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


def write_outputs(outcomes: list[RunOutcome], out_dir: Path) -> dict[str, Path]:
    """summary.csv, summary.md, campaign.json and the plots; returns their paths by name."""
    from cav_stack.eval.plots import write_campaign_plots

    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"summary.csv": write_summary_csv(outcomes, out_dir / "summary.csv"),
               "summary.md": write_summary_md(outcomes, out_dir / "summary.md")}
    campaign = out_dir / "campaign.json"
    campaign.write_text(json.dumps([o.to_json() for o in outcomes], indent=1) + "\n", encoding="utf-8")
    written["campaign.json"] = campaign
    for path in write_campaign_plots(outcomes, out_dir / "plots"):
        written[path.name] = path
    return written


# --- command line ------------------------------------------------------------------------

def _progress_bar(stream: TextIO) -> ProgressCallback:
    started = time.perf_counter()
    interactive = stream.isatty()

    def show(done: int, total: int, failed: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        line = (f"eval [{'#' * filled}{'-' * (width - filled)}] {done}/{total} runs, {failed} failed, "
                f"{time.perf_counter() - started:6.1f} s")
        stream.write(("\r" + line + ("\n" if done == total else "")) if interactive else line + "\n")
        stream.flush()
    return show


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``cav-stack eval`` options."""
    parser.add_argument("--scenarios", default="all",
                        help="'all' or a comma-separated list of scenario names (default: all)")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="seeds per scenario and controller: the scenario's seed + 0..N-1 (default: 1)")
    parser.add_argument("--controllers", default=",".join(DEFAULT_CONTROLLERS),
                        help=f"comma-separated controllers (default: {','.join(DEFAULT_CONTROLLERS)}); "
                             "one that is not registered is recorded as failed")
    parser.add_argument("--jobs", type=int, default=2, metavar="J", help="parallel run processes (default: 2)")
    parser.add_argument("--radio", default="dsrc", choices=("dsrc", "cv2x"),
                        help="V2X radio model for controllers that use V2X (default: dsrc)")
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                        help="simulated seconds per run (default: each scenario's own)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="wall-time limit per run; a run exceeding it is recorded as failed")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: runs/eval-<UTC time>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the campaign described by parsed :func:`add_arguments` options; return the exit code."""
    from cav_stack.core.params import ParamsError
    from cav_stack.eval.scenario import UnknownScenarioError, list_scenarios

    names = list_scenarios() if args.scenarios.strip() == "all" else [
        n.strip() for n in args.scenarios.split(",") if n.strip()]
    controllers = [c.strip() for c in args.controllers.split(",") if c.strip()]
    out_dir = args.out or Path("runs") / f"eval-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}"
    try:
        if not names or not controllers:
            raise ValueError("--scenarios and --controllers must name at least one each")
        if args.jobs < 1:
            raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
        if args.timeout is not None and not args.timeout > 0.0:
            raise ValueError(f"--timeout must be > 0 seconds, got {args.timeout}")
        runs = plan_runs(names, args.seeds, controllers, out_dir, args.duration, args.radio)
    except (ValueError, UnknownScenarioError, ParamsError) as exc:
        print(f"cav-stack eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    progress = None if args.quiet else _progress_bar(sys.stdout)
    outcomes = run_campaign(runs, args.jobs, timeout_s=args.timeout, progress=progress)
    written = write_outputs(outcomes, out_dir)
    failed = [o for o in outcomes if o.status != STATUS_OK]
    for o in failed:
        print(f"failed: {o.spec.scenario} / {o.spec.controller} / seed {o.spec.seed}: {o.error}")
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} runs completed; summary: {written['summary.md']}")
    return EXIT_FAILURE if failed else EXIT_OK
