"""Perception table: open-loop tracking figures of sensor sets x seeds on one scenario.

``cav-stack perception-eval`` runs :func:`~cav_stack.app.perception_eval.evaluate_perception`
for every sensor set and seed (SUMO scenarios each in a fresh process, one at a time: libsumo holds
one simulation per process) and prints a markdown table: MOTA, MOTP [m], ID switches, misses,
false positives, position RMSE [m], velocity RMSE [m/s] against the vehicles within
``--max-distance`` [m] of the ego, and the wall time of each run [s] on this machine (each run
also reports on stderr as it ends).
``--out`` also writes the set-up and every run's full summary as JSON (NaN as null).
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from cav_stack.app.perception_eval import DEFAULT_RIG, SENSOR_SETS, SYNTHETIC_SCENARIO, evaluate_perception

#: Table columns: (summary key, header, format).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("sensor_set", "set", "{}"),
    ("seed", "seed", "{}"),
    ("mota", "MOTA", "{:.3f}"),
    ("motp", "MOTP [m]", "{:.3f}"),
    ("id_switches", "ID switches", "{}"),
    ("misses", "misses", "{}"),
    ("false_positives", "false pos.", "{}"),
    ("position_rmse", "pos. RMSE [m]", "{:.3f}"),
    ("velocity_rmse", "vel. RMSE [m/s]", "{:.3f}"),
    ("wall_s", "wall [s]", "{:.0f}"),
)


def parse_sets(text: str) -> list[str]:
    """Comma-separated sensor set names -> list; raises ValueError for an empty list or an unknown set."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError("--sets must name at least one sensor set")
    unknown = [n for n in names if n not in SENSOR_SETS]
    if unknown:
        raise ValueError(f"unknown sensor set(s) {', '.join(unknown)} (known: {', '.join(SENSOR_SETS)})")
    return names


def parse_seeds(text: str | None, scenario: str) -> list[int]:
    """Comma-separated integer seeds -> list; None: the scenario's own seed. Raises ValueError for a
    malformed list, or for None on ``synthetic_highway`` (it has no seed of its own)."""
    if text is None:
        if scenario == SYNTHETIC_SCENARIO:
            raise ValueError(f"--seeds is required for {SYNTHETIC_SCENARIO} (it has no scenario seed)")
        from cav_stack.world.scenario import load_scenario

        return [load_scenario(scenario).seed]
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--seeds must be a comma-separated list of integers, got {text!r}") from None
    if not seeds:
        raise ValueError("--seeds must name at least one seed")
    return seeds


def format_table(rows: list[dict]) -> str:
    """Markdown table of run summaries (one row each, :data:`COLUMNS`); a missing or NaN figure is 'n/a'."""
    def cell(row: dict, key: str, fmt: str) -> str:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return fmt.format(value)

    lines = ["| " + " | ".join(header for _, header, _ in COLUMNS) + " |",
             "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(row, key, fmt) for key, _, fmt in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def evaluate_timed(scenario: str, seed: int, duration_s: float, sensor_set: str, rig_path: Path,
                   max_distance: float) -> dict:
    """One :func:`evaluate_perception` run; its summary plus ``wall_s``, the run's wall time [s]."""
    started = time.perf_counter()
    result = evaluate_perception(scenario, seed, duration_s, sensor_set, rig_path=rig_path,
                                 max_distance=max_distance)
    result["wall_s"] = time.perf_counter() - started
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``perception-eval`` options to ``parser``."""
    parser.add_argument("--scenario", default="highway_cut_in",
                        help=f"scenario name or YAML path, or {SYNTHETIC_SCENARIO} (default: highway_cut_in)")
    parser.add_argument("--seeds", default=None,
                        help="comma-separated seeds (default: the scenario's own seed)")
    parser.add_argument("--duration", type=float, default=80.0, metavar="SECONDS",
                        help="simulated seconds per run (default: 80)")
    parser.add_argument("--rig", type=Path, default=DEFAULT_RIG,
                        help="sensor rig YAML (default: sensors/rig_128.yaml)")
    parser.add_argument("--sets", default=",".join(SENSOR_SETS),
                        help=f"comma-separated sensor sets (default: all: {','.join(SENSOR_SETS)})")
    parser.add_argument("--max-distance", type=float, default=100.0, metavar="METRES",
                        help="score vehicles within this distance of the ego [m] (default: 100)")
    parser.add_argument("--out", type=Path, default=None, help="also write the set-up and all summaries as JSON")


def run(args: argparse.Namespace) -> int:
    """Run every set x seed, print the markdown table; 0 on success, 2 on a usage error."""
    from cav_stack.world.scenario import UnknownScenarioError
    from cav_stack.world.sensor_rig import load_rig

    try:
        sets = parse_sets(args.sets)
        seeds = parse_seeds(args.seeds, args.scenario)
        if not args.duration > 0.0:
            raise ValueError(f"--duration must be > 0 seconds, got {args.duration}")
        if not args.max_distance > 0.0:
            raise ValueError(f"--max-distance must be > 0 m, got {args.max_distance}")
        if not args.rig.is_file():
            raise ValueError(f"--rig {args.rig}: no such file")
        load_rig(args.rig)  # ParamsError (a ValueError) names the file and key
    except (ValueError, UnknownScenarioError) as exc:
        print(f"cav-stack perception-eval: {exc}", file=sys.stderr)
        return 2
    jobs = [(args.scenario, seed, args.duration, name, args.rig, args.max_distance) for seed in seeds for name in sets]
    rows = []
    results: Iterable[dict[str, Any]]
    with ExitStack() as stack:
        if args.scenario == SYNTHETIC_SCENARIO:
            results = (evaluate_timed(*job) for job in jobs)
        else:
            context = multiprocessing.get_context("spawn")
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=1, mp_context=context, max_tasks_per_child=1))
            results = pool.map(evaluate_timed, *zip(*jobs, strict=True))
        for row in results:
            rows.append(row)
            print(f"run {len(rows)}/{len(jobs)}: {row['sensor_set']} seed {row['seed']}: MOTA {row['mota']:.3f}, "
                  f"{row['wall_s']:.0f} s wall", file=sys.stderr, flush=True)
    print(f"{args.scenario}, {args.duration:g} s, rig {args.rig}, vehicles within {args.max_distance:g} m")
    print(format_table(rows))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        setup = {"scenario": args.scenario, "seeds": seeds, "duration_s": args.duration, "rig": str(args.rig),
                 "sets": sets, "max_distance_m": args.max_distance}
        runs = [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()} for row in rows]
        args.out.write_text(json.dumps({"setup": setup, "runs": runs}, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0
