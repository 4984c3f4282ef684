"""MOBIL lane-change criteria against hand-computed IDM accelerations."""
import pytest

from cav_stack.control.idm_baseline import IdmParams, Leader, idm_acceleration
from cav_stack.planning.lane_change import LaneNeighbours, MobilParams, evaluate_lane_change

IDM = IdmParams(30.0, 1.5, 2.0, 1.5, 2.0, 8.0, 4.0, 1.0, 6.0)
MOBIL = MobilParams(politeness=0.3, threshold=0.2, safe_decel=3.0, min_gap=5.0)


def test_slow_leader_and_free_target_lane_is_worth_changing():
    current = LaneNeighbours(20.0, 15.0, None, None)
    target = LaneNeighbours(None, None, None, None)
    result = evaluate_lane_change(25.0, current, target, 4.6, IDM, MOBIL)
    expected = idm_acceleration(25.0, None, IDM) - idm_acceleration(25.0, Leader(20.0, 15.0, 0), IDM)
    assert result.safe and result.change and result.incentive == pytest.approx(expected)


def test_unsafe_when_new_follower_must_brake_hard():
    current = LaneNeighbours(20.0, 15.0, None, None)
    target = LaneNeighbours(None, None, 6.0, 30.0, rear_front_gap=None)
    result = evaluate_lane_change(20.0, current, target, 4.6, IDM, MOBIL)
    assert not result.safe and not result.change


def test_no_change_without_gain():
    same = LaneNeighbours(60.0, 25.0, None, None)
    result = evaluate_lane_change(25.0, same, same, 4.6, IDM, MOBIL)
    assert result.safe and not result.change and result.incentive == pytest.approx(0.0)
