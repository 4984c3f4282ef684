"""Steering-offset observer."""
from __future__ import annotations

import math

import pytest

from cav_stack.control.steer_bias import SteerBiasObserver
from cav_stack.core.messages import MAP_FRAME, EgoState, Header


def _ego(t, speed, steer, yaw_rate):
    return EgoState(Header(t, MAP_FRAME), 0.0, 0.0, 0.0, speed, 0.0, yaw_rate, steer)


def test_estimate_converges_to_the_yaw_rate_mismatch_and_is_clamped(vehicle):
    obs = SteerBiasObserver(vehicle, time_constant=1.0, limit=math.radians(3.0), min_speed=5.0)
    steer, speed = 0.05, 15.0
    yaw_rate = speed * math.tan(0.04) / vehicle.wheelbase      # the car turns as if δ were 0.04
    for i in range(200):                                         # 10 s at 20 Hz
        bias = obs.update(0.05 * i, _ego(0.05 * i, speed, steer, yaw_rate))
    assert bias == pytest.approx(0.01, abs=1e-5)
    # Below the minimum speed the estimate holds.
    assert obs.update(10.05, _ego(10.05, 1.0, 0.3, 0.0)) == pytest.approx(bias)
    for i in range(200):
        bias = obs.update(10.1 + 0.05 * i, _ego(10.1 + 0.05 * i, speed, 0.3, 0.0))
    assert bias == pytest.approx(math.radians(3.0))
    obs.reset()
    assert obs.bias == 0.0
