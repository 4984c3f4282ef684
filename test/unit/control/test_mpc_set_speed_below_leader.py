"""A target speed below the leader's is driven (an ACC's set speed), not traded against the gap's pull.

dense_lane_change seed 20: the mode selector asked for 24.8 m/s (2 m/s below the lane the car had
to merge into) while its leader drove 26.8 m/s; the pull towards the leader held the car at
26.5 m/s for 35 s, the next lane's cars never passed it and it missed its exit.
"""
from __future__ import annotations

import numpy as np

from cav_stack.control.harness import ego_from_state, plant_step, straight_path
from cav_stack.control.leader_prediction import LeaderPrediction
from cav_stack.control.mpc import STATUS_OK, MpcController
from cav_stack.core.messages import MAP_FRAME, DrivingMode, Header, ModeCommand

DT = 0.05          # [s] control tick
STANDSTILL = 2.5   # [m]
TIME_GAP = 1.5     # [s]


def _follow(mpc_params, vehicle, comfort, target_speed, leader_speed, ego_speed, time_gap, duration):
    """Closed loop behind a leader at constant speed, from ``time_gap`` [s] behind it; the ego's
    final speed [m/s] and time gap [s]."""
    ctl = MpcController(mpc_params, vehicle, comfort)
    state = np.array([0.0, 0.0, 0.0, ego_speed, 0.0, 0.0])
    front = vehicle.length - vehicle.rear_overhang
    lead_x = front + STANDSTILL + time_gap * ego_speed
    path = straight_path(-10.0, 2000.0)
    for i in range(int(duration / DT)):
        now = i * DT
        gap = lead_x - (state[0] + front)
        mode = ModeCommand(Header(now, MAP_FRAME), DrivingMode.ACC, target_speed, TIME_GAP, STANDSTILL, 1)
        out = ctl.step(now, ego_from_state(now, state, vehicle), path, mode, LeaderPrediction(gap, leader_speed, 0.0))
        assert out.status == STATUS_OK
        state = plant_step(vehicle, state, out.command, DT)
        lead_x += leader_speed * DT
    gap = lead_x - (state[0] + front)
    return float(state[3]), (gap - STANDSTILL) / state[3]


def test_a_target_below_the_leaders_speed_is_driven(mpc_params, vehicle, comfort_normal):
    speed, time_gap = _follow(mpc_params, vehicle, comfort_normal, target_speed=24.8, leader_speed=26.8,
                              ego_speed=26.5, time_gap=TIME_GAP, duration=15.0)
    assert abs(speed - 24.8) < 0.2          # held 26.5 m/s with the pull at full weight
    assert time_gap > 2.2                   # the leader drives away


def test_a_gap_larger_than_desired_is_still_closed_below_the_target_speed(mpc_params, vehicle, comfort_normal):
    speed, time_gap = _follow(mpc_params, vehicle, comfort_normal, target_speed=30.0, leader_speed=25.0,
                              ego_speed=25.0, time_gap=2.5, duration=30.0)
    assert abs(speed - 25.0) < 0.3
    assert time_gap < 1.8
