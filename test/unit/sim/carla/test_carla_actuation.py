"""Acceleration/steering -> carla.VehicleControl: inverse pedal model, calibration fit, steering map."""
import math

import carla
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cav_stack.core.messages import ControlCommand, Header
from cav_stack.sim.carla_actuation import LongitudinalModel, SteeringMap, fit_longitudinal_model, vehicle_control

MODEL = LongitudinalModel(4.0, -0.08, 8.0, 0.15, 0.0004)


@settings(max_examples=200, deadline=None)
@given(accel=st.floats(-12.0, 6.0), speed=st.floats(0.0, 40.0))
def test_pedals_invert_the_model_within_its_authority(accel, speed):
    throttle, brake = MODEL.pedals(accel, speed)
    assert 0.0 <= throttle <= 1.0 and 0.0 <= brake <= 1.0 and throttle * brake == 0.0
    reached = MODEL.accel(speed, throttle, brake)
    lowest, highest = MODEL.accel(speed, 0.0, 1.0), MODEL.accel(speed, 1.0, 0.0)
    assert reached == pytest.approx(min(max(accel, lowest), highest), abs=1e-9)


def test_small_deceleration_coasts_with_some_throttle():
    """Asking for less deceleration than drag gives: throttle, not brake."""
    throttle, brake = MODEL.pedals(-0.1, 30.0)
    assert throttle > 0.0 and brake == 0.0


def test_fit_recovers_the_model_from_noisy_samples():
    rng = np.random.default_rng(1)
    n = 2000
    speed = rng.uniform(0.5, 35.0, n)
    mode = rng.integers(0, 3, n)
    throttle = np.where(mode == 0, rng.uniform(0, 1, n), 0.0)
    brake = np.where(mode == 1, rng.uniform(0, 1, n), 0.0)
    accel = (np.array([MODEL.accel(v, t, b) for v, t, b in zip(speed, throttle, brake, strict=True)])
             + rng.normal(0, 0.05, n))
    fitted = fit_longitudinal_model(speed, throttle, brake, accel)
    assert fitted.throttle_gain == pytest.approx(MODEL.throttle_gain, rel=0.02)
    assert fitted.throttle_gain_per_speed == pytest.approx(MODEL.throttle_gain_per_speed, rel=0.05)
    assert fitted.brake_gain == pytest.approx(MODEL.brake_gain, rel=0.02)
    assert fitted.rolling_decel == pytest.approx(MODEL.rolling_decel, abs=0.03)
    assert fitted.drag_coefficient == pytest.approx(MODEL.drag_coefficient, abs=1e-4)


def test_fit_refuses_unexciting_samples():
    speed = np.linspace(1, 20, 50)
    with pytest.raises(ValueError, match="do not identify"):
        fit_longitudinal_model(speed, np.full(50, 0.5), np.zeros(50), np.ones(50))
    with pytest.raises(ValueError, match="same length"):
        fit_longitudinal_model(speed, speed, speed, speed[:3])


def physics(max_steer_deg=70.0) -> carla.VehiclePhysicsControl:
    p = carla.VehiclePhysicsControl()
    p.wheels = [carla.WheelPhysicsControl(max_steer_angle=max_steer_deg),
                carla.WheelPhysicsControl(max_steer_angle=max_steer_deg),
                carla.WheelPhysicsControl(max_steer_angle=0.0), carla.WheelPhysicsControl(max_steer_angle=0.0)]
    p.steering_curve = [carla.Vector2D(0.0, 1.0), carla.Vector2D(72.0, 0.5)]   # km/h -> factor
    return p


def test_steering_map_from_real_physics_control():
    steering = SteeringMap.from_physics_control(physics())
    assert steering.max_angle == pytest.approx(math.radians(70.0))
    assert steering.max_angle_at(20.0) == pytest.approx(math.radians(35.0))     # 72 km/h = 20 m/s
    assert steering.steer_input(math.radians(35.0), 0.0) == pytest.approx(-0.5)   # left is negative steer
    assert steering.steer_input(math.radians(35.0), 20.0) == pytest.approx(-1.0)
    assert steering.steer_input(-1.0, 0.0) == pytest.approx(min(1.0 / math.radians(70.0), 1.0))
    with pytest.raises(ValueError, match="steerable"):
        SteeringMap.from_physics_control(physics(0.0))
    with pytest.raises(ValueError, match="non-finite"):
        steering.steer_input(math.nan, 0.0)


def test_vehicle_control_is_a_real_carla_control():
    command = ControlCommand(Header(1.0, "base_link"), accel=-4.0, steer=0.1)
    control = vehicle_control(command, 10.0, MODEL, SteeringMap.from_physics_control(physics()))
    assert isinstance(control, carla.VehicleControl)
    assert control.throttle == 0.0
    assert control.brake == pytest.approx((4.0 - MODEL.resistance(10.0)) / MODEL.brake_gain, abs=1e-6)
    assert control.steer == pytest.approx(-0.1 / (math.radians(70.0) * np.interp(36.0, [0, 72], [1, 0.5])), abs=1e-6)
    assert not control.reverse and not control.hand_brake
    with pytest.raises(ValueError, match="non-finite"):
        vehicle_control(ControlCommand(Header(1.0, "base_link"), math.inf, 0.0), 1.0, MODEL,
                        SteeringMap(math.radians(30.0)))
