"""J2735 raw units <-> SI: scale factors, sign conventions, saturation, unavailable codes."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cav_stack.v2x import j2735_units as u


@pytest.mark.parametrize("yaw, heading_raw", [
    (math.pi / 2, 0),            # north
    (0.0, 7200),                 # east: 90 deg clockwise from north
    (-math.pi / 2, 14400),       # south
    (math.pi, 21600),            # west
    (-math.pi, 21600),
])
def test_heading_is_clockwise_from_north(yaw, heading_raw):
    assert u.yaw_to_heading_raw(yaw) == heading_raw
    assert math.cos(u.heading_raw_to_yaw(heading_raw) - yaw) == pytest.approx(1.0)


@settings(max_examples=200, derandomize=True)
@given(st.floats(-math.pi, math.pi, exclude_max=True))
def test_heading_round_trip_within_half_lsb(yaw):
    back = u.heading_raw_to_yaw(u.yaw_to_heading_raw(yaw))
    assert abs(math.remainder(back - yaw, 2 * math.pi)) <= math.radians(0.0125) / 2 + 1e-12


def test_speed_scale_saturation_and_unavailable():
    assert u.speed_to_raw(10.0) == 500                 # 0.02 m/s LSB
    assert u.speed_from_raw(500) == pytest.approx(10.0)
    assert u.speed_to_raw(500.0) == 8190               # >= 163.8 m/s
    assert u.speed_to_raw(math.nan) == 8191
    assert u.speed_from_raw(8191) is None
    with pytest.raises(ValueError):
        u.speed_to_raw(-1.0)


def test_acceleration_and_yaw_rate_units_and_signs():
    assert u.accel_to_raw(-3.21) == -321
    assert u.accel_to_raw(50.0) == 2000 and u.accel_to_raw(-50.0) == -2000
    assert u.accel_from_raw(2001) is None
    # REP 103 yaw rate is counter-clockwise positive; J2735 (SAE J670) clockwise positive
    assert u.yaw_rate_to_raw(math.radians(10.0)) == -1000
    assert u.yaw_rate_from_raw(-1000) == pytest.approx(math.radians(10.0))
    with pytest.raises(ValueError):
        u.yaw_rate_to_raw(math.nan)


def test_latitude_longitude_scale_and_limits():
    assert u.latitude_to_raw(math.radians(41.1642143)) == 411642143
    assert u.longitude_to_raw(math.radians(-104.8434120)) == -1048434120
    assert u.longitude_to_raw(math.radians(-180.0)) == 1800000000   # wrapped to +180
    assert u.latitude_from_raw(900000001) is None and u.longitude_from_raw(1800000001) is None
    with pytest.raises(ValueError):
        u.latitude_to_raw(math.radians(91.0))


def test_curve_radius_sign_and_straight_code():
    assert u.curve_radius_to_raw(None) == 32767
    assert u.curve_radius_to_raw(100.0) == -1000   # left turn: J670 negative
    assert u.curve_radius_from_raw(-1000) == pytest.approx(100.0)
    assert u.curve_radius_from_raw(32767) is None


def test_position_sigma_and_dimensions():
    assert u.position_sigma_to_raw(1.0) == 20 and u.position_sigma_to_raw(100.0) == 254
    assert u.position_sigma_to_raw(math.inf) == 255
    assert u.vehicle_dimension_to_raw(4.5, 4095) == 450
    assert u.vehicle_dimension_from_raw(0) is None


@settings(max_examples=200, derandomize=True)
@given(t=st.floats(0.0, 1e6), skew=st.floats(-29.0, 29.0))
def test_sec_mark_resolves_to_generation_time(t, skew):
    mark = u.sec_mark_from_time(t)
    assert 0 <= mark < 60000
    assert u.time_from_sec_mark(mark, t + skew) == pytest.approx(t, abs=5e-4)


@settings(max_examples=200, derandomize=True)
@given(t=st.floats(0.0, 1e6), skew=st.floats(-1700.0, 1700.0))
def test_time_mark_resolves_within_half_an_hour(t, skew):
    mark = u.time_mark_from_time(t)
    assert 0 <= mark < 36000
    assert u.time_from_time_mark(mark, t + skew) == pytest.approx(t, abs=0.05 + 1e-9)


def test_time_codes():
    assert u.sec_mark_from_time(61.2344) == 1234 and u.sec_mark_from_time(119.9999) == 0
    assert u.time_mark_from_time(3600.0 + 12.34) == 123
    assert u.time_from_time_mark(36001, 0.0) is None
    assert u.minute_of_year_from_time(3 * 60.0 + 1.0) == 3
    with pytest.raises(ValueError):
        u.time_from_sec_mark(65535, 0.0)
