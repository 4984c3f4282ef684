"""A gap shorter than the target's time gap is opened gradually, within the comfort bounds."""
from __future__ import annotations

import numpy as np
import pytest

from cav_stack.control.harness import ego_from_state, plant_step, straight_path
from cav_stack.control.leader_prediction import LeaderPrediction
from cav_stack.control.mpc import STATUS_OK, MpcController
from cav_stack.core.messages import MAP_FRAME, DrivingMode, Header, ModeCommand

DT = 0.05          # [s] control tick
STANDSTILL = 3.0   # [m]


def test_cold_start_inside_the_acc_gap_opens_it_without_hard_braking(mpc_params, vehicle, comfort_normal):
    """Start 0.8 s behind a leader at equal speed with a 1.5 s target (a CACC -> ACC jump or a
    start from platoon spacing): every tick converges, braking stays inside the comfort bound
    and the time gap opens monotonically (it used to brake at ~5 m/s^2 with fatrop stopping at
    its iteration limit for ~1-2 s)."""
    ctl = MpcController(mpc_params, vehicle, comfort_normal)
    v0 = 25.0
    state = np.array([0.0, 0.0, 0.0, v0, 0.0, 0.0])
    front = vehicle.length - vehicle.rear_overhang
    lead_x = front + STANDSTILL + 0.8 * v0          # leader rear bumper [m]
    headways, accels, converged = [], [], []
    for i in range(int(12.0 / DT)):
        now = i * DT
        gap = lead_x - (state[0] + front)
        headways.append((gap - STANDSTILL) / state[3])
        mode = ModeCommand(Header(now, MAP_FRAME), DrivingMode.ACC, 30.0, 1.5, STANDSTILL, 1)
        out = ctl.step(now, ego_from_state(now, state, vehicle), straight_path(state[0] - 10.0, 600.0),
                       mode, LeaderPrediction(gap, v0, 0.0))
        assert out.status == STATUS_OK
        converged.append(out.converged)
        accels.append(out.command.accel)
        state = plant_step(vehicle, state, out.command, DT)
        lead_x += v0 * DT
    assert np.mean(converged) > 0.95
    assert min(accels) >= -comfort_normal.max_decel - 0.05
    assert np.all(np.diff(headways) > -1e-3)              # never closes in
    assert headways[-1] > 1.2                             # and is well on its way to 1.5 s


def test_gap_constraint_profile_starts_from_the_reachable_gap(mpc_params, vehicle, comfort_normal):
    """The per-stage time gap: the target when the ego is outside it; otherwise the current one,
    grown at the recovery speed; a closing speed first costs closing^2 / (2 b) of gap and delays
    the recovery until that braking is over."""
    ctl = MpcController(mpc_params, vehicle, comfort_normal)
    times = mpc_params.step * np.arange(mpc_params.horizon_steps + 1)
    mode = ModeCommand(Header(0.0, MAP_FRAME), DrivingMode.ACC, 30.0, 1.5, STANDSTILL, 1)
    far = ctl._time_gap_profile(mode, LeaderPrediction(100.0, 20.0), 20.0)
    assert np.allclose(far, 1.5)
    close = ctl._time_gap_profile(mode, LeaderPrediction(STANDSTILL + 10.0, 20.0), 20.0)
    expected = np.minimum(1.5, 0.5 + mpc_params.gap_recovery_speed * times / 20.0)
    assert np.allclose(close, expected)
    b = mpc_params.approach_decel_ratio * comfort_normal.max_decel
    closing = ctl._time_gap_profile(mode, LeaderPrediction(STANDSTILL + 10.0, 18.0), 20.0)
    assert closing[0] == pytest.approx((10.0 - 2.0**2 / (2 * b)) / 20.0)
    assert np.all(closing[times <= 2.0 / b] == closing[0])   # no recovery while still braking
    assert np.all(np.diff(closing) >= 0.0)
