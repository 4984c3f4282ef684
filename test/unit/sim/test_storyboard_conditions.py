"""Entity distances of OpenSCENARIO conditions: free space between boxes is negative while they overlap
(so that a cut-in triggered at a longitudinal free space below 0 m fires side by side)."""
import math

import pytest

from cav_stack.core.truth import VehicleTruth
from cav_stack.sim.storyboard_conditions import RULES, relative_distance, time_headway


def box(x, y, yaw=0.0, speed=10.0, length=5.0, width=2.0):
    return VehicleTruth("v", x, y, yaw, speed, 0.0, length, width, 1.5, "e", 0, x)


def test_longitudinal_free_space_is_signed_by_overlap():
    me = box(0.0, 0.0)
    assert relative_distance(me, box(20.0, 3.5), "longitudinal", True) == pytest.approx(15.0)
    assert relative_distance(me, box(-20.0, 3.5), "longitudinal", True) == pytest.approx(15.0)
    assert relative_distance(me, box(2.0, 3.5), "longitudinal", True) == pytest.approx(-3.0)
    assert RULES["lessThan"](relative_distance(me, box(4.9, 3.5), "longitudinal", True), 0.0)
    assert not RULES["lessThan"](relative_distance(me, box(5.1, 3.5), "longitudinal", True), 0.0)
    assert relative_distance(me, box(20.0, 3.5), "longitudinal", False) == pytest.approx(20.0)


def test_lateral_and_euclidean_distances_in_my_frame():
    me = box(0.0, 0.0, yaw=math.pi / 2)          # heading north: "left" is -x
    assert relative_distance(me, box(-3.5, 0.0), "lateral", False) == pytest.approx(3.5)
    assert relative_distance(me, box(-3.5, 0.0), "lateral", True) == pytest.approx(1.5)
    assert relative_distance(me, box(3.0, 4.0), "euclidianDistance", False) == pytest.approx(5.0)


def test_time_headway_ahead_only():
    me = box(0.0, 0.0, speed=10.0)
    assert time_headway(me, box(25.0, 0.0), False) == pytest.approx(2.5)
    assert time_headway(me, box(25.0, 0.0), True) == pytest.approx(2.0)
    assert time_headway(me, box(-25.0, 0.0), False) == math.inf
