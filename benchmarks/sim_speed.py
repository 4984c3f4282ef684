"""Real-time factor of the default scenario and the split of step time between SUMO and the stack.

Baseline in the same process: the wall time SUMO itself spends stepping the world (libsumo),
against the whole closed loop (bridge, plants, controllers, metrics).

    python benchmarks/sim_speed.py [--scenario highway_cut_in] [--duration 60] [--controllers stack,idm_baseline]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from cav_stack.app.runner import run_scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="highway_cut_in")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--controllers", default="stack,idm_baseline",
                        help="comma-separated controllers to time (default: the stack and the IDM baseline)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    for controller in args.controllers.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            report = run_scenario(args.scenario, seed=args.seed, out_dir=Path(tmp), duration_s=args.duration,
                                  controller=controller).report
        wall, sumo = report["wall_time_s"], report["world_step_wall_s"]
        steps = report["world_steps"]
        print(f"scenario {report['scenario']} ({controller}), {report['sim_time_s']:.1f} s simulated, "
              f"{report['max_vehicles']} vehicles at most, {report['vehicles_seen']} in all")
        print(f"  real-time factor:            {report['sim_time_s'] / wall:8.1f}x  (wall {wall:.2f} s)")
        print(f"  SUMO step (baseline):        {1e3 * sumo / steps:8.2f} ms/step  ({100 * sumo / wall:.0f} % of wall)")
        print(f"  stack + bridge + metrics:    {1e3 * (wall - sumo) / steps:8.2f} ms/step  "
              f"({100 * (wall - sumo) / wall:.0f} % of wall)")
        print(f"  closed loop / SUMO alone:    {wall / sumo:8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
