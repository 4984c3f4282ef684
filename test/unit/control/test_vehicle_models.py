"""Dynamic bicycle against closed-form vehicle dynamics; the vehicle params loader."""
from __future__ import annotations

from itertools import pairwise
import dataclasses
import math

import casadi as ca
import numpy as np
import pytest

from cav_stack.control.comfort_profile import load_comfort_profile
from cav_stack.control.mpc_params import load_mpc_params
from cav_stack.control.vehicle_models import (
    DynamicBicycle,
    KinematicBicycle,
    load_vehicle_params,
    numpy_stack,
    rk4_step,
)
from cav_stack.core.params import ParamsError


def _simulate(model, state, control, dt, steps):
    for _ in range(steps):
        state = rk4_step(model, state, control, dt, np, numpy_stack)
    return state


def test_steady_state_yaw_rate_matches_the_understeer_gradient(vehicle):
    # Linear single-track steady state: r = v δ / (L + K_us v²), K_us = m/L (lr/Cf - lf/Cr).
    p = vehicle
    v, steer = 20.0, 0.02
    k_us = p.mass / p.wheelbase * (p.cg_to_rear / p.cornering_stiffness_front
                                   - p.cg_to_front / p.cornering_stiffness_rear)
    state = _simulate(DynamicBicycle(p), np.array([0, 0, 0, v, 0, steer, 0, 0.0]),
                      np.array([0.0, steer]), 0.005, 1000)
    assert state[7] == pytest.approx(v * steer / (p.wheelbase + k_us * v**2), rel=1e-3)
    # Steady lateral speed at the CG: vy = r (lr - m lf v² / (Cr L)).
    r = state[7]
    expected_vy = r * (p.cg_to_rear - p.mass * p.cg_to_front * v**2 / (p.cornering_stiffness_rear * p.wheelbase))
    assert state[6] == pytest.approx(expected_vy, rel=1e-3)


def test_low_speed_motion_is_kinematic_and_well_posed_at_standstill(vehicle):
    dyn, kin = DynamicBicycle(vehicle), KinematicBicycle(vehicle)
    standstill = np.array([0, 0, 0, 0.0, 0, 0.3, 0, 0])
    d = dyn.derivatives(standstill, np.array([1.0, 0.3]), np, numpy_stack)
    assert np.all(np.isfinite(d))
    start = np.array([0, 0, 0.2, 1.0, 0.5, 0.1])
    control = np.array([0.5, 0.1])
    k_end = _simulate(kin, start, control, 0.01, 200)
    d_end = _simulate(dyn, np.concatenate([start, [vehicle.cg_to_rear * np.tan(0.1) / vehicle.wheelbase,
                                                   np.tan(0.1) / vehicle.wheelbase]]), control, 0.01, 200)
    # 2 s at <= 2 m/s: below the blend speed both models give the same rear-axle path.
    np.testing.assert_allclose(d_end[:6], k_end, atol=1e-9)


def test_numpy_and_casadi_evaluations_agree(vehicle):
    dyn = DynamicBicycle(vehicle)
    state = np.array([1.0, 2.0, 0.3, 4.0, 0.5, 0.05, 0.1, 0.05])  # inside the blend band
    control = np.array([1.0, -0.02])
    x = ca.SX.sym("x", 8)
    u = ca.SX.sym("u", 2)
    f = ca.Function("f", [x, u], [dyn.derivatives(x, u, ca, lambda items: ca.vertcat(*items))])
    np.testing.assert_allclose(np.asarray(f(state, control)).ravel(),
                               dyn.derivatives(state, control, np, numpy_stack), rtol=1e-12)


def test_dynamic_bicycle_rejects_inconsistent_geometry(vehicle):
    with pytest.raises(ValueError, match="wheelbase"):
        DynamicBicycle(dataclasses.replace(vehicle, cg_to_front=2.0))


def test_loader_converts_degrees_and_names_bad_keys(vehicle, tmp_path):
    assert vehicle.max_steer == pytest.approx(math.radians(35.0))
    bad = tmp_path / "vehicle.yaml"
    bad.write_text("vehicle:\n  ros__parameters:\n    wheelbase: 2.8\n    max_steer_rad: 0.5\n")
    with pytest.raises(ParamsError, match="max_steer_rad"):
        load_vehicle_params(bad)
    bad.write_text("vehicle:\n  ros__parameters:\n    wheelbase: 2.8\n")
    with pytest.raises(ParamsError, match="missing required parameter"):
        load_vehicle_params(bad)


def test_comfort_profiles_load_and_unknown_ones_are_named(tmp_path, controllers_dir):
    path = controllers_dir / "comfort.yaml"
    profiles = [load_comfort_profile(path, name) for name in ("comfort", "normal", "sporty")]
    # Profiles are ordered: each one allows more than the previous.
    for softer, harder in pairwise(profiles):
        assert harder.max_decel > softer.max_decel and harder.max_lateral_accel > softer.max_lateral_accel
    with pytest.raises(ParamsError, match="no such profile"):
        load_comfort_profile(path, "racing")
    bad = tmp_path / "comfort.yaml"
    bad.write_text(path.read_text().replace("max_jerk: 2.0", "max_jerk: -2.0"))
    with pytest.raises(ParamsError, match="max_jerk must be > 0"):
        load_comfort_profile(bad, "normal")


def test_mpc_params_reject_unknown_solvers(tmp_path, controllers_dir):
    path = controllers_dir / "mpc.yaml"
    bad = tmp_path / "mpc.yaml"
    bad.write_text(path.read_text().replace("solver: rti_hpipm", "solver: snopt"))
    with pytest.raises(ParamsError, match="solver must be one of"):
        load_mpc_params(bad)
