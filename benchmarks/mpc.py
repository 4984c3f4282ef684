"""MPC solve-time benchmark on a representative closed loop, per solver, as ratios to ipopt.

Scenario (pure numpy plant, 20 Hz): ACC behind a leader whose speed varies (20 -> 14 -> 22 m/s)
on a road with a straight, a 250 m radius 90-degree curve and a straight again, then a lane
change to the left (free lane) at 30 s and cruise at 25 m/s. Every solver runs the same
scenario in this process; times are the solvers' own wall times (CasADi ``t_wall_total``),
with the process CPU times (``t_proc_total``, insensitive to other load on a shared machine)
alongside.

    python benchmarks/mpc.py [--solvers fatrop ipopt] [--duration 60] [--json]

``--json`` prints one JSON object per solver line with keys
solver, median_ms, p99_ms, max_ms, failures, fallbacks, steps, cpu_median_ms, cpu_p99_ms,
cpu_max_ms (and ratio_to_ipopt_median, ratio_to_ipopt_p99 when ipopt ran). failures: solves that did not converge; fallbacks: ticks
whose command came from a fallback path. Exceptions are not caught: any would abort the run.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from cav_stack.control.comfort_profile import load_comfort_profile
from cav_stack.control.harness import ego_from_state, plant_step
from cav_stack.control.leader_prediction import LeaderPrediction
from cav_stack.control.mpc import STATUS_OK, MpcController
from cav_stack.control.mpc_params import RESCUE_NONE, SOLVERS, load_mpc_params
from cav_stack.control.reference_path import ReferencePath
from cav_stack.control.vehicle_models import load_vehicle_params
from cav_stack.core.messages import MAP_FRAME, DrivingMode, Header, ModeCommand

CONTROLLERS = Path(__file__).resolve().parents[1] / "controllers"
DT = 0.05            # [s] control tick
LANE_CHANGE_AT = 30.0  # [s]


def road() -> np.ndarray:
    """Lane centre: 150 m straight, 90-degree left curve of 250 m radius, 400 m straight."""
    radius = 250.0
    straight1 = np.column_stack([np.arange(-50.0, 150.0, 2.0), np.zeros(100)])
    theta = np.linspace(0.0, np.pi / 2, 200)
    curve = np.column_stack([150.0 + radius * np.sin(theta), radius - radius * np.cos(theta)])
    straight2 = np.column_stack([np.full(200, 150.0 + radius), radius + np.arange(2.0, 402.0, 2.0)])
    return np.vstack([straight1, curve, straight2])


def leader_speed(t: float) -> float:
    """Leader speed profile [m/s] at time t [s]."""
    return float(np.interp(t, [0.0, 5.0, 9.0, 14.0, 20.0, 60.0], [20.0, 20.0, 14.0, 14.0, 22.0, 22.0]))


def run(solver: str, duration: float) -> dict:
    # each solver alone: no rescue solver, so its own failures show
    params = dataclasses.replace(load_mpc_params(CONTROLLERS / "mpc.yaml"), solver=solver, rescue_solver=RESCUE_NONE)
    vehicle = load_vehicle_params(CONTROLLERS / "vehicle.yaml")
    comfort = load_comfort_profile(CONTROLLERS / "comfort.yaml", "normal")
    ctl = MpcController(params, vehicle, comfort)
    path = road()
    ref = ReferencePath(path)
    front = vehicle.length - vehicle.rear_overhang
    state = np.array([0.0, 0.2, 0.0, 20.0, 0.0, 0.0])
    leader_s = 45.0 + 50.0   # leader rear bumper arc length [m]
    times, cpu_times, failures, fallbacks, steps = [], [], 0, 0, int(round(duration / DT))
    for i in range(steps):
        now = i * DT
        s_ego, _, _ = ref.project(state[0], state[1], state[2])
        if now < LANE_CHANGE_AT:
            command = ModeCommand(Header(now, MAP_FRAME), DrivingMode.ACC, 25.0, 1.5, 2.0, 1)
            lead_a = (leader_speed(now + DT) - leader_speed(now)) / DT
            leader = LeaderPrediction(leader_s - s_ego - front, leader_speed(now), lead_a)
        else:
            command = ModeCommand(Header(now, MAP_FRAME), DrivingMode.LANE_CHANGE, 25.0, 1.5, 2.0,
                                  None, 3.5)
            leader = None
        out = ctl.step(now, ego_from_state(now, state, vehicle), path, command, leader)
        times.append(out.solve_time_s * 1e3)
        cpu_times.append(ctl.problem.solver.stats().get("t_proc_total", 0.0) * 1e3)
        failures += not out.converged
        fallbacks += out.status != STATUS_OK
        state = plant_step(vehicle, state, out.command, DT)
        leader_s += 0.5 * (leader_speed(now) + leader_speed(now + DT)) * DT
    t, cpu = np.array(times), np.array(cpu_times)
    return {"solver": solver, "median_ms": float(np.median(t)), "p99_ms": float(np.percentile(t, 99)),
            "max_ms": float(t.max()), "failures": int(failures), "fallbacks": int(fallbacks),
            "steps": steps, "cpu_median_ms": float(np.median(cpu)),
            "cpu_p99_ms": float(np.percentile(cpu, 99)), "cpu_max_ms": float(cpu.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solvers", nargs="+", default=["fatrop", "ipopt"], choices=SOLVERS)
    parser.add_argument("--duration", type=float, default=60.0, help="simulated time [s] (20 Hz)")
    parser.add_argument("--json", action="store_true", help="one JSON object per solver line")
    args = parser.parse_args()
    results = [run(s, args.duration) for s in args.solvers]
    base = next((r for r in results if r["solver"] == "ipopt"), None)
    for r in results:
        if base is not None:
            r["ratio_to_ipopt_median"] = r["median_ms"] / base["median_ms"]
            r["ratio_to_ipopt_p99"] = r["p99_ms"] / base["p99_ms"]
        if args.json:
            print(json.dumps(r))
        else:
            ratio = f"  x{r['ratio_to_ipopt_median']:.2f} of ipopt (median)" if base is not None else ""
            print(f"{r['solver']:>16}: median {r['median_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
                  f"max {r['max_ms']:.2f} ms  (cpu p99 {r['cpu_p99_ms']:.2f} ms)  failures {r['failures']}  fallbacks {r['fallbacks']}  "
                  f"steps {r['steps']}{ratio}")


if __name__ == "__main__":
    main()
