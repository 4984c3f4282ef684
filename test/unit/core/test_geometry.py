"""Angles, frames and polyline projection against hand-computed references."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from cav_stack.core.frames import body_to_map, map_to_body, sumo_angle_to_yaw, wrap_angle, yaw_to_sumo_angle
from cav_stack.core.path import Polyline


@given(st.floats(-1e4, 1e4))
def test_wrap_angle_range_and_equivalence(angle):
    wrapped = wrap_angle(angle)
    assert -math.pi <= wrapped < math.pi
    assert math.isclose(math.cos(wrapped), math.cos(angle), abs_tol=1e-6)
    assert math.isclose(math.sin(wrapped), math.sin(angle), abs_tol=1e-6)


def test_wrap_angle_pi_maps_to_minus_pi():
    assert wrap_angle(math.pi) == pytest.approx(-math.pi)
    assert np.allclose(wrap_angle(np.array([3 * math.pi, 0.5])), [-math.pi, 0.5])


@given(st.floats(-100, 100), st.floats(-100, 100), st.floats(-math.pi, math.pi))
def test_body_map_round_trip(x, y, yaw):
    bx, by = map_to_body(x, y, 3.0, -2.0, yaw)
    mx, my = body_to_map(bx, by, 3.0, -2.0, yaw)
    assert mx == pytest.approx(x, abs=1e-9) and my == pytest.approx(y, abs=1e-9)


def test_sumo_heading_conventions():
    assert sumo_angle_to_yaw(0.0) == pytest.approx(math.pi / 2)      # north
    assert sumo_angle_to_yaw(90.0) == pytest.approx(0.0)             # east
    assert yaw_to_sumo_angle(math.pi) == pytest.approx(270.0)         # west
    assert yaw_to_sumo_angle(sumo_angle_to_yaw(123.0)) == pytest.approx(123.0)


def test_polyline_projection_on_an_l_shaped_path():
    path = Polyline(np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]))
    assert path.length == pytest.approx(20.0)
    s, d, heading = path.project(4.0, 1.5)
    assert (s, d, heading) == pytest.approx((4.0, 1.5, 0.0))
    s, d, heading = path.project(11.0, 5.0)
    assert (s, d, heading) == pytest.approx((15.0, -1.0, math.pi / 2))
    assert path.sample(15.0) == pytest.approx((10.0, 5.0, math.pi / 2))


def test_polyline_offset_is_the_neighbouring_lane():
    left = Polyline(np.array([[0.0, 0.0], [100.0, 0.0]])).offset(3.2)
    assert left.project(50.0, 0.0)[1] == pytest.approx(-3.2)


def test_polyline_rejects_degenerate_input():
    with pytest.raises(ValueError):
        Polyline(np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError):
        Polyline(np.zeros((3, 3)))
