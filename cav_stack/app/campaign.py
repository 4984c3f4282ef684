"""Evaluation campaigns: scenarios x seeds x controllers, run in parallel processes.

``cav-stack eval --scenarios all|a,b --seeds N --jobs J --controllers c1,c2 [--radio dsrc|cv2x] [--out DIR]``
runs every combination, each in a process of its own (libsumo holds one simulation per process)
forked from a server that has done the imports once (:mod:`cav_stack.app.run_preload`), at most
``J`` at a time, with a progress bar on the terminal. Seeds are the
scenario's own seed plus 0 .. N-1. Outputs in ``DIR`` (default ``runs/eval-<UTC time>``):

- ``<scenario>/<controller>/seed_<n>/``: the run directory (report.json, trajectories.csv,
  plot.png) and ``outcome.json`` (status, error, report);
- ``summary.csv``: one row per run; ``summary.md``: per scenario, mean and range over seeds
  per controller, and every failure with its reason; then, per penetration sweep
  (``<family>_p<NN>`` scenarios), lane throughput per controller and penetration and the ratio
  of the highest to the lowest penetration's throughput (the capacity gain);
- ``plots/*.png`` (see :mod:`cav_stack.eval.plots`).

OpenSCENARIO files (``.xosc``) in ``--scenarios`` run once each when concrete; a logical one
(ParameterValueDistribution) expands into its concrete runs (``--sample N --seed S``: N of them
drawn at random; ``--dry-run``: print them and the count discarded, run nothing), each a RunSpec
carrying its parameter values; the campaign then also writes ``r157_summary.md``/``.csv`` and
``plots/r157_pass_fail.png`` (:mod:`cav_stack.eval.r157_campaign`).

A run that raises, times out (``--timeout``) or whose process dies is recorded as failed with
its reason; a controller that is not registered is recorded as failed without being started;
the campaign always carries on. Exit code: 0 when every run completed, 1 when any failed,
2 for bad arguments (unknown scenario, N or J < 1).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

from cav_stack.eval.campaign_summary import (STATUS_FAILED, STATUS_OK, RunOutcome, RunSpec, write_summary_csv,
                                             write_summary_md)
from cav_stack.eval.plots import write_campaign_plots

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
STACK_CONTROLLER = "stack"
DEFAULT_CONTROLLERS = (STACK_CONTROLLER, "idm_baseline", "sumo_acc", "sumo_cacc")
OUTCOME_FILE = "outcome.json"
_POLL_S = 0.2



def plan_runs(scenarios: list[str], seeds: int, controllers: list[str], out_dir: Path,
              duration_s: float | None = None, radio: str = "dsrc") -> list[RunSpec]:
    """Every (scenario, controller, seed) run, seeds = scenario seed + 0 .. ``seeds`` - 1;
    ``scenarios`` are names or YAML paths, run directories use the scenario's name.

    Raises UnknownScenarioError / ParamsError for a scenario that does not load, ValueError for
    ``seeds`` < 1 or a non-positive duration.
    """
    from cav_stack.world.scenario import load_scenario

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
    from cav_stack.app.runner import run_scenario

    started = time.perf_counter()
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        from cav_stack.app.openscenario_runs import load_run_scenario
        result = run_scenario(load_run_scenario(spec), seed=spec.seed, out_dir=spec.out_dir, duration_s=spec.duration_s,
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
    imported :mod:`cav_stack.app.run_preload`; outcomes in ``runs`` order.

    known_controllers: the registered controller names (default: the runner's); a run naming
    another is failed at once. timeout_s: wall-time limit [s] per run (None: no limit).
    Runs start largest first (:func:`start_order`), so that no long run is left alone at the end.
    """
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    if known_controllers is None:
        from cav_stack.app.runner import controller_names
        known_controllers = controller_names()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["cav_stack.app.run_preload"])
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




def write_outputs(outcomes: list[RunOutcome], out_dir: Path) -> dict[str, Path]:
    """summary.csv, summary.md, campaign.json and the plots; returns their paths by name."""
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
                        help="'all' or a comma-separated list of scenario names, YAML paths or OpenSCENARIO "
                             "files (.xosc: concrete, or logical with a ParameterValueDistribution) (default: all)")
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
    parser.add_argument("--dry-run", action="store_true",
                        help="OpenSCENARIO: print the concrete runs and the count discarded, run nothing")
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="OpenSCENARIO logical scenarios: run N concrete runs drawn at random (see --seed)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seed of the --sample draw (numpy default_rng; default: 0)")


def plan_all(args: argparse.Namespace, names: list[str], controllers: list[str], out_dir: Path) -> tuple[
        list[RunSpec], list[str]]:
    """Runs of every named scenario (OpenSCENARIO files expanded) and the ``--dry-run`` lines."""
    from cav_stack.app.openscenario_runs import dry_run_lines, is_openscenario, plan_openscenario_runs

    if args.sample is not None and args.sample < 1:
        raise ValueError(f"--sample must be >= 1, got {args.sample}")
    yaml_names = [n for n in names if not is_openscenario(n)]
    runs = plan_runs(yaml_names, args.seeds, controllers, out_dir, args.duration, args.radio) if yaml_names else []
    lines = [f"{r.scenario} / {r.controller} / seed {r.seed}" for r in runs]
    for name in names:
        if is_openscenario(name):
            planned, expansion = plan_openscenario_runs(name, controllers, out_dir, args.sample, args.seed)
            runs += planned
            lines += dry_run_lines(name, planned, expansion)
    return runs, lines


def run(args: argparse.Namespace) -> int:
    """Run the campaign described by parsed :func:`add_arguments` options; return the exit code."""
    from cav_stack.app.openscenario_runs import SCENARIO_ERRORS
    from cav_stack.core.params import ParamsError
    from cav_stack.eval.r157_campaign import write_r157_outputs
    from cav_stack.world.scenario import UnknownScenarioError, list_scenarios

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
        runs, lines = plan_all(args, names, controllers, out_dir)
    except (ValueError, UnknownScenarioError, ParamsError, *SCENARIO_ERRORS) as exc:
        print(f"cav-stack eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.dry_run:
        print("\n".join(lines))
        return EXIT_OK
    progress = None if args.quiet else _progress_bar(sys.stdout)
    outcomes = run_campaign(runs, args.jobs, timeout_s=args.timeout, progress=progress)
    written = write_outputs(outcomes, out_dir)
    written.update(write_r157_outputs(outcomes, out_dir))
    failed = [o for o in outcomes if o.status != STATUS_OK]
    for o in failed:
        print(f"failed: {o.spec.scenario} / {o.spec.controller} / seed {o.spec.seed}: {o.error}")
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} runs completed; summary: {written['summary.md']}")
    return EXIT_FAILURE if failed else EXIT_OK
