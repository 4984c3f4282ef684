"""String stability of the ``platoon`` scenario: the stack against SUMO's own models.

Runs the scenario (8 CAVs behind a scripted SUMO leader that drops from 25 to 20 m/s at 30 s)
once per controller in this process and prints, per vehicle, the peak |speed - 25 m/s| over the
speed drop (30 s to 50 s, before the leader recovers) and the smallest gap to its leader over
the whole run, plus collisions. ``stack``: our V2X + mode selector + MPC (CACC at 0.6 s);
``sumo_cacc`` / ``sumo_acc``: SUMO's CACC / ACC models (Milanés & Shladover 2014) at the mode
selector's CACC / ACC time gaps; ``idm_baseline``: IDM on ground truth.

    python benchmarks/platoon_comparison.py [--controllers stack sumo_cacc] [--out DIR] [--json]

Each 75 s run of the stack takes about 1-2 min of wall time on a shared 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from cav_stack.control.string_stability import string_figures
from cav_stack.app.runner import run_scenario
from cav_stack.world.scenario import load_scenario

SCENARIO = "platoon"
CONTROLLERS = ("stack", "sumo_cacc", "sumo_acc", "idm_baseline")
EQUILIBRIUM_SPEED = 25.0   # [m/s] the leader's speed before the drop
DROP_START = 30.0          # [s] the leader starts braking ...
DROP_END = 50.0            # [s] ... and starts recovering (platoon.yaml speed_profile)


def compare(controllers: tuple[str, ...], out_dir: Path) -> dict[str, dict]:
    """Per controller: collisions and per-vehicle figures (peak speed deviation, min gap)."""
    cav_ids = tuple(cav.id for cav in load_scenario(SCENARIO).cavs)
    results = {}
    for controller in controllers:
        run = run_scenario(SCENARIO, seed=None, out_dir=out_dir / controller, controller=controller)
        figures = string_figures(run.out_dir / "trajectories.csv", cav_ids, EQUILIBRIUM_SPEED,
                                 DROP_START, DROP_END)
        results[controller] = {"collisions": run.report["collisions"],
                               "peak_dv_mps": [round(f.peak_speed_deviation, 3) for f in figures],
                               "min_gap_m": [round(f.min_gap, 2) for f in figures]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controllers", nargs="+", default=list(CONTROLLERS))
    parser.add_argument("--out", type=Path, default=None, help="run directories (default: a temporary one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = compare(tuple(args.controllers), args.out or Path(tmp))
    if args.json:
        print(json.dumps(results))
        return
    names = list(results)
    print(f"{SCENARIO}: peak |v - {EQUILIBRIUM_SPEED:.0f} m/s| over t = {DROP_START:.0f}-{DROP_END:.0f} s [m/s] "
          f"/ min gap over the run [m]")
    print(f"{'vehicle':>8} " + " ".join(f"{n:>22}" for n in names))
    for i in range(len(results[names[0]]["peak_dv_mps"])):
        cells = [f"{results[n]['peak_dv_mps'][i]:>9.2f} / {results[n]['min_gap_m'][i]:>8.2f}" for n in names]
        print(f"{i + 1:>8} " + " ".join(f"{c:>22}" for c in cells))
    print(f"{'collide':>8} " + " ".join(f"{results[n]['collisions']:>22}" for n in names))


if __name__ == "__main__":
    main()
