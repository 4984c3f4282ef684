"""Real-time iterations on the MPC's NLP: Gauss-Newton SQP steps, each QP solved by HPIPM.

The MPC's cost is a sum of squared residuals plus a linear slack penalty
(:class:`~cav_stack.control.mpc_problem.SymbolicNlp`), so the Gauss-Newton matrix
``2 J_r^T J_r`` is a positive semi-definite Hessian that needs no multipliers and no
convexification. Each step linearises the constraints at the current iterate w and solves

    min_dw  1/2 dw^T H dw + grad_f^T dw   s.t.  lbg - g(w) <= J_g dw <= ubg - g(w),
                                                lbx - w    <=   dw    <= ubx - w

with HPIPM (``casadi.conic('hpipm')``, Frison & Diehl, IFAC 2020: an interior-point method
on the stage-wise structure of optimal-control QPs; CasADi detects the stages from the
multiple-shooting layout) and takes the full step. Warm-started from the previous plan shifted
by one tick this is the real-time iteration of Diehl et al. (J. Process Control 12(4), 2002) as
acados runs it: a few steps from a good guess land on the NLP's solution (Gauss-Newton has the
same fixed points as the exact NLP; it only converges linearly instead of quadratically).

:class:`GaussNewtonSqp` iterates until the largest step component is below ``step_tolerance``
or ``max_iterations`` steps were taken, and is called like a CasADi ``nlpsol``
(keyword arguments x0, p, lbx, ubx, lbg, ubg; ``stats()`` with success, return_status,
iter_count, t_wall_total, t_proc_total), so :class:`~cav_stack.control.mpc_problem.MpcProblem`
uses it in place of one.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import casadi as ca
import numpy as np
import numpy.typing as npt

#: Name of the QP-data function (inputs w, p; outputs H, grad_f, g, J_g) in a compiled library.
QP_DATA_FUNCTION = "mpc_qp_data"
#: Name of the constraint function (inputs w, p; output g) in a compiled library.
CONSTRAINTS_FUNCTION = "mpc_constraints"
#: HPIPM options: "speed_abs" mode (no residual checks, ~20 % faster than "speed" on the MPC's
#: QPs, first command within 4e-3 m/s^2 of it), and tolerances of 1e-6: HPIPM's defaults (1e-8)
#: stopped the MPC's QPs at the iteration limit (100 iterations, ~30 ms) with the same cost to 9
#: digits as at 1e-6 (11 iterations); bounds beyond HPIPM_INFINITY count as infinite.
HPIPM_TOLERANCE = 1.0e-6
HPIPM_OPTIONS: dict[str, str | float] = {
    "mode": "speed_abs", "iter_max": 50, "res_g_max": HPIPM_TOLERANCE, "res_b_max": HPIPM_TOLERANCE,
    "res_d_max": HPIPM_TOLERANCE, "res_m_max": HPIPM_TOLERANCE}
HPIPM_INFINITY = 1.0e8
STATUS_CONVERGED = "converged"
STATUS_MAX_ITERATIONS = "max_iterations"
STATUS_INFEASIBLE = "infeasible_iterate"
STATUS_QP_FAILED = "qp_failed"


def problem_functions(nlp: dict[str, ca.SX], residual: ca.SX) -> list[ca.Function]:
    """The functions a Gauss-Newton SQP step needs, from an nlpsol problem dict (x, p, f, g) and
    the residual vector r(x, p) whose squares make the quadratic part of f:
    ``mpc_qp_data(w, p) -> (H = 2 J_r^T J_r, grad_f, g, J_g)`` and ``mpc_constraints(w, p) -> g``."""
    x, p = nlp["x"], nlp["p"]
    jac_r = ca.jacobian(residual, x)
    hessian = 2.0 * ca.mtimes(jac_r.T, jac_r)
    qp_data = ca.Function(QP_DATA_FUNCTION, [x, p], [hessian, ca.gradient(nlp["f"], x), nlp["g"],
                                                     ca.jacobian(nlp["g"], x)],
                          ["w", "p"], ["h", "grad_f", "g", "jac_g"])
    constraints = ca.Function(CONSTRAINTS_FUNCTION, [x, p], [nlp["g"]], ["w", "p"], ["g"])
    return [qp_data, constraints]


def load_compiled(library: Path) -> list[ca.Function]:
    """The two functions of :func:`problem_functions` from a library compiled by
    :func:`cav_stack.control.nlp_codegen.compiled_library`."""
    return [ca.external(QP_DATA_FUNCTION, str(library)), ca.external(CONSTRAINTS_FUNCTION, str(library))]


class GaussNewtonSqp:
    """Gauss-Newton SQP with HPIPM QPs, called like a CasADi nlpsol (see the module docstring).

    functions: :func:`problem_functions` (interpreted) or :func:`load_compiled`;
    max_iterations: SQP steps per warm-started call (1: the real-time iteration), more (up to
    cold_max_iterations) while the iterate still violates a constraint (bounds and nonlinear g,
    mixed units) by more than feasibility_tolerance; cold_max_iterations: SQP steps at most from
    a cold start (a call without warm-start multipliers: no previous plan, its guess is far from
    the solution); step_tolerance: a step whose largest component (mixed units of w: m, rad,
    m/s, ...) is below this ends the iterations early (status ``converged``). The call succeeds
    when every QP was solved and the final iterate is feasible within feasibility_tolerance.
    Without early convergence the status is
    ``max_iterations``: the normal case of the real-time iteration, whose plan is the
    Gauss-Newton step from the shifted previous plan (its distance to the converged NLP
    solution is measured by ``benchmarks/mpc.py``).
    """

    def __init__(self, functions: list[ca.Function], max_iterations: int, cold_max_iterations: int,
                 step_tolerance: float, feasibility_tolerance: float):
        if min(max_iterations, cold_max_iterations) < 1 or step_tolerance <= 0.0 or feasibility_tolerance <= 0.0:
            raise ValueError("max_iterations and cold_max_iterations must be >= 1, "
                             "step_tolerance and feasibility_tolerance > 0")
        qp_data, constraints = functions
        self.max_iterations = max_iterations
        self.cold_max_iterations = cold_max_iterations
        self.step_tolerance = step_tolerance
        self.feasibility_tolerance = feasibility_tolerance
        self._step = _fused_step(qp_data, constraints)
        # Evaluated through CasADi's buffer interface on preallocated arrays: converting the
        # ~2,000-value input to a DM and the output back to numpy took ~0.5 ms per call, as long
        # as the step itself (same values either way).
        self._input = np.empty(self._step.size1_in(0))
        self._output = np.empty(self._step.size1_out(0))
        self._buffer, self._evaluate = self._step.buffer()
        # (casadi.pyi lists the byte size as a third argument; the binding takes it from the view)
        self._buffer.set_arg(0, memoryview(self._input))    # type: ignore[call-arg,arg-type]
        self._buffer.set_res(0, memoryview(self._output))   # type: ignore[call-arg,arg-type]
        self._stats: dict[str, Any] = {}

    def stats(self) -> dict[str, Any]:
        """success, return_status, iter_count (SQP steps), t_wall_total and t_proc_total (CPU time
        of the calling thread) [s] of the last call."""
        return dict(self._stats)

    def __call__(self, *, x0: npt.ArrayLike, p: npt.ArrayLike, lbx: npt.ArrayLike, ubx: npt.ArrayLike,
                 lbg: npt.ArrayLike, ubg: npt.ArrayLike, lam_g0: npt.ArrayLike | None = None,
                 lam_x0: npt.ArrayLike | None = None) -> dict[str, np.ndarray]:
        """Iterate from ``x0``: warm-started (``max_iterations`` steps, see the class) when
        warm-start multipliers are given (their values are not needed by the Gauss-Newton
        Hessian), cold-started otherwise. The returned multipliers are those of the last QP."""
        cpu0 = time.thread_time()   # a system call: outside the wall-time measurement
        wall0 = time.perf_counter()
        w = np.array(x0, dtype=float)
        lbx, ubx, lbg, ubg = (np.asarray(b, dtype=float) for b in (lbx, ubx, lbg, ubg))
        lam_g, lam_x, g = np.zeros(lbg.size), np.zeros(w.size), np.full(lbg.size, np.nan)
        warm = lam_g0 is not None and lam_x0 is not None
        budget = self.max_iterations if warm else self.cold_max_iterations
        status, feasible = STATUS_MAX_ITERATIONS, False
        nw, ng = w.size, lbg.size
        self._input[nw:] = np.concatenate([np.asarray(p, dtype=float).ravel(), lbx, ubx, lbg, ubg])
        for steps in range(1, self.cold_max_iterations + 1):
            self._input[:nw] = w
            self._evaluate()
            out = self._output.copy()
            largest = out[-1]
            if not np.isfinite(largest):
                status = STATUS_QP_FAILED
                break
            w, lam_g, lam_x, g = np.split(out[:-1], np.cumsum([nw, ng, nw]))
            converged = largest <= self.step_tolerance
            if converged or steps >= budget:
                feasible = self._violation(w, g, lbx, ubx, lbg, ubg) <= self.feasibility_tolerance
                # a warm-started step that left the nonlinear constraints violated (an abrupt
                # change of the situation) is followed by more steps, up to the cold-start limit
                if converged or feasible:
                    status = STATUS_CONVERGED if converged else STATUS_MAX_ITERATIONS
                    break
        if status != STATUS_QP_FAILED and not feasible:
            status = STATUS_INFEASIBLE
        wall = time.perf_counter() - wall0
        self._stats = {"success": status != STATUS_QP_FAILED and feasible, "return_status": status,
                       "iter_count": steps, "t_wall_total": wall, "t_proc_total": time.thread_time() - cpu0}
        return {"x": w, "g": g, "lam_g": lam_g, "lam_x": lam_x}

    @staticmethod
    def _violation(w: np.ndarray, g: np.ndarray, lbx: np.ndarray, ubx: np.ndarray, lbg: np.ndarray,
                   ubg: np.ndarray) -> float:
        """Largest bound or constraint violation (inf when not finite)."""
        violation = max(np.max(lbx - w), np.max(w - ubx), np.max(lbg - g), np.max(g - ubg))
        return float(violation) if np.isfinite(violation) else np.inf


def _fused_step(qp_data: ca.Function, constraints: ca.Function) -> ca.Function:
    """One SQP step as one CasADi function (no Python between the QP data, the QP and the
    update), on one input and one output vector:
    ``rti_step([w, p, lbx, ubx, lbg, ubg]) -> [w + dw, lam_g, lam_x, g(w + dw), max|dw|]``;
    a failed QP shows as a non-finite max|dw|, or in the feasibility check of the iterate it
    leads to."""
    sparsity = {"h": qp_data.sparsity_out(0), "a": qp_data.sparsity_out(3)}
    qp = ca.conic("mpc_qp", "hpipm", sparsity, {
        "error_on_fail": False, "inf": HPIPM_INFINITY, "hpipm": dict(HPIPM_OPTIONS)})
    nw, ng, npar = qp_data.size1_in(0), qp_data.size1_out(2), qp_data.size1_in(1)
    packed = ca.MX.sym("packed", 3 * nw + npar + 2 * ng)
    w, p, lbx, ubx, lbg, ubg = ca.vertsplit(packed, list(np.cumsum([0, nw, npar, nw, nw, ng, ng])))
    hessian, grad, g, jac = qp_data(w, p)
    sol = qp(h=hessian, g=grad, a=jac, lba=lbg - g, uba=ubg - g, lbx=lbx - w, ubx=ubx - w)
    w_next = w + sol["x"]
    return ca.Function("rti_step", [packed], [ca.vertcat(w_next, sol["lam_a"], sol["lam_x"], constraints(w_next, p),
                                                         ca.mmax(ca.fabs(sol["x"])))])
