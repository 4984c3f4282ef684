"""The real-time iteration (Gauss-Newton SQP, HPIPM QPs) against full NLP solves of the same
problems: ipopt from a cold start, fatrop tick by tick in a closed loop."""
from __future__ import annotations

import dataclasses

import casadi as ca
import numpy as np
import pytest

from cav_stack.control.harness import ego_from_state, plant_step, straight_path
from cav_stack.control.leader_prediction import LeaderPrediction
from cav_stack.control.mpc import STATUS_OK, MpcController
from cav_stack.control.mpc_params import RESCUE_NONE
from cav_stack.control.mpc_problem import MpcProblem, _solver_plugin, symbolic_nlp
from cav_stack.control.rti import STATUS_INFEASIBLE, GaussNewtonSqp, problem_functions
from cav_stack.core.messages import MAP_FRAME, DrivingMode, Header, ModeCommand

DT = 0.05  # [s] control tick


def _command(now: float, mode: DrivingMode = DrivingMode.ACC, speed: float = 25.0, lane: float = 0.0) -> ModeCommand:
    return ModeCommand(Header(now, MAP_FRAME), mode, speed, 1.5, 2.0, None, lane)


class _Recorder:
    """Keeps the arguments and result of every main solve of a controller's problem."""

    def __init__(self, problem: MpcProblem):
        self._solve = problem.solve
        problem.solve = self
        self.calls = []

    def __call__(self, stage, glob, bounds, w0, lam_g0=None, lam_x0=None, rescue=False):
        result = self._solve(stage, glob, bounds, w0, lam_g0, lam_x0, rescue)
        self.calls.append(((stage, glob, bounds, w0), result))
        return result


def test_cold_start_converges_to_the_nlp_solution(mpc_params, vehicle, comfort_normal):
    """From a constant-speed guess (no previous plan) the SQP iterates to the optimum ipopt finds."""
    params = dataclasses.replace(mpc_params, solver="rti_hpipm", rescue_solver="ipopt")
    ctl = MpcController(params, vehicle, comfort_normal)
    recorder = _Recorder(ctl.problem)
    state = np.array([0.0, 0.6, 0.05, 18.0, 0.0, 0.0])
    leader = LeaderPrediction(gap=30.0, speed=15.0, accel=-1.0)
    out = ctl.step(0.0, ego_from_state(0.0, state, vehicle), straight_path(-10.0, 400.0), _command(0.0), leader)
    assert out.status == STATUS_OK and out.converged and out.iterations > 1    # a cold start iterates
    (stage, glob, bounds, w0), rti = recorder.calls[0]
    reference = ctl.problem.solve(stage, glob, bounds, w0, rescue=True)      # ipopt, full NLP
    assert reference.success
    assert rti.inputs[0, 0] == pytest.approx(reference.inputs[0, 0], abs=5e-3)   # [m/s^2]
    assert rti.inputs[0, 1] == pytest.approx(reference.inputs[0, 1], abs=1e-4)   # [rad]
    assert np.abs(rti.states[:, [0, 1, 3]] - reference.states[:, [0, 1, 3]]).max() < 0.02


def test_one_step_per_tick_tracks_the_full_nlp_in_closed_loop(mpc_params, vehicle, comfort_normal):
    """Warm-started, one Gauss-Newton step per tick: every tick's plan stays close to fatrop's
    converged solution of the same problem, through braking behind a leader and a lane change."""
    params = dataclasses.replace(mpc_params, solver="rti_hpipm", rti_max_iterations=1, rescue_solver=RESCUE_NONE)
    ctl = MpcController(params, vehicle, comfort_normal)
    recorder = _Recorder(ctl.problem)
    fatrop = MpcProblem(dataclasses.replace(params, solver="fatrop"), vehicle)
    front = vehicle.length - vehicle.rear_overhang
    path = straight_path(-10.0, 800.0)
    state = np.array([0.0, 0.0, 0.0, 20.0, 0.0, 0.0])
    one_step, accel_diff, plan_diff, speeds, lateral = 0, [], [], [], []
    for i in range(int(8.0 / DT)):
        now = i * DT
        if now < 4.0:   # a leader 35 m ahead braking from 20 to 12 m/s at 2 m/s^2, then a lane change
            lead_v = max(20.0 - 2.0 * max(now - 0.5, 0.0), 12.0)
            lead_x = 35.0 + front + 20.0 * now - (min(max(now - 0.5, 0.0), 4.0) ** 2)
            leader = LeaderPrediction(lead_x - state[0] - front, lead_v, -2.0 if 0.5 <= now < 4.0 else 0.0)
            command = _command(now)
        else:
            leader, command = None, _command(now, DrivingMode.LANE_CHANGE, 20.0, lane=3.5)
        out = ctl.step(now, ego_from_state(now, state, vehicle), path, command, leader)
        assert out.status == STATUS_OK and out.converged
        (stage, glob, bounds, w0), rti = recorder.calls[-1]
        one_step += rti.iterations == 1
        reference = fatrop.solve(stage, glob, bounds, w0)
        if reference.success:
            accel_diff.append(abs(rti.inputs[0, 0] - reference.inputs[0, 0]))
            plan_diff.append(np.abs(rti.states[:, [0, 1, 3]] - reference.states[:, [0, 1, 3]]).max())
        state = plant_step(vehicle, state, out.command, DT)
        speeds.append(state[3])
        lateral.append(state[1])
    ticks = int(8.0 / DT)
    assert min(speeds) < 16.0 and max(lateral) > 1.5     # the braking and the lane change happened
    assert one_step >= 0.95 * ticks                     # the real-time iteration: one step per tick
    assert len(accel_diff) >= 0.95 * ticks
    assert max(accel_diff) < 0.05 and np.percentile(accel_diff, 99) < 0.02   # [m/s^2]
    assert max(plan_diff) < 0.3                                               # [m], [m/s]


def test_compiled_and_interpreted_steps_agree(mpc_params, vehicle, comfort_normal):
    states = {}
    for codegen in (False, True):
        ctl = MpcController(dataclasses.replace(mpc_params, solver="rti_hpipm", codegen=codegen), vehicle,
                            comfort_normal)
        assert ctl.problem.compiled == codegen
        state = np.array([0.0, 0.3, 0.0, 15.0, 0.0, 0.0])
        for i in range(20):
            out = ctl.step(i * DT, ego_from_state(i * DT, state, vehicle), straight_path(-10.0, 300.0),
                           _command(i * DT), None)
            state = plant_step(vehicle, state, out.command, DT)
        states[codegen] = state
    assert states[True] == pytest.approx(states[False], abs=1e-6)


def test_a_step_that_leaves_the_constraints_violated_is_followed_by_more(mpc_params, vehicle, comfort_normal):
    """An abrupt change (a warm start made for 10 m/s, now 25 m/s and 1.5 m off the lane): the
    warm-started call keeps stepping until the iterate is feasible; allowed one step in all, it
    reports the infeasible iterate instead of claiming success."""
    problem = MpcProblem(dataclasses.replace(mpc_params, solver="fatrop", rescue_solver=RESCUE_NONE), vehicle)
    sym = symbolic_nlp(problem.params, vehicle)
    functions = problem_functions(sym.nlp, sym.residual)
    n = problem.n
    x0 = np.array([0.0, 1.5, 0.1, 25.0, 0.0, 0.0])
    guess = np.zeros((n + 1, 6))
    guess[:, 0] = 10.0 * problem.params.step * np.arange(n + 1)
    guess[:, 3] = 10.0
    w0 = problem.pack(guess, np.zeros((n, 6)))
    w0[problem.state_index(0)] = x0
    stage = np.zeros((n + 1, 6))
    stage[:, 3], stage[:, 4], stage[:, 5] = 25.0, 1.0e4, 1.5     # speed ref, no leader, time gap
    glob = np.array([2.0, 0.0, 0.0, comfort_normal.max_decel, comfort_normal.weight_jerk,
                     comfort_normal.weight_steer_rate, comfort_normal.weight_accel, comfort_normal.weight_lateral_accel,
                     0.0])
    lbx, ubx, lbg, ubg = problem.bounds(x0, comfort_normal, 2.0, np.inf)
    args = dict(x0=w0, p=np.concatenate([stage.reshape(-1), glob]), lbx=lbx, ubx=ubx, lbg=lbg, ubg=ubg,
                lam_g0=np.zeros(problem.ng), lam_x0=np.zeros(problem.nw))
    adaptive = GaussNewtonSqp(functions, 1, 20, 1e-3, 1e-3)
    adaptive(**args)
    assert adaptive.stats()["success"] and adaptive.stats()["iter_count"] > 1
    single = GaussNewtonSqp(functions, 1, 1, 1e-3, 1e-3)
    single(**args)
    assert not single.stats()["success"] and single.stats()["return_status"] == STATUS_INFEASIBLE


def test_the_shared_rescue_solver_answers_as_a_fresh_one(mpc_params, vehicle, comfort_normal):
    """Controllers with the same parameters share one rescue nlpsol (built once per process); a
    rescue solve after another controller's solves gives the bits a solver built for it alone gives."""
    params = dataclasses.replace(mpc_params, solver="rti_hpipm", rescue_solver="ipopt")
    first, second = MpcController(params, vehicle, comfort_normal), MpcController(params, vehicle, comfort_normal)
    assert first.problem.rescue_solver is second.problem.rescue_solver
    recorder = _Recorder(second.problem)
    state = np.array([0.0, 0.4, 0.02, 22.0, 0.0, 0.0])
    second.step(0.0, ego_from_state(0.0, state, vehicle), straight_path(-10.0, 400.0), _command(0.0),
                LeaderPrediction(gap=25.0, speed=12.0, accel=-2.0))
    (stage, glob, bounds, w0), _ = recorder.calls[0]
    other = np.array([0.0, -0.5, -0.03, 15.0, 0.5, 0.0])
    first_calls = _Recorder(first.problem)
    first.step(0.0, ego_from_state(0.0, other, vehicle), straight_path(-10.0, 400.0), _command(0.0),
               LeaderPrediction(gap=40.0, speed=20.0, accel=0.0))
    first.problem.solve(*first_calls.calls[0][0], rescue=True)       # the shared solver's previous call
    shared = second.problem.solve(stage, glob, bounds, w0, rescue=True)
    sym = symbolic_nlp(params, vehicle)
    plugin, opts = _solver_plugin("ipopt", params, list(sym.equality))
    second.problem.rescue_solver = ca.nlpsol("fresh", plugin, sym.nlp, opts)
    fresh = second.problem.solve(stage, glob, bounds, w0, rescue=True)
    assert shared.success and fresh.success
    assert np.array_equal(shared.w, fresh.w) and np.array_equal(shared.lam_g, fresh.lam_g)
