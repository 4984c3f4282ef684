"""CPU time of the world's own step, split between SUMO (libsumo ``simulationStep``) and the
truth read (subscription results -> :class:`~cav_stack.core.truth.WorldTruth`), without the stack:
the CAVs hold their speed along their lanes. ``--prefill-end`` [m] cuts the scenario's
pre-populated traffic at that position (e.g. to see what the vehicles far ahead of the CAVs cost).

    python benchmarks/sumo_step.py [--scenario highway_cut_in] [--duration 80] [--seed N] [--prefill-end M]

Process CPU time (insensitive to other load on a shared machine, unlike wall time). It reads
SumoWorld's private simulation handle to time the two parts apart.
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

from cav_stack.sim.sumo import SumoWorld
from cav_stack.world.scenario import load_scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="highway_cut_in")
    parser.add_argument("--duration", type=float, default=80.0, help="simulated time [s]")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--prefill-end", type=float, default=None, help="[m] no pre-populated traffic beyond")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    if args.prefill_end is not None:
        prefill = tuple(dataclasses.replace(p, end=min(p.end, args.prefill_end)) for p in scenario.demand.prefill)
        scenario = dataclasses.replace(scenario, demand=dataclasses.replace(scenario.demand, prefill=prefill))
    seed = args.seed if args.seed is not None else scenario.seed
    with tempfile.TemporaryDirectory() as tmp, SumoWorld(scenario, seed, cache_dir=tmp) as world:
        world.start()
        sim = world._sim     # noqa: SLF001 - the two parts of the step, timed apart
        steps = round(args.duration / world.step_length)
        sumo_cpu = truth_cpu = 0.0
        vehicles = 0
        for _ in range(steps):
            c0 = time.process_time()
            sim.simulationStep()
            c1 = time.process_time()
            truth = world._read_truth()    # noqa: SLF001
            truth_cpu += time.process_time() - c1
            sumo_cpu += c1 - c0
            vehicles += len(truth.vehicles)
    print(f"scenario {scenario.name}, seed {seed}, {args.duration:.0f} s, prefill to "
          f"{'its end' if args.prefill_end is None else f'{args.prefill_end:.0f} m'}: "
          f"mean {vehicles / steps:.0f} vehicles")
    print(f"  SUMO simulationStep: {1e3 * sumo_cpu / steps:6.3f} ms CPU/step")
    print(f"  truth read:          {1e3 * truth_cpu / steps:6.3f} ms CPU/step")
    print(f"  ceiling on the world alone: {steps * world.step_length / max(sumo_cpu + truth_cpu, 1e-9):.1f}x real time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
