"""CPU time per world step of the evaluation's per-step observers (run metrics, traffic metrics,
post-encroachment), on the ground truths of one closed-loop run replayed through each observer.

    python benchmarks/eval_observers.py [--scenario highway_cut_in] [--duration 20] [--seed N] [--repeats 3]

The run drives the CAVs with the stack and records every truth the world returns; each observer
then takes the whole sequence ``--repeats`` times and the best process CPU time per step [ms] is
printed (insensitive to other load on a shared machine, unlike wall time). The truths are the
world's own (before the bridge puts the plants' speeds on the CAVs): the same vehicles and poses.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cav_stack.app.runner import run_scenario
from cav_stack.core.truth import WorldTruth
from cav_stack.eval.metrics import RunRecorder
from cav_stack.eval.post_encroachment import PostEncroachment
from cav_stack.eval.traffic_metrics import TrafficMetrics
from cav_stack.sim.sumo import SumoWorld


_TRUTHS: list[WorldTruth] = []
"""Every truth the run's world returned, in order."""


class _RecordingWorld(SumoWorld):
    """SumoWorld that keeps every truth its steps return in ``_TRUTHS``."""

    def step(self) -> WorldTruth:
        truth = super().step()
        _TRUTHS.append(truth)
        return truth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="highway_cut_in")
    parser.add_argument("--duration", type=float, default=20.0, help="simulated time [s]")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_scenario(args.scenario, seed=args.seed, out_dir=Path(tmp), duration_s=args.duration,
                     world_factory=lambda spec, seed, cache: _RecordingWorld(spec, seed, cache_dir=cache))
    truths = _TRUTHS
    cavs = tuple(sorted({v.vehicle_id for truth in truths for v in truth.vehicles if v.is_cav}))
    print(f"{args.scenario}: {len(truths)} steps, {len(cavs)} CAVs, "
          f"{sum(len(t.vehicles) for t in truths) / len(truths):.0f} vehicles per step on average")
    for name, make in (("RunRecorder", lambda: RunRecorder(cavs)), ("TrafficMetrics", lambda: TrafficMetrics(None)),
                       ("PostEncroachment", PostEncroachment)):
        best = float("inf")
        for _ in range(args.repeats):
            observer = make()
            cpu = time.process_time()
            for truth in truths:
                observer(truth, {})
            best = min(best, time.process_time() - cpu)
        print(f"  {name:17s} {1e3 * best / len(truths):6.3f} ms CPU per step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
