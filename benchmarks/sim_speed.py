"""Real-time factor of the default scenario and the split of step time between SUMO and the stack.

Baseline in the same process: the wall time SUMO itself spends stepping the world (libsumo),
against the whole closed loop (bridge, plants, controllers, metrics). The real-time factor is
also given on the process's CPU time (simulated time / CPU seconds), which other load on a
shared machine barely changes. ``--mpc-solvers`` runs the stack graphs once per MPC solver
(e.g. ``rti_hpipm,fatrop``: the real-time iteration against the full NLP solve, same process).

    python benchmarks/sim_speed.py [--scenario highway_cut_in] [--duration 60] [--controllers stack,idm_baseline]
                                   [--mpc-solvers rti_hpipm,fatrop]
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from cav_stack.app.runner import run_scenario
from cav_stack.control.mpc_params import load_mpc_params
from cav_stack.core.share import share_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="highway_cut_in")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--controllers", default="stack,idm_baseline",
                        help="comma-separated controllers to time (default: the stack and the IDM baseline)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--mpc-solvers", default=None,
                        help="comma-separated MPC solvers for the stack graphs (default: controllers/mpc.yaml's)")
    args = parser.parse_args()
    solvers = args.mpc_solvers.split(",") if args.mpc_solvers else [None]
    for controller in args.controllers.split(","):
        for solver in solvers if controller.startswith("stack") else [None]:
            overrides = {}
            if solver is not None:
                base = load_mpc_params(share_path("controllers", "mpc.yaml"))
                overrides["mpc"] = dataclasses.replace(base, solver=solver)
            cpu0 = time.process_time()
            with tempfile.TemporaryDirectory() as tmp:
                report = run_scenario(args.scenario, seed=args.seed, out_dir=Path(tmp), duration_s=args.duration,
                                      controller=controller, param_overrides=overrides).report
            cpu = time.process_time() - cpu0
            wall, sumo = report["wall_time_s"], report["world_step_wall_s"]
            steps = report["world_steps"]
            label = controller + (f", MPC {solver}" if solver else "")
            print(f"scenario {report['scenario']} ({label}), {report['sim_time_s']:.1f} s simulated, "
                  f"{len(report['cavs'])} CAVs, {report['max_vehicles']} vehicles at most, "
                  f"{report['vehicles_seen']} in all")
            print(f"  real-time factor:            {report['sim_time_s'] / wall:8.1f}x  (wall {wall:.2f} s)")
            print(f"  real-time factor (CPU time): {report['sim_time_s'] / cpu:8.1f}x  (CPU {cpu:.2f} s)")
            print(f"  SUMO step (baseline):        {1e3 * sumo / steps:8.2f} ms/step  "
                  f"({100 * sumo / wall:.0f} % of wall)")
            print(f"  stack + bridge + metrics:    {1e3 * (wall - sumo) / steps:8.2f} ms/step  "
                  f"({100 * (wall - sumo) / wall:.0f} % of wall)")
            print(f"  closed loop / SUMO alone:    {wall / sumo:8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
