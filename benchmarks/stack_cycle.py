"""Wall time of one CAV's stack per 50 ms control tick, for the ``stack`` and ``stack_sensors``
graphs, in a short closed-loop SUMO run.

A CAV's tick is everything its nodes ran in that tick (timers and received messages: V2X
decoding and verification, the mode selector, the MPC; with sensors also localisation, LiDAR,
radar and camera processing, fusion and tracking); the world, the plants and the sensor and
radio models (the simulation) are not counted (:mod:`cav_stack.runtime.callback_timing`). The
first second of each CAV is left out (first solves, caches filling).

Baseline in the same run (``--baseline-solver``, default fatrop: the full NLP solve the MPC
used before the real-time iteration): the ``stack`` graph again with that MPC solver; its line
has ``solver`` set accordingly and every other ``stack`` line gets ``ratio_to_baseline_median``.

    python benchmarks/stack_cycle.py [--scenario highway_cut_in] [--duration 20] [--seed N]
                                     [--configs stack stack_sensors] [--baseline-solver fatrop|none] [--json]

``--json`` prints one JSON object per configuration line with keys config, cavs, median_ms,
p99_ms, max_ms (wall time per CAV tick), cpu_median_ms, cpu_p99_ms, cpu_max_ms (the process's
CPU time in the same callbacks: insensitive to other load on a shared machine), ticks, solver,
scenario (and ratio_to_baseline_median, ratio_to_baseline_cpu_median).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from cav_stack.control.mpc_params import SOLVERS, load_mpc_params
from cav_stack.app.runner import run_scenario
from cav_stack.world.scenario import load_scenario
from cav_stack.runtime.callback_timing import CallbackTiming
from cav_stack.core.share import share_path

TICK = 0.05          # [s] control period of the stack
SKIP_TICKS = 20      # the first second of each CAV
CONFIGS = ("stack", "stack_sensors")


def measure(config: str, scenario: str, duration: float, seed: int | None, solver: str | None) -> dict:
    """Per-CAV tick times of one run of ``config`` (``solver``: the MPC's, None = the YAML's)."""
    mpc = load_mpc_params(share_path("controllers", "mpc.yaml"))
    if solver is not None:
        mpc = dataclasses.replace(mpc, solver=solver)
    timing = CallbackTiming(TICK)
    with tempfile.TemporaryDirectory() as tmp:
        run_scenario(scenario, seed=seed, out_dir=Path(tmp), duration_s=duration, controller=config,
                     param_overrides={"mpc": mpc}, timing=timing)
    samples = 1e3 * timing.per_tick(SKIP_TICKS)
    t, cpu = samples[:, 0], samples[:, 1]
    return {"config": config, "cavs": len(timing.namespaces()), "median_ms": float(np.median(t)),
            "p99_ms": float(np.percentile(t, 99)), "max_ms": float(t.max()), "ticks": int(t.size),
            "cpu_median_ms": float(np.median(cpu)), "cpu_p99_ms": float(np.percentile(cpu, 99)),
            "cpu_max_ms": float(cpu.max()), "solver": mpc.solver, "scenario": scenario}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="highway_cut_in")
    parser.add_argument("--duration", type=float, default=20.0, help="simulated time [s]")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--baseline-solver", choices=[*SOLVERS, "none"], default="fatrop",
                        help="MPC solver of a baseline `stack` run (none: no baseline)")
    parser.add_argument("--json", action="store_true", help="one JSON object per configuration line")
    args = parser.parse_args()
    try:
        load_scenario(args.scenario)
    except (OSError, LookupError, ValueError) as exc:
        print(f"stack_cycle: {exc}", file=sys.stderr)
        return 2
    results = [measure(c, args.scenario, args.duration, args.seed, None) for c in args.configs]
    if args.baseline_solver != "none":
        base = measure("stack", args.scenario, args.duration, args.seed, args.baseline_solver)
        for r in results:
            if r["config"] == "stack" and r["solver"] != base["solver"]:
                r["ratio_to_baseline_median"] = r["median_ms"] / base["median_ms"]
                r["ratio_to_baseline_cpu_median"] = r["cpu_median_ms"] / base["cpu_median_ms"]
        results.append(base)
    for r in results:
        if args.json:
            print(json.dumps(r))
            continue
        line = (f"{r['config']:>13} ({r['solver']}, {r['cavs']} CAVs, {r['scenario']}): "
                f"median {r['median_ms']:.2f} ms  "
                f"p99 {r['p99_ms']:.2f} ms  max {r['max_ms']:.2f} ms per CAV tick ({r['ticks']} ticks; cpu median "
                f"{r['cpu_median_ms']:.2f} ms, p99 {r['cpu_p99_ms']:.2f} ms)")
        if "ratio_to_baseline_median" in r:
            line += (f"  x{r['ratio_to_baseline_median']:.2f} of the {args.baseline_solver} baseline (median; "
                     f"cpu x{r['ratio_to_baseline_cpu_median']:.2f})")
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
