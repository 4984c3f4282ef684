"""MPC solve-time benchmark on a representative closed loop, per solver, as ratios to ipopt, and
with the NLP functions interpreted by CasADi vs compiled to C (``codegen``).

Scenario (pure numpy plant, 20 Hz): ACC behind a leader whose speed varies (20 -> 14 -> 22 m/s)
on a road with a straight, a 250 m radius 90-degree curve and a straight again, then a lane
change to the left (free lane) at 30 s and cruise at 25 m/s. Every configuration (solver,
interpreted or compiled functions) drives its own closed loop of the same scenario in this
process; the loops advance tick by tick in turn, so they share the machine's load. Times are the
solvers' own wall times (CasADi ``t_wall_total``), with the process CPU times (``t_proc_total``,
insensitive to other load on a shared machine) alongside.

    python benchmarks/mpc.py [--solvers rti_hpipm fatrop ipopt] [--duration 60] [--codegen both]
                             [--reference fatrop] [--json]

``--codegen both`` (default) runs every solver interpreted and compiled, ``on`` / ``off`` only
one of them (``on`` compiles on the first run on a machine, ~20 s, before the loops start).
``--json`` prints one JSON object per configuration line with keys
solver, codegen, median_ms, p99_ms, max_ms, failures, fallbacks, steps, cpu_median_ms,
cpu_p99_ms, cpu_max_ms (and ratio_to_ipopt_median, ratio_to_ipopt_p99 when ipopt ran with the
same codegen; speedup_median, speedup_p99, cpu_speedup_median, cpu_speedup_p99 (interpreted /
compiled) and max_accel_diff [m/s^2], max_steer_diff [rad] (largest command difference to the
interpreted loop) on compiled lines when both ran; for solvers other than ``--reference`` (the
full NLP solve the plans are compared with, default fatrop with compiled functions): each tick's
problem, as that loop's controller posed it, is solved again by the reference from the same
guess, and nlp_checks (ticks where the reference converged), max_accel_diff_to_nlp,
p99_accel_diff_to_nlp [m/s^2], max_steer_diff_to_nlp [rad] (first command),
max_plan_position_diff_m (arc length and lateral offset over the horizon) and
max_plan_speed_diff_mps compare the two plans). failures: solves that did not converge;
fallbacks: ticks whose command came from a fallback path (the solve-time budget is not enforced:
loops stay reproducible on a loaded machine; p99/max show the times). Exceptions are not caught:
any would abort the run.
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
from cav_stack.control.mpc_params import RESCUE_NONE, SOLVERS, MpcParams, load_mpc_params
from cav_stack.control.mpc_problem import MpcProblem
from cav_stack.control.reference_path import ReferencePath
from cav_stack.control.vehicle_models import load_vehicle_params
from cav_stack.core.messages import MAP_FRAME, DrivingMode, Header, ModeCommand

CONTROLLERS = Path(__file__).resolve().parents[1] / "controllers"
DT = 0.05            # [s] control tick
LANE_CHANGE_AT = 30.0  # [s]
CODEGEN_CHOICES = {"both": (False, True), "on": (True,), "off": (False,)}


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


class NlpCheck:
    """Solves every problem the controller's main solver was given again with a reference NLP
    solver (from the same guess) and keeps the differences of the plans where it converged."""

    def __init__(self, problem: MpcProblem, reference: MpcProblem):
        self._reference = reference
        self._solve = problem.solve
        problem.solve = self._checked_solve    # this controller's problem only (instance attribute)
        self.accel, self.steer, self.position, self.speed = [], [], [], []

    def _checked_solve(self, stage, glob, bounds, w0, lam_g0=None, lam_x0=None, rescue=False):
        result = self._solve(stage, glob, bounds, w0, lam_g0, lam_x0, rescue)
        ref = self._reference.solve(stage, glob, bounds, w0)
        if ref.success and result.usable:
            first = np.abs(result.inputs[0, :2] - ref.inputs[0, :2])
            self.accel.append(first[0])
            self.steer.append(first[1])
            self.position.append(float(np.abs(result.states[:, :2] - ref.states[:, :2]).max()))
            self.speed.append(float(np.abs(result.states[:, 3] - ref.states[:, 3]).max()))
        return result

    def summary(self) -> dict:
        if not self.accel:
            return {"nlp_checks": 0}
        return {"nlp_checks": len(self.accel), "max_accel_diff_to_nlp": float(np.max(self.accel)),
                "p99_accel_diff_to_nlp": float(np.percentile(self.accel, 99)),
                "max_steer_diff_to_nlp": float(np.max(self.steer)),
                "max_plan_position_diff_m": float(np.max(self.position)),
                "max_plan_speed_diff_mps": float(np.max(self.speed))}


def bench_params(solver: str, codegen: bool) -> MpcParams:
    """The MPC's parameters with ``solver`` alone (no rescue solver, so its own failures show)."""
    return dataclasses.replace(load_mpc_params(CONTROLLERS / "mpc.yaml"), solver=solver,
                               rescue_solver=RESCUE_NONE, codegen=codegen)


class ClosedLoop:
    """One controller configuration driving its own ego behind the scripted leader."""

    def __init__(self, solver: str, codegen: bool, reference: str | None = None):
        """reference: the NLP solver each tick's problem is checked against (None: no check)."""
        params = bench_params(solver, codegen)
        self.solver, self.codegen = solver, codegen
        self.vehicle = load_vehicle_params(CONTROLLERS / "vehicle.yaml")
        comfort = load_comfort_profile(CONTROLLERS / "comfort.yaml", "normal")
        # no wall-time budget: an overrun under machine load would divert one loop from the other
        self.ctl = MpcController(params, self.vehicle, comfort, enforce_time_budget=False)
        if codegen and not self.ctl.problem.compiled:
            raise RuntimeError("codegen requested but the NLP functions could not be compiled (see the warning)")
        self.check = None
        if reference is not None and reference != solver:
            self.check = NlpCheck(self.ctl.problem, MpcProblem(bench_params(reference, True), self.vehicle))
        self.path = road()
        self.ref = ReferencePath(self.path)
        self.front = self.vehicle.length - self.vehicle.rear_overhang
        self.state = np.array([0.0, 0.2, 0.0, 20.0, 0.0, 0.0])
        self.leader_s = 45.0 + 50.0   # leader rear bumper arc length [m]
        self.times, self.cpu_times, self.commands = [], [], []
        self.failures = self.fallbacks = 0

    def step(self, now: float) -> None:
        """One control tick at time ``now`` [s]: solve, record, advance plant and leader by DT."""
        s_ego, _, _ = self.ref.project(self.state[0], self.state[1], self.state[2])
        if now < LANE_CHANGE_AT:
            command = ModeCommand(Header(now, MAP_FRAME), DrivingMode.ACC, 25.0, 1.5, 2.0, 1)
            lead_a = (leader_speed(now + DT) - leader_speed(now)) / DT
            leader = LeaderPrediction(self.leader_s - s_ego - self.front, leader_speed(now), lead_a)
        else:
            command = ModeCommand(Header(now, MAP_FRAME), DrivingMode.LANE_CHANGE, 25.0, 1.5, 2.0,
                                  None, 3.5)
            leader = None
        out = self.ctl.step(now, ego_from_state(now, self.state, self.vehicle), self.path, command, leader)
        self.times.append(out.solve_time_s * 1e3)
        self.cpu_times.append(self.ctl.problem.solver.stats().get("t_proc_total", 0.0) * 1e3)
        self.commands.append((out.command.accel, out.command.steer))
        self.failures += not out.converged
        self.fallbacks += out.status != STATUS_OK
        self.state = plant_step(self.vehicle, self.state, out.command, DT)
        self.leader_s += 0.5 * (leader_speed(now) + leader_speed(now + DT)) * DT

    def summary(self) -> dict:
        t, cpu = np.array(self.times), np.array(self.cpu_times)
        return {"solver": self.solver, "codegen": self.codegen,
                "median_ms": float(np.median(t)), "p99_ms": float(np.percentile(t, 99)),
                "max_ms": float(t.max()), "failures": int(self.failures), "fallbacks": int(self.fallbacks),
                "steps": len(t), "cpu_median_ms": float(np.median(cpu)),
                "cpu_p99_ms": float(np.percentile(cpu, 99)), "cpu_max_ms": float(cpu.max()),
                **(self.check.summary() if self.check is not None else {})}


def run(solvers: list[str], codegens: tuple[bool, ...], duration: float, reference: str | None) -> list[dict]:
    """Summaries of every (solver, codegen) closed loop, run interleaved tick by tick; each tick
    of a solver other than ``reference`` is checked against it (None: no checks)."""
    loops = [ClosedLoop(s, c, reference) for s in solvers for c in codegens]
    for i in range(int(round(duration / DT))):
        for loop in loops:
            loop.step(i * DT)
    results = [loop.summary() for loop in loops]
    for loop, r in zip(loops, results, strict=True):
        base = next((b for b in loops if b.solver == loop.solver and not b.codegen), None)
        if loop.codegen and base is not None:
            b = base.summary()
            diff = np.abs(np.array(loop.commands) - np.array(base.commands))
            r.update(speedup_median=b["median_ms"] / r["median_ms"], speedup_p99=b["p99_ms"] / r["p99_ms"],
                     cpu_speedup_median=b["cpu_median_ms"] / r["cpu_median_ms"],
                     cpu_speedup_p99=b["cpu_p99_ms"] / r["cpu_p99_ms"],
                     max_accel_diff=float(diff[:, 0].max()), max_steer_diff=float(diff[:, 1].max()))
    for r in results:
        ipopt = next((b for b in results if b["solver"] == "ipopt" and b["codegen"] == r["codegen"]), None)
        if ipopt is not None:
            r["ratio_to_ipopt_median"] = r["median_ms"] / ipopt["median_ms"]
            r["ratio_to_ipopt_p99"] = r["p99_ms"] / ipopt["p99_ms"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solvers", nargs="+", default=["rti_hpipm", "fatrop", "ipopt"], choices=SOLVERS)
    parser.add_argument("--duration", type=float, default=60.0, help="simulated time [s] (20 Hz)")
    parser.add_argument("--codegen", choices=sorted(CODEGEN_CHOICES), default="both",
                        help="NLP functions interpreted (off), compiled (on) or both")
    parser.add_argument("--reference", choices=[*SOLVERS, "none"], default="fatrop",
                        help="NLP solver (compiled functions) each other solver's plans are compared with")
    parser.add_argument("--json", action="store_true", help="one JSON object per configuration line")
    args = parser.parse_args()
    reference = None if args.reference == "none" else args.reference
    for r in run(args.solvers, CODEGEN_CHOICES[args.codegen], args.duration, reference):
        if args.json:
            print(json.dumps(r))
            continue
        name = f"{r['solver']} ({'compiled' if r['codegen'] else 'interpreted'})"
        line = (f"{name:>28}: median {r['median_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
                f"max {r['max_ms']:.2f} ms  (cpu median {r['cpu_median_ms']:.2f} ms, p99 {r['cpu_p99_ms']:.2f} ms)  "
                f"failures {r['failures']}  fallbacks {r['fallbacks']}  steps {r['steps']}")
        if "ratio_to_ipopt_median" in r:
            line += f"  x{r['ratio_to_ipopt_median']:.2f} of ipopt (median)"
        if "speedup_median" in r:
            line += (f"\n{'':>30}{r['speedup_median']:.2f}x faster than interpreted (median), "
                     f"{r['speedup_p99']:.2f}x (p99); "
                     f"cpu {r['cpu_speedup_median']:.2f}x / {r['cpu_speedup_p99']:.2f}x; "
                     f"max command difference {r['max_accel_diff']:.1e} m/s^2, {r['max_steer_diff']:.1e} rad")
        if r.get("nlp_checks"):
            line += (f"\n{'':>30}against the full NLP ({args.reference}) on {r['nlp_checks']} ticks: first command "
                     f"max {r['max_accel_diff_to_nlp']:.1e} m/s^2 (p99 {r['p99_accel_diff_to_nlp']:.1e}), "
                     f"{r['max_steer_diff_to_nlp']:.1e} rad; plan max {r['max_plan_position_diff_m']:.3f} m, "
                     f"{r['max_plan_speed_diff_mps']:.3f} m/s")
        print(line)


if __name__ == "__main__":
    main()
