"""ECO_APPROACH in the MPC: the advised speed is a ceiling reached by gliding, never exceeded to
close up to a leader (closed loop on the pure-numpy kinematic plant)."""
from __future__ import annotations

import numpy as np
import pytest

from cav_stack.control.harness import ego_from_state, plant_step, straight_path
from cav_stack.control.leader_prediction import LeaderPrediction
from cav_stack.control.mpc import STATUS_OK, MpcController
from cav_stack.core.messages import MAP_FRAME, DrivingMode, Header, ModeCommand

DT = 0.05  # [s] control tick (20 Hz)


def _drive(ctl, vehicle, mode, speed0, advised, seconds, leader_gap=None, leader_speed=0.0):
    """Speeds and accelerations [m/s, m/s^2] per tick on a straight road with ``advised`` [m/s] as
    the target speed; a leader ``leader_gap`` [m] ahead driving at ``leader_speed`` [m/s] if given."""
    state = np.array([0.0, 0.0, 0.0, speed0, 0.0, 0.0])
    lead_x = None if leader_gap is None else vehicle.length - vehicle.rear_overhang + leader_gap
    speeds, accels = [], []
    for i in range(int(seconds / DT)):
        now = i * DT
        leader = None
        if lead_x is not None:
            gap = lead_x - (state[0] + vehicle.length - vehicle.rear_overhang)
            leader = LeaderPrediction(gap, leader_speed, 0.0, source="sensor")
        command = ModeCommand(Header(now, MAP_FRAME), mode, advised, 1.5, 3.0, 1, 0.0, None)
        out = ctl.step(now, ego_from_state(now, state, vehicle), straight_path(-10.0, 1000.0), command, leader)
        assert out.status == STATUS_OK
        state = plant_step(vehicle, state, out.command, DT)
        if lead_x is not None:
            lead_x += leader_speed * DT
        speeds.append(state[3])
        accels.append(state[4])
    return np.array(speeds), np.array(accels)


def test_eco_approach_glides_down_to_the_advice_instead_of_braking(mpc_params, vehicle, comfort_normal):
    speeds, accels = _drive(MpcController(mpc_params, vehicle, comfort_normal), vehicle,
                            DrivingMode.ECO_APPROACH, 14.0, 8.0, 25.0)
    b = mpc_params.eco_glide_decel
    t = DT * np.arange(1, speeds.size + 1)
    assert np.all(speeds <= np.maximum(8.0, 14.0 - b * t) + 0.05)       # under the glide ceiling
    assert accels.min() >= -b - 0.15                                    # no braking beyond the glide
    assert abs(speeds[-1] - 8.0) < 0.1                                  # at the advice after 15 s of glide
    # the same advice as a plain target speed is reached by braking (what the glide replaces)
    _, plain = _drive(MpcController(mpc_params, vehicle, comfort_normal), vehicle, DrivingMode.ACC, 14.0, 8.0, 5.0)
    assert plain.min() < -2.0 * b


@pytest.mark.parametrize("mode, exceeds", [(DrivingMode.ECO_APPROACH, False), (DrivingMode.ACC, True)])
def test_eco_approach_does_not_speed_past_the_advice_to_close_a_gap(mpc_params, vehicle, comfort_normal,
                                                                     mode, exceeds):
    # a leader 45 m ahead at the advised 12 m/s: the gap cost pulls towards the 21 m time gap
    speeds, _ = _drive(MpcController(mpc_params, vehicle, comfort_normal), vehicle, mode, 12.0, 12.0, 20.0,
                       leader_gap=45.0, leader_speed=12.0)
    assert bool(speeds.max() > 12.2) == exceeds
