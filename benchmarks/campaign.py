"""Campaign engines on the same specs: runs per minute of the local fork server and of Ray, and each
engine's overhead per run.

Both engines run the same runs with the same number of slots (local: processes; Ray: the CPUs of a
local instance). A run's own time is the wall time inside it (``outcome.wall_time_s``: the scenario
from start to report); the engine's overhead per run is the slot time a run occupies beyond that:
``slots x campaign wall time / runs - mean run time`` (process start, imports, shipping the run's
files back, scheduling). Ray's instance start is timed on its own (once per campaign).

    python benchmarks/campaign.py [--scenario highway_cut_in] [--controller idm_baseline] [--runs 8]
                                  [--duration 2] [--slots 2]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from cav_stack.app.campaign import ForkServerEngine, plan_runs
from cav_stack.app.campaign_engine import CampaignEngine, dispatch
from cav_stack.app.campaign_store import CampaignStore
from cav_stack.app.runner import controller_names
from cav_stack.eval.campaign_summary import RunSpec


def measure(engine: CampaignEngine, runs: list[RunSpec], out_dir: Path, slots: int) -> dict[str, float]:
    """Run the plan on ``engine``; campaign wall time [s], runs/min, mean run time [s], overhead/run [s]."""
    store = CampaignStore.create(out_dir, runs)
    started = time.perf_counter()
    dispatch(store.runs, set(), engine, controller_names(), store.record)
    wall = time.perf_counter() - started
    outcomes = store.outcomes()
    failed = [o for o in outcomes if o.status != "ok"]
    if failed:
        raise SystemExit(f"{engine.name}: {len(failed)} runs failed, first: {failed[0].error}")
    run_time = statistics.fmean(o.wall_time_s for o in outcomes)
    return {"wall": wall, "per_min": 60.0 * len(outcomes) / wall, "run": run_time,
            "overhead": slots * wall / len(outcomes) - run_time}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="highway_cut_in")
    parser.add_argument("--controller", default="idm_baseline")
    parser.add_argument("--runs", type=int, default=8, help="runs per engine: seeds 1..runs (default 8)")
    parser.add_argument("--duration", type=float, default=2.0, help="simulated seconds per run (default 2)")
    parser.add_argument("--slots", type=int, default=2, help="runs at a time in each engine (default 2)")
    args = parser.parse_args()
    seeds = tuple(range(1, args.runs + 1))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        plan = {name: plan_runs([args.scenario], seeds, [args.controller], Path(tmp) / name, args.duration)
                for name in ("local", "ray")}
        results["local"] = measure(ForkServerEngine(args.slots), plan["local"], Path(tmp) / "local", args.slots)
        from cav_stack.app.campaign_ray import RayEngine

        started = time.perf_counter()
        ray_engine = RayEngine(jobs=args.slots)
        ray_start = time.perf_counter() - started
        try:
            results["ray"] = measure(ray_engine, plan["ray"], Path(tmp) / "ray", args.slots)
        finally:
            ray_engine.close()
    print(f"{args.runs} runs of {args.scenario} / {args.controller}, {args.duration:g} s simulated each, "
          f"{args.slots} at a time")
    print(f"{'engine':8s} {'wall [s]':>9s} {'runs/min':>9s} {'run [s]':>8s} {'overhead/run [s]':>17s}")
    for name, r in results.items():
        print(f"{name:8s} {r['wall']:9.1f} {r['per_min']:9.1f} {r['run']:8.2f} {r['overhead']:17.2f}")
    print(f"Ray instance start: {ray_start:.1f} s (once per campaign; none with --address)")
    print(f"ray / local: {results['ray']['per_min'] / results['local']['per_min']:.2f}x the runs per minute, "
          f"overhead per run {results['ray']['overhead'] - results['local']['overhead']:+.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
