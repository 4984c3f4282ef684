"""Evaluation campaigns: scenarios x seeds x controllers, each run in a process of its own.

``cav-stack eval --scenarios all|a,b --seeds N|A-B[,C...] --controllers c1,c2 [--radio dsrc|cv2x]
[--engine local|ray [--address auto|HOST:PORT]] [--jobs J] [--retries R] [--no-shield]
[--out DIR | --resume DIR]``
runs every combination, each in a process of its own (libsumo holds one simulation per process).
``--seeds N`` (a bare number) means the scenario's own seed plus 0 .. N-1; anything else is a
comma-separated list of absolute seeds and inclusive ranges (``--seeds 1-500``, ``--seeds 1,2``,
``--seeds 7-7`` for the single seed 7).

Engines: ``local`` (default) forks each run from a server that has done the imports once
(:mod:`cav_stack.app.run_preload`), at most ``J`` at a time. ``ray`` runs each run as a Ray task in
a fresh worker process (:mod:`cav_stack.app.campaign_ray`): on a local Ray instance with ``J`` CPUs,
or with ``--address`` on a cluster started with ``ray start``. Both write the same outputs.

Outputs in ``DIR`` (default ``runs/eval-<UTC time>``), streamed while the campaign runs
(:mod:`cav_stack.app.campaign_store`):

- ``plan.jsonl`` (the runs), ``index.jsonl`` (one line per finished run, append-only);
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

A run that raises or times out (``--timeout``) is recorded as failed with its reason; a run whose
process dies (killed, out of memory, node lost) is started again, at most ``--retries`` times, then
recorded as failed; a controller that is not registered is recorded as failed without being started.
A run counts as done once its outcome is on disk and in the index: after Ctrl-C or a crash,
``--resume DIR`` runs only the runs missing from the index. ``--no-shield`` runs every run without the
joint-action shield (each RunSpec's ``shield``, so the plan keeps it for ``--resume``; ``summary.md``
says how many runs had it off). Exit code: 0 when every run completed,
1 when any failed (or the engine could not start), 2 for bad arguments (unknown scenario, N or J < 1),
130 when interrupted.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import re
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from cav_stack.app.exit_codes import ExitCode, fail
from cav_stack.app.run_args import RADIOS, seconds

from cav_stack.app.campaign_worker import execute_run
from cav_stack.app.campaign_engine import (DEFAULT_JOBS, DEFAULT_RETRIES, STACK_CONTROLLER, CampaignEngine,
                                           EngineUnavailableError, FinishedRun, OnFinished, dispatch)
from cav_stack.app.campaign_progress import CampaignProgress
from cav_stack.app.campaign_store import OUTCOME_FILE, CampaignStore, write_outcome
from cav_stack.eval.campaign_summary import (STATUS_FAILED, STATUS_OK, RunOutcome, RunSpec, write_summary_csv,
                                             write_summary_md)
from cav_stack.eval.plots import write_campaign_plots

DEFAULT_CONTROLLERS = (STACK_CONTROLLER, "idm_baseline", "sumo_acc", "sumo_cacc")
_POLL_S = 0.2
_SEED_RANGE = re.compile(r"^(-?\d+)-(-?\d+)$")
_ADDRESS = re.compile(r"^(auto|[^\s:/]+:\d{1,5})$")


def parse_seeds(text: str) -> int | tuple[int, ...]:
    """``--seeds``: a bare number N -> N (a count: the scenario's seed + 0 .. N-1); otherwise a
    comma-separated list of absolute seeds and inclusive ranges ``A-B`` -> those seeds, in order,
    duplicates dropped. Raises ValueError (naming --seeds) for anything else."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    seeds: dict[int, None] = {}
    for part in (p.strip() for p in text.split(",")):
        match = _SEED_RANGE.match(part)
        if match:
            first, last = int(match[1]), int(match[2])
            if last < first:
                raise ValueError(f"--seeds: range {part} ends before it starts")
            seeds.update(dict.fromkeys(range(first, last + 1)))
        elif re.fullmatch(r"-?\d+", part):
            seeds[int(part)] = None
        elif part:
            raise ValueError(f"--seeds: '{part}' is neither a seed nor a range A-B")
    if not seeds:
        raise ValueError("--seeds: no seed given")
    return tuple(seeds)


def plan_runs(scenarios: list[str], seeds: int | Sequence[int], controllers: list[str], out_dir: Path,
              duration_s: float | None = None, radio: str = "dsrc") -> list[RunSpec]:
    """Every (scenario, controller, seed) run; ``seeds`` an int N: scenario seed + 0 .. N - 1,
    a sequence: those seeds; ``scenarios`` are names or YAML paths, run directories use the
    scenario's name.

    Raises UnknownScenarioError / ParamsError for a scenario that does not load, ValueError for
    ``seeds`` < 1 or a non-positive duration.
    """
    from cav_stack.world.scenario import load_scenario

    if isinstance(seeds, int) and seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    if duration_s is not None and not duration_s > 0.0:
        raise ValueError(f"--duration must be > 0 seconds, got {duration_s}")
    runs = []
    for name in scenarios:
        scenario = load_scenario(name)
        chosen = [scenario.seed + k for k in range(seeds)] if isinstance(seeds, int) else list(seeds)
        for controller in controllers:
            for seed in chosen:
                run_dir = out_dir / scenario.name / controller / f"seed_{seed}"
                cav_seconds = (duration_s or scenario.duration) * len(scenario.cavs)
                runs.append(RunSpec(name, controller, seed, run_dir, duration_s, radio, cav_seconds))
    return runs


def _read_outcome(spec: RunSpec) -> RunOutcome | None:
    """The outcome the run's process wrote (even if it then exited badly); None if it wrote none."""
    path = spec.out_dir / OUTCOME_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return RunOutcome(spec, data["status"], data["error"], data["report"], data["wall_time_s"])


def _death(exitcode: int | None) -> str:
    return f"killed by signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"exit code {exitcode}"


class ForkServerEngine:
    """The local engine: each run in a process forked from a fork server that imported
    :mod:`cav_stack.app.run_preload`, at most ``jobs`` at a time.

    timeout_s: wall-time limit [s] per run (None: none); retries: how many times a run whose
    process died without an outcome is started again before it is recorded as failed.
    """

    name = "local"

    def __init__(self, jobs: int = DEFAULT_JOBS, timeout_s: float | None = None, retries: int = DEFAULT_RETRIES):
        if jobs < 1:
            raise ValueError(f"--jobs must be >= 1, got {jobs}")
        if retries < 0:
            raise ValueError(f"--retries must be >= 0, got {retries}")
        self.jobs, self.timeout_s, self.retries = jobs, timeout_s, retries
        self.node = socket.gethostname()

    def run(self, pending: Sequence[tuple[int, RunSpec]], on_finished: OnFinished) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["cav_stack.app.run_preload"])
        queue = deque((index, spec, 1) for index, spec in pending)
        running: dict[int, tuple[multiprocessing.process.BaseProcess, RunSpec, int, float]] = {}
        try:
            while queue or running:
                while queue and len(running) < self.jobs:
                    index, spec, attempt = queue.popleft()
                    spec.out_dir.mkdir(parents=True, exist_ok=True)
                    (spec.out_dir / OUTCOME_FILE).unlink(missing_ok=True)
                    child = context.Process(target=execute_run, args=(spec,),
                                            name=f"eval-{spec.scenario}-{spec.controller}")
                    child.start()
                    running[index] = (child, spec, attempt, time.perf_counter())
                time.sleep(_POLL_S)
                for index, (process, spec, attempt, started) in list(running.items()):
                    elapsed = time.perf_counter() - started
                    if process.is_alive():
                        if self.timeout_s is not None and elapsed > self.timeout_s:
                            process.kill()
                            process.join()
                            del running[index]
                            outcome = RunOutcome(spec, STATUS_FAILED, f"timed out after {self.timeout_s:.0f} s",
                                                 None, elapsed)
                            on_finished(FinishedRun(index, outcome, self.node, attempt))
                        continue
                    process.join()
                    del running[index]
                    read = _read_outcome(spec)
                    if read is None and attempt <= self.retries:
                        queue.appendleft((index, spec, attempt + 1))
                        continue
                    outcome = read or RunOutcome(spec, STATUS_FAILED, f"run process died ({_death(process.exitcode)}) "
                                                 f"without an outcome, {attempt} attempt(s)", None, elapsed)
                    on_finished(FinishedRun(index, outcome, self.node, attempt))
        finally:
            for process, *_ in running.values():
                process.kill()
                process.join()

    def close(self) -> None:
        """Nothing to release: every run's process is joined by :meth:`run`."""


ProgressCallback = Callable[[int, int, int], None]
"""``progress(done, total, failed)`` after every finished run."""


def run_campaign(runs: list[RunSpec], jobs: int, *, known_controllers: list[str] | None = None,
                 timeout_s: float | None = None, progress: ProgressCallback | None = None,
                 engine: CampaignEngine | None = None) -> list[RunOutcome]:
    """Run ``runs`` on ``engine`` (default: a :class:`ForkServerEngine` of ``jobs`` processes and
    ``timeout_s``), writing each run's ``outcome.json``; outcomes in ``runs`` order, held in memory
    (a campaign folder with an index is :func:`run`'s way).

    known_controllers: the registered controller names (default: the runner's); a run naming
    another is failed at once. Runs start largest first (:func:`~cav_stack.app.campaign_engine.start_order`).
    """
    engine = engine or ForkServerEngine(jobs, timeout_s)
    if known_controllers is None:
        from cav_stack.app.runner import controller_names
        known_controllers = controller_names()
    outcomes: dict[int, RunOutcome] = {}

    def finished(run: FinishedRun) -> None:
        write_outcome(run.outcome)
        outcomes[run.index] = run.outcome
        if progress is not None:
            progress(len(outcomes), len(runs), sum(o.status != STATUS_OK for o in outcomes.values()))

    dispatch(runs, set(), engine, known_controllers, finished)
    return [outcomes[i] for i in range(len(runs))]


def write_outputs(outcomes: list[RunOutcome], out_dir: Path) -> dict[str, Path]:
    """summary.csv, summary.md and the plots; returns their paths by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"summary.csv": write_summary_csv(outcomes, out_dir / "summary.csv"),
               "summary.md": write_summary_md(outcomes, out_dir / "summary.md")}
    for path in write_campaign_plots(outcomes, out_dir / "plots"):
        written[path.name] = path
    return written


# --- command line ------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``cav-stack eval`` options."""
    parser.add_argument("--scenarios", default="all",
                        help="'all' or a comma-separated list of scenario names, YAML paths or OpenSCENARIO "
                             "files (.xosc: concrete, or logical with a ParameterValueDistribution) (default: all)")
    parser.add_argument("--seeds", default="1", metavar="N|A-B[,C...]",
                        help="a bare number N: N seeds per scenario and controller, the scenario's seed + 0..N-1 "
                             "(default: 1); otherwise absolute seeds and inclusive ranges, e.g. 1-500 or 1,2 "
                             "(one absolute seed: 7-7)")
    parser.add_argument("--controllers", default=",".join(DEFAULT_CONTROLLERS),
                        help=f"comma-separated controllers (default: {','.join(DEFAULT_CONTROLLERS)}); "
                             "one that is not registered is recorded as failed")
    parser.add_argument("--engine", default="local", choices=("local", "ray"),
                        help="local: processes forked on this machine (default); ray: one Ray task per run, "
                             "each in a fresh worker process (needs the 'ray' extra)")
    parser.add_argument("--address", default=None, metavar="auto|HOST:PORT",
                        help="with --engine ray: join the cluster started with `ray start` at this address "
                             "('auto': the one on this machine); default: start a local Ray instance")
    parser.add_argument("--jobs", type=int, default=None, metavar="J",
                        help=f"runs at a time (default: {DEFAULT_JOBS}): processes of the local engine, CPUs of "
                             "a local Ray instance; with --address the cluster's CPUs decide")
    parser.add_argument("--retries", type=int, default=DEFAULT_RETRIES, metavar="R",
                        help=f"times a run whose process or worker died is started again before it is recorded "
                             f"as failed (default: {DEFAULT_RETRIES})")
    parser.add_argument("--radio", default="dsrc", choices=RADIOS,
                        help="V2X radio model for controllers that use V2X (default: dsrc)")
    parser.add_argument("--duration", type=seconds, default=None, metavar="SECONDS",
                        help="simulated seconds per run (default: each scenario's own)")
    parser.add_argument("--timeout", type=seconds, default=None, metavar="SECONDS",
                        help="wall-time limit per run; a run exceeding it is recorded as failed")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: runs/eval-<UTC time>)")
    parser.add_argument("--resume", type=Path, default=None, metavar="DIR",
                        help="continue the campaign in DIR: run only the runs missing from its index (the plan "
                             "options --scenarios/--seeds/--controllers/--radio/--duration/--no-shield/--out are "
                             "not used)")
    parser.add_argument("--no-shield", dest="shield", action="store_false",
                        help="every run without the joint-action shield over the CAVs' lane changes (as "
                             "`cav-stack drive --no-shield`; it still watches)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the concrete runs (and the OpenSCENARIO runs discarded by constraints), "
                             "run nothing")
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
    runs = plan_runs(yaml_names, parse_seeds(args.seeds), controllers, out_dir, args.duration, args.radio) \
        if yaml_names else []
    lines = [f"{r.scenario} / {r.controller} / seed {r.seed}" for r in runs]
    for name in names:
        if is_openscenario(name):
            planned, expansion = plan_openscenario_runs(name, controllers, out_dir, args.sample, args.seed)
            runs += planned
            lines += dry_run_lines(name, planned, expansion)
    if not args.shield:
        runs = [dataclasses.replace(r, shield=False) for r in runs]
    return runs, lines


def _plan(args: argparse.Namespace) -> tuple[Path, list[RunSpec], list[str]]:
    """The campaign folder, its runs and their dry-run lines from the plan options (raises
    ValueError & co. on bad input)."""
    from cav_stack.world.scenario import list_scenarios

    names = list_scenarios() if args.scenarios.strip() == "all" else [
        n.strip() for n in args.scenarios.split(",") if n.strip()]
    controllers = [c.strip() for c in args.controllers.split(",") if c.strip()]
    out_dir = args.out or Path("runs") / f"eval-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}"
    if not names or not controllers:
        raise ValueError("--scenarios and --controllers must name at least one each")
    runs, lines = plan_all(args, names, controllers, out_dir)
    return out_dir, runs, lines


def _check_engine_options(args: argparse.Namespace) -> None:
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if args.retries < 0:
        raise ValueError(f"--retries must be >= 0, got {args.retries}")
    if args.address is not None and args.engine != "ray":
        raise ValueError("--address needs --engine ray")
    if args.address is not None and not _ADDRESS.match(args.address):
        raise ValueError(f"--address must be 'auto' or HOST:PORT, got '{args.address}'")


def make_engine(args: argparse.Namespace) -> CampaignEngine:
    """The engine the options name; raises EngineUnavailableError when it cannot start."""
    if args.engine == "ray":
        from cav_stack.app.campaign_ray import RayEngine

        return RayEngine(jobs=args.jobs or DEFAULT_JOBS, address=args.address, timeout_s=args.timeout,
                         retries=args.retries)
    return ForkServerEngine(args.jobs or DEFAULT_JOBS, args.timeout, args.retries)


def run(args: argparse.Namespace) -> int:
    """Run the campaign described by parsed :func:`add_arguments` options; return the exit code."""
    from cav_stack.app.openscenario_runs import SCENARIO_ERRORS
    from cav_stack.app.runner import controller_names
    from cav_stack.core.params import ParamsError
    from cav_stack.eval.r157_campaign import write_r157_outputs
    from cav_stack.world.scenario import UnknownScenarioError

    try:  # CampaignFolderError is a ValueError
        _check_engine_options(args)
        if args.resume is not None:
            store = CampaignStore.resume(args.resume)
        else:
            out_dir, runs, lines = _plan(args)
            if args.dry_run:
                print("\n".join(lines))
                return ExitCode.OK
            CampaignStore.check_new(out_dir)
    except (ValueError, UnknownScenarioError, ParamsError, *SCENARIO_ERRORS) as exc:
        return fail("cav-stack eval", exc, ExitCode.USAGE)
    try:
        engine = make_engine(args)
    except EngineUnavailableError as exc:
        return fail("cav-stack eval", exc, ExitCode.ENVIRONMENT)
    if args.resume is None:
        store = CampaignStore.create(out_dir, runs)
    finished = store.finished()
    progress = None if args.quiet else CampaignProgress(
        sys.stdout, len(store.runs), len(finished), sum(o.status != STATUS_OK for o in store.outcomes()))

    def record(run: FinishedRun) -> None:
        store.record(run)
        if progress is not None:
            progress.finished(run)

    try:
        if progress is not None:
            progress.show()
        dispatch(store.runs, finished, engine, controller_names(), record)
    except KeyboardInterrupt:
        print(f"\ncav-stack eval: interrupted; {len(store.finished())}/{len(store.runs)} runs are on disk in "
              f"{store.root}; continue with: cav-stack eval --resume {store.root}", file=sys.stderr)
        return ExitCode.INTERRUPTED
    finally:
        engine.close()
    outcomes = store.outcomes()
    written = write_outputs(outcomes, store.root)
    written.update(write_r157_outputs(outcomes, store.root))
    failed = [o for o in outcomes if o.status != STATUS_OK]
    for o in failed:
        print(f"failed: {o.spec.scenario} / {o.spec.controller} / seed {o.spec.seed}: {o.error}")
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} runs completed; summary: {written['summary.md']}")
    return ExitCode.FAILURE if failed else ExitCode.OK
