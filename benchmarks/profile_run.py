"""Where one closed-loop run spends its CPU time: cProfile on the process's CPU time (other load on
a shared machine barely changes it), the entries with the largest cumulative time printed and the
whole profile written for ``python -m pstats`` or snakeviz.

    python benchmarks/profile_run.py [--scenario highway_cut_in] [--duration 20] [--seed N]
                                     [--controller stack] [--out run.prof] [--top 40]

The profiler's own overhead inflates Python-heavy parts (per-call cost) against compiled ones
(libsumo, CasADi, OpenSSL): compare ratios within one profile, not against unprofiled timings.
The run's start (imports, ASN.1 compilation, network build) and end (the plot) are included.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from cav_stack.app.runner import run_scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="highway_cut_in")
    parser.add_argument("--duration", type=float, default=20.0, help="simulated time [s]")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--controller", default="stack")
    parser.add_argument("--out", default="run.prof", help="profile file")
    parser.add_argument("--top", type=int, default=40, help="entries printed")
    args = parser.parse_args()
    profiler = cProfile.Profile(time.process_time)
    with tempfile.TemporaryDirectory() as tmp:
        profiler.enable()
        report = run_scenario(args.scenario, seed=args.seed, out_dir=Path(tmp), duration_s=args.duration,
                              controller=args.controller).report
        profiler.disable()
    profiler.dump_stats(args.out)
    print(f"scenario {report['scenario']}, {report['sim_time_s']:.1f} s simulated, {report['world_steps']} steps, "
          f"{len(report['cavs'])} CAVs; profile in {args.out}")
    pstats.Stats(args.out).sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
