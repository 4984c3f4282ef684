"""The MPC's NLP functions compiled to C (``codegen``): same plans as interpreted, cached builds,
and a clean fallback to the interpreted functions without a working compiler."""
from __future__ import annotations

import dataclasses
import shutil

import casadi as ca
import numpy as np
import pytest

from cav_stack.control import nlp_codegen
from cav_stack.control.harness import ego_from_state, plant_step, straight_path
from cav_stack.control.leader_prediction import LeaderPrediction
from cav_stack.control.mpc import STATUS_OK, MpcController
from cav_stack.control.nlp_codegen import compiled_library, solver_functions
from cav_stack.core.messages import MAP_FRAME, DrivingMode, Header, ModeCommand

DT = 0.05  # [s] control tick
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc on this machine")


def _situation(now: float, state: np.ndarray, front: float) -> tuple[ModeCommand, LeaderPrediction | None]:
    """Mode command and leader at ``now`` [s]: 3 s of ACC behind a leader braking at 3 m/s^2
    from 40 m ahead, 2 s of a lane change to the left, then 2 s towards a stop line."""
    header = Header(now, MAP_FRAME)
    if now < 3.0:
        lead_v = 18.0 - 3.0 * now
        lead_x = 40.0 + front + 18.0 * now - 1.5 * now**2
        return (ModeCommand(header, DrivingMode.ACC, 25.0, 1.5, 2.0, 1),
                LeaderPrediction(lead_x - state[0] - front, lead_v, -3.0, source="sensor"))
    if now < 5.0:
        return ModeCommand(header, DrivingMode.LANE_CHANGE, 20.0, 1.5, 2.0, None, 3.5), None
    return ModeCommand(header, DrivingMode.ACC, 15.0, 1.5, 2.0, None, 0.0, 400.0 - state[0] - front), None


@needs_gcc
def test_compiled_functions_give_the_interpreted_plans(mpc_params, vehicle, comfort_normal):
    interpreted = MpcController(dataclasses.replace(mpc_params, codegen=False), vehicle, comfort_normal)
    compiled = MpcController(dataclasses.replace(mpc_params, codegen=True), vehicle, comfort_normal)
    assert compiled.problem.compiled and not interpreted.problem.compiled
    front = vehicle.length - vehicle.rear_overhang
    state = np.array([0.0, 0.4, 0.02, 20.0, 0.0, 0.0])
    path = straight_path(-10.0, 600.0)
    converged, ticks, lateral, speeds = 0, int(7.0 / DT), [], []
    for i in range(ticks):
        now = i * DT
        command, leader = _situation(now, state, front)
        ego = ego_from_state(now, state, vehicle)
        a = interpreted.step(now, ego, path, command, leader)
        b = compiled.step(now, ego, path, command, leader)
        assert a.status == b.status == STATUS_OK
        assert (a.converged, a.iterations) == (b.converged, b.iterations)
        converged += a.converged
        assert b.command.accel == pytest.approx(a.command.accel, abs=1e-6)
        assert b.command.steer == pytest.approx(a.command.steer, abs=1e-8)
        assert np.allclose([(p.x, p.y, p.speed) for p in b.trajectory.points],
                           [(p.x, p.y, p.speed) for p in a.trajectory.points], atol=1e-6)
        state = plant_step(vehicle, state, a.command, DT)   # both see the interpreted loop's states
        lateral.append(state[1])
        speeds.append(state[3])
    # the situations were driven through: braking behind the leader, moving towards the left lane
    assert min(speeds) < 17.0 and max(lateral) > 1.0
    assert converged >= 0.95 * ticks


def test_missing_compiler_falls_back_to_interpreted_functions(mpc_params, vehicle, comfort_normal, tmp_path):
    params = dataclasses.replace(mpc_params, codegen=True, codegen_compiler="cav-stack-no-such-cc",
                                 codegen_cache_dir=str(tmp_path / "cache"))
    with pytest.warns(RuntimeWarning, match="'cav-stack-no-such-cc' not found"):
        ctl = MpcController(params, vehicle, comfort_normal)
    assert not ctl.problem.compiled
    assert not (tmp_path / "cache").exists()
    state = np.array([0.0, 0.3, 0.0, 20.0, 0.0, 0.0])
    out = ctl.step(0.0, ego_from_state(0.0, state, vehicle), straight_path(-10.0, 300.0),
                   ModeCommand(Header(0.0, MAP_FRAME), DrivingMode.ACC, 25.0, 1.5, 2.0), None)
    assert out.status == STATUS_OK and out.converged
    assert out.command.accel > 0.0                       # 20 -> 25 m/s on a free road


def _small_solver() -> tuple[ca.Function, dict]:
    """Parametric Rosenbrock problem with a constraint, and its solve arguments."""
    x, p = ca.SX.sym("x", 2), ca.SX.sym("p", 2)
    nlp = {"x": x, "p": p, "f": (p[0] - x[0]) ** 2 + p[1] * (x[1] - x[0] ** 2) ** 2, "g": x[0] ** 2 + x[1] ** 2}
    opts = {"print_time": False, "ipopt": {"print_level": 0, "sb": "yes", "tol": 1e-10}}
    return ca.nlpsol("small", "ipopt", nlp, opts), {"x0": [0.0, 0.0], "p": [1.0, 100.0], "ubg": 0.5}


@needs_gcc
def test_compiled_library_is_built_once_and_reused(tmp_path, monkeypatch):
    solver, args = _small_solver()
    library = compiled_library("small", solver_functions(solver), "gcc", tmp_path)
    assert library is not None and library.parent == tmp_path
    compiled = ca.nlpsol("small", "ipopt", str(library), {"print_time": False, "ipopt": {
        "print_level": 0, "sb": "yes", "tol": 1e-10}})
    x_interpreted = np.asarray(solver(**args)["x"]).ravel()
    x_compiled = np.asarray(compiled(**args)["x"]).ravel()
    assert np.sum(x_compiled**2) == pytest.approx(0.5, abs=1e-8)      # on the constraint
    assert x_compiled == pytest.approx(x_interpreted, abs=1e-9)

    def no_compiler(*_args, **_kwargs):
        raise AssertionError("the cached library was compiled again")

    monkeypatch.setattr(nlp_codegen.subprocess, "run", no_compiler)
    assert compiled_library("small", solver_functions(_small_solver()[0]), "gcc", tmp_path) == library


def test_failing_compiler_falls_back_with_its_error(tmp_path):
    failing = shutil.which("false")
    if failing is None:
        pytest.skip("no `false` command")
    with pytest.warns(RuntimeWarning, match="failed with exit status 1"):
        assert compiled_library("small", solver_functions(_small_solver()[0]), failing, tmp_path) is None
    assert not list(tmp_path.glob("*.so"))
