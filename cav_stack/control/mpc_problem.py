"""The MPC's nonlinear program, built once in CasADi and solved with new parameters each tick.

Multiple shooting over N stages of the path-frame bicycle (:mod:`path_frame_model`), laid out
stage by stage, ``w = [X0, U0, X1, U1, ..., X_N]``, with the gap-closing constraint
``X_{k+1} - F(X_k, U_k) = 0`` followed by the path constraints of stage k that depend on
(X_k, U_k) only, so structure-exploiting solvers (fatrop) see an optimal-control problem.

U_k = (accel_cmd [m/s^2], steer_cmd [rad], slack_position [m], slack_accel [m/s^2],
slack_jerk [m/s^3], slack_speed [m/s]). Hard: actuator limits and steering rate of the vehicle.
Soft (exact L1 + quadratic penalty on the slack): comfort bounds on longitudinal and lateral
acceleration and jerk, 0 <= speed <= max_speed (or a lower ceiling per stage), the time-gap
constraint to the leader (gap >= standstill + time_gap_k * speed, with a time gap per stage) and
the stop line (front bumper before it, and at the last stage able to stop before it at the
comfort deceleration).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import casadi as ca
import numpy as np

from cav_stack.control.comfort_profile import ComfortProfile
from cav_stack.control import rti
from cav_stack.control.mpc_params import RESCUE_NONE, SOLVER_RTI, MpcParams
from cav_stack.control.nlp_codegen import compiled_library, default_cache_dir, solver_functions
from cav_stack.control.path_frame_model import PathFrameBicycle
from cav_stack.control.vehicle_models import VehicleParams, rk4_step

NX = 6
#: Index of the speed upper bound among a stage's path constraints (see :meth:`MpcProblem.bounds`).
_SPEED_HI = 10
NU_CONTROL = 2
NU = NU_CONTROL + 4
#: Per-stage parameters: curvature [1/m], lateral reference [m], heading-error reference [rad],
#: speed reference [m/s], leader rear-bumper arc length [m], time gap [s] of the gap constraint
#: and gap tracking at that stage.
STAGE_PARAMS = ("curvature", "lateral_ref", "heading_ref", "speed_ref", "leader_s", "time_gap")
#: Global parameters: standstill gap [m], gap weight (a gap too short), gap-pull weight (a gap
#: longer than desired), comfort decel [m/s^2], the comfort weights (jerk, steer rate, accel,
#: lateral accel) and the steering offset [rad].
GLOBAL_PARAMS = ("standstill_gap", "weight_gap", "weight_gap_pull", "comfort_decel",
                 "weight_jerk", "weight_steer_rate", "weight_accel", "weight_lateral_accel",
                 "steer_bias")
#: Compiled problem libraries by (MpcParams, VehicleParams), None where compiling failed.
_LIBRARIES: dict[tuple[MpcParams, VehicleParams], Path | None] = {}


@dataclass(frozen=True)
class SolveResult:
    """Raw outcome of one NLP solve.

    success: the solver reports convergence; usable: converged, or stopped at a finite iterate
    that satisfies all constraints within ``acceptable_constraint_violation`` (a feasible,
    possibly suboptimal plan); return_status: the solver's status text;
    solve_time_s: the solver's own wall time [s] (CasADi ``t_wall_total``);
    iterations; states (N+1, 6) and inputs (N, 6) of the solution (or of the last iterate);
    w, lam_g, lam_x: raw primal/dual vectors for warm starts.
    """

    success: bool
    usable: bool
    return_status: str
    solve_time_s: float
    iterations: int
    states: np.ndarray
    inputs: np.ndarray
    w: np.ndarray
    lam_g: np.ndarray
    lam_x: np.ndarray


def _casadi_stack(items: list[Any]) -> ca.SX:
    """Stack scalar derivatives into a CasADi column (the ``stack`` argument for CasADi)."""
    column: ca.SX = ca.vertcat(*items)
    return column


def _solver_plugin(solver: str, params: MpcParams, equality: list[bool]) -> tuple[str, dict[str, Any]]:
    common = {"print_time": False, "record_time": True, "error_on_fail": False}
    if solver == "ipopt":
        return "ipopt", {**common, "ipopt": {
            "print_level": 0, "sb": "yes", "max_iter": params.max_iterations, "tol": params.tolerance,
            "acceptable_tol": 10 * params.tolerance, "mu_strategy": "adaptive"}}
    if solver == "fatrop":
        return "fatrop", {**common, "structure_detection": "auto", "equality": equality,
                          "fatrop": {"print_level": 0, "max_iter": params.max_iterations,
                                     "tol": params.tolerance, "mu_init": 1e-1}}
    qp = solver.split("_", 1)[1]
    qp_options: dict[str, Any] = {"error_on_fail": False}
    if qp == "qrqp":
        qp_options.update(print_iter=False, print_header=False, print_info=False)
    else:
        qp_options.update(osqp={"verbose": False, "eps_abs": 1e-6, "eps_rel": 1e-6,
                                "max_iter": 4000, "polish": True}, warm_start_primal=True)
    return "sqpmethod", {**common, "qpsol": qp, "qpsol_options": qp_options,
                         "max_iter": params.max_iterations, "tol_pr": params.tolerance,
                         "tol_du": params.tolerance, "print_header": False, "print_iteration": False,
                         "print_status": False, "convexify_strategy": "regularize",
                         "hessian_approximation": "exact"}


@dataclass(frozen=True)
class SymbolicNlp:
    """The MPC's NLP in CasADi SX.

    nlp: decision vector ``x``, cost ``f``, constraints ``g`` and parameters ``p`` (an nlpsol
    problem); residual: the weighted residuals r(x, p) of the cost, f = ||r||^2 + (linear slack
    penalty), which a Gauss-Newton Hessian 2 J_r^T J_r is built from; equality: which rows of g
    are equalities; g_stage_index: the end of each stage's rows in g.
    """

    nlp: dict[str, ca.SX]
    residual: ca.SX
    equality: tuple[bool, ...]
    g_stage_index: tuple[int, ...]


@functools.lru_cache(maxsize=8)
def symbolic_nlp(p: MpcParams, veh: VehicleParams) -> SymbolicNlp:
    """The NLP of :class:`SymbolicNlp`, built once per process and parameters: the vehicles of a
    multi-CAV run share the expressions (each builds its own main solver)."""
    n = p.horizon_steps
    front_offset = veh.length - veh.rear_overhang
    stage_p = ca.SX.sym("stage_p", len(STAGE_PARAMS), n + 1)
    glob = ca.SX.sym("glob", len(GLOBAL_PARAMS))
    g_ = dict(zip(GLOBAL_PARAMS, ca.vertsplit(glob), strict=True))
    xs = [ca.SX.sym(f"X{k}", NX) for k in range(n + 1)]
    us = [ca.SX.sym(f"U{k}", NU) for k in range(n)]
    w: list[ca.SX] = []
    g: list[ca.SX] = []
    equality: list[bool] = []
    residuals: list[ca.SX] = []
    linear_cost: ca.SX | int = 0
    g_stage_index: list[int] = []
    h = p.step / p.integration_substeps

    def tracking(x: ca.SX, k: int, factor: float = 1.0) -> list[ca.SX]:
        """Weighted tracking residuals of state x at stage k (their squares are the cost)."""
        sp = dict(zip(STAGE_PARAMS, ca.vertsplit(stage_p[:, k]), strict=True))
        gap = sp["leader_s"] - x[0] - front_offset
        gap_error = gap - g_["standstill_gap"] - sp["time_gap"] * x[3]
        # excess gap saturates smoothly (C2 at 0): no pull towards a leader far ahead
        pull = p.gap_pull_range * ca.tanh(gap_error / p.gap_pull_range)
        return [math.sqrt(factor * p.weight_lateral_offset) * (x[1] - sp["lateral_ref"]),
                math.sqrt(factor * p.weight_heading) * (x[2] - sp["heading_ref"]),
                math.sqrt(factor * p.weight_speed) * (x[3] - sp["speed_ref"]),
                ca.if_else(gap_error < 0, ca.sqrt(factor * g_["weight_gap"]) * gap_error,
                           ca.sqrt(factor * g_["weight_gap_pull"]) * pull)]

    for k in range(n):
        x, u = xs[k], us[k]
        w += [x, u]
        sp = dict(zip(STAGE_PARAMS, ca.vertsplit(stage_p[:, k]), strict=True))
        model = PathFrameBicycle(veh, sp["curvature"], g_["steer_bias"])
        x_next = x
        for _ in range(p.integration_substeps):
            x_next = rk4_step(model, x_next, u[:NU_CONTROL], h, ca, _casadi_stack)
        g.append(xs[k + 1] - x_next)
        equality += [True] * NX
        g_stage_index.append(sum(int(e.numel()) for e in g))

        s, _, _, v, a, d = ca.vertsplit(x)
        a_cmd, d_cmd, sl_pos, sl_acc, sl_jerk, sl_speed = ca.vertsplit(u)
        steer_rate = (d_cmd - d) / veh.steer_time_constant
        jerk = (a_cmd - a) / veh.accel_time_constant
        d_eff = d - g_["steer_bias"]
        lat_accel = v**2 * ca.tan(d_eff) / veh.wheelbase
        lat_jerk = (2 * v * a * ca.tan(d_eff) + v**2 * steer_rate / ca.cos(d_eff) ** 2) / veh.wheelbase
        gap = sp["leader_s"] - s - front_offset
        path = [steer_rate, a + sl_acc, a - sl_acc, lat_accel + sl_acc, lat_accel - sl_acc,
                jerk + sl_jerk, jerk - sl_jerk, lat_jerk + sl_jerk, lat_jerk - sl_jerk,
                v + sl_speed, v - sl_speed,
                gap - sp["time_gap"] * v + sl_pos,
                s + front_offset - sl_pos]
        if k == n - 1:
            path.append(s + front_offset + v**2 / (2 * g_["comfort_decel"]) - sl_pos)
        g.append(ca.vertcat(*path))
        equality += [False] * len(path)

        slack = u[NU_CONTROL:]
        residuals += tracking(x, k) + [
            ca.sqrt(g_["weight_jerk"]) * jerk, ca.sqrt(g_["weight_steer_rate"]) * steer_rate,
            ca.sqrt(g_["weight_accel"]) * a, ca.sqrt(g_["weight_lateral_accel"]) * lat_accel,
            math.sqrt(p.slack_weight_quadratic) * slack]
        linear_cost += p.slack_weight_linear * ca.sum1(slack)
    w.append(xs[n])
    residuals += tracking(xs[n], n, p.terminal_weight_factor)
    residual: ca.SX = ca.vertcat(*residuals)

    nlp = {"x": ca.vertcat(*w), "f": ca.sumsqr(residual) + linear_cost, "g": ca.vertcat(*g),
           "p": ca.vertcat(ca.vec(stage_p), glob)}
    return SymbolicNlp(nlp, residual, tuple(equality), tuple(g_stage_index))


@functools.lru_cache(maxsize=8)
def _rti_functions(p: MpcParams, veh: VehicleParams) -> tuple[ca.Function, ...]:
    """The Gauss-Newton SQP's problem functions (:func:`rti.problem_functions`), once per process
    and parameters."""
    sym = symbolic_nlp(p, veh)
    return tuple(rti.problem_functions(sym.nlp, sym.residual))


@functools.lru_cache(maxsize=8)
def _rescue_nlpsol(p: MpcParams, veh: VehicleParams) -> ca.Function:
    """The rescue nlpsol (``p.rescue_solver``), once per process and parameters: the vehicles of a
    multi-CAV run share it. An nlpsol keeps no state from one call to the next (each call starts
    from the guess and multipliers it is given), so sharing it changes no solution; building one
    for ipopt takes ~60 ms, paid once instead of per CAV entering the run."""
    sym = symbolic_nlp(p, veh)
    plugin, opts = _solver_plugin(p.rescue_solver, p, list(sym.equality))
    return ca.nlpsol("mpc_rescue", plugin, sym.nlp, opts)


class MpcProblem:
    """The parametric NLP (:func:`symbolic_nlp`) and this controller's solvers.

    The main solver is an nlpsol, or (``rti_hpipm``) the Gauss-Newton SQP of
    :mod:`cav_stack.control.rti`, called the same way; the rescue solver is an nlpsol.
    ``compiled``: the main solver evaluates the NLP's functions compiled to C
    (``params.codegen`` and a working compiler); the rescue solver, rarely used, always
    interprets them."""

    def __init__(self, params: MpcParams, vehicle: VehicleParams):
        self.params = params
        self.vehicle = vehicle
        self.n = params.horizon_steps
        self.front_offset = vehicle.length - vehicle.rear_overhang
        self._build()

    def _build(self) -> None:
        p = self.params
        sym = symbolic_nlp(p, self.vehicle)
        nlp, equality, self.g_stage_index = sym.nlp, list(sym.equality), sym.g_stage_index
        if p.solver == SOLVER_RTI:
            functions = list(_rti_functions(p, self.vehicle))
            library = self._compiled_library("mpc_rti", functions) if p.codegen else None
            if library is not None:
                functions = rti.load_compiled(library)
            self.solver: rti.GaussNewtonSqp | ca.Function = rti.GaussNewtonSqp(
                functions, p.rti_max_iterations, p.max_iterations, p.rti_step_tolerance,
                p.rti_feasibility_tolerance)
        else:
            plugin, opts = _solver_plugin(p.solver, p, equality)
            solver = ca.nlpsol("mpc", plugin, nlp, opts)
            library = self._compiled_library("mpc", solver_functions(solver)) if p.codegen else None
            if library is not None:
                solver = ca.nlpsol("mpc", plugin, str(library), opts)
            self.solver = solver
        self.compiled = library is not None
        self.rescue_solver = _rescue_nlpsol(p, self.vehicle) if p.rescue_solver != RESCUE_NONE else None
        self.nw = int(nlp["x"].numel())
        self.ng = int(nlp["g"].numel())
        self._layout()

    def _compiled_library(self, name: str, functions: list[ca.Function]) -> Path | None:
        """The main solver's functions compiled (:func:`compiled_library`), once per process and
        problem: a multi-CAV run builds the same problem for every vehicle, and generating its C
        source takes ~0.2 s."""
        key = (self.params, self.vehicle)
        if key not in _LIBRARIES or ((cached := _LIBRARIES[key]) is not None and not cached.exists()):
            p = self.params
            cache_dir = Path(p.codegen_cache_dir).expanduser() if p.codegen_cache_dir else default_cache_dir()
            _LIBRARIES[key] = compiled_library(name, functions, p.codegen_compiler, cache_dir)
        return _LIBRARIES[key]

    # --- layout helpers -------------------------------------------------------------------
    def state_index(self, k: int) -> slice:
        """Slice of X_k in the decision vector."""
        start = k * (NX + NU)
        return slice(start, start + NX)

    def input_index(self, k: int) -> slice:
        """Slice of U_k in the decision vector."""
        start = k * (NX + NU) + NX
        return slice(start, start + NU)

    def pack(self, states: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Decision vector from states (N+1, 6) and inputs (N, 6)."""
        w = np.empty(self.nw)
        w[:self.n * (NX + NU)] = np.hstack([states[:self.n], inputs]).ravel()
        w[self.state_index(self.n)] = states[self.n]
        return w

    def unpack(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """States (N+1, 6) and inputs (N, 6) of a decision vector."""
        stages = w[:self.n * (NX + NU)].reshape(self.n, NX + NU)
        return np.vstack([stages[:, :NX], w[self.state_index(self.n)]]), stages[:, NX:].copy()

    def bounds(self, x0: np.ndarray, comfort: ComfortProfile, standstill_gap: float,
               stop_s: float, speed_cap: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """lbx, ubx, lbg, ubg for initial state x0, a comfort profile, the standstill gap [m],
        the stop-line arc length [m] (``inf`` for none) and a soft speed ceiling [m/s] per stage
        (N+1 values, stage k at k * step, the last unused; None: the vehicle's top speed only)."""
        if speed_cap is not None and np.shape(speed_cap) != (self.n + 1,):
            raise ValueError(f"speed_cap needs {self.n + 1} values, got shape {np.shape(speed_cap)}")
        veh = self.vehicle
        lbx, ubx = self._lbx.copy(), self._ubx.copy()
        lbx[self.state_index(0)] = x0
        ubx[self.state_index(0)] = x0
        inf = np.inf
        c = comfort
        # Order of _build's path constraints: steer rate, accel (lo, hi), lateral accel (lo, hi),
        # jerk (lo, hi), lateral jerk (lo, hi), speed (lo, hi), gap, stop line; the last stage
        # adds the stop-line braking-distance constraint.
        stage_lo = [-veh.max_steer_rate, -c.max_decel, -inf, -c.max_lateral_accel, -inf,
                    -c.max_jerk, -inf, -c.max_lateral_jerk, -inf, 0.0, -inf, standstill_gap, -inf]
        stage_hi = [veh.max_steer_rate, inf, c.max_accel, inf, c.max_lateral_accel,
                    inf, c.max_jerk, inf, c.max_lateral_jerk, inf, veh.max_speed, inf, stop_s]
        lbg, ubg = np.zeros(self.ng), np.zeros(self.ng)
        lbg[self._path_rows] = stage_lo
        ubg[self._path_rows] = stage_hi
        if speed_cap is not None:
            ubg[self._path_rows[:, _SPEED_HI]] = np.minimum(veh.max_speed, speed_cap[:self.n])
        lbg[self._terminal_row], ubg[self._terminal_row] = -inf, stop_s
        return lbx, ubx, lbg, ubg

    def _layout(self) -> None:
        """Index arrays of the bounds: each stage's path-constraint rows in g (N, 13), the last
        stage's extra stop-line row, and the input bounds (actuator limits, slack >= 0)."""
        veh = self.vehicle
        n_path = _SPEED_HI + 3
        starts = np.array(self.g_stage_index[:self.n])
        self._path_rows = starts[:, None] + np.arange(n_path)[None, :]
        self._terminal_row = int(starts[-1] + n_path)
        self._lbx, self._ubx = np.full(self.nw, -np.inf), np.full(self.nw, np.inf)
        inputs = np.array([np.arange(self.input_index(k).start, self.input_index(k).stop) for k in range(self.n)])
        self._lbx[inputs] = [-veh.max_decel, -veh.max_steer, 0.0, 0.0, 0.0, 0.0]
        self._ubx[inputs] = [veh.max_accel, veh.max_steer, np.inf, np.inf, np.inf, np.inf]

    def solve(self, stage_params: np.ndarray, global_params: np.ndarray,
              bounds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], w0: np.ndarray,
              lam_g0: np.ndarray | None = None, lam_x0: np.ndarray | None = None,
              rescue: bool = False) -> SolveResult:
        """Solve with stage params (N+1, len(STAGE_PARAMS)), global params and bounds, warm
        started at w0 (and multipliers, used by the SQP solvers; the real-time iteration takes
        their presence for a warm start, see :class:`rti.GaussNewtonSqp`), with the main solver or
        (``rescue``, ValueError when none is configured) the rescue solver. Never raises on
        solver trouble."""
        if rescue and self.rescue_solver is None:
            raise ValueError("no rescue solver configured (rescue_solver: none)")
        solver, name = (self.rescue_solver, self.params.rescue_solver) if rescue else (self.solver, self.params.solver)
        assert solver is not None  # rescue without a rescue solver raised above
        lbx, ubx, lbg, ubg = bounds
        pvec = np.concatenate([stage_params.reshape(-1), global_params])
        args = dict(x0=w0, p=pvec, lbx=lbx, ubx=ubx, lbg=lbg, ubg=ubg)
        if lam_g0 is not None and lam_x0 is not None and (name.startswith("sqpmethod") or name == SOLVER_RTI):
            args.update(lam_g0=lam_g0, lam_x0=lam_x0)
        try:
            out = solver(**args)
            stats = solver.stats()
        except RuntimeError as exc:  # CasADi raises on evaluation errors (NaN/inf in functions)
            states, inputs = self.unpack(w0)
            return SolveResult(False, False, "exception: " + str(exc).strip().splitlines()[-1], 0.0, 0, states, inputs,
                               w0, np.zeros(self.ng), np.zeros(self.nw))
        w = np.asarray(out["x"]).ravel()
        states, inputs = self.unpack(w)
        g = np.asarray(out["g"]).ravel()
        finite = bool(np.all(np.isfinite(w)) and np.all(np.isfinite(g)))
        success = bool(stats.get("success", False)) and finite
        violation = max(np.max(lbx - w), np.max(w - ubx), np.max(lbg - g), np.max(g - ubg)) if finite else np.inf
        usable = success or violation <= self.params.acceptable_constraint_violation
        return SolveResult(
            success=success, usable=bool(usable), return_status=str(stats.get("return_status", "")),
            solve_time_s=float(stats.get("t_wall_total", 0.0)),
            iterations=int(stats.get("iter_count", 0)), states=states, inputs=inputs, w=w,
            lam_g=np.asarray(out["lam_g"]).ravel(), lam_x=np.asarray(out["lam_x"]).ravel())
