"""Closed-loop CLEAR-MOT: track lists scored against the truth of the step they were perceived at."""
import pytest

from cav_stack.core.messages import MAP_FRAME, Header, TrackedObject, TrackList
from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.eval.closed_loop_tracking import MAX_DISTANCE, ClosedLoopTracking

DT = 0.05
SPEED = 20.0


def _car(vid, x, y=0.0, is_cav=False):
    return VehicleTruth(vid, x, y, 0.0, SPEED, 0.0, 4.5, 1.8, 1.5, "e", 0, x, is_cav=is_cav)


def _world(t):
    x = SPEED * t
    return WorldTruth(t, (_car("cav_0", x, is_cav=True), _car("a", x + 30.0), _car("b", x + 60.0, y=3.2),
                          _car("far", x + MAX_DISTANCE + 50.0)))


def _tracks(truth, ids, stamp=None, offset=0.0):
    objects = tuple(TrackedObject(k, v.x + offset, v.y, 0.0, SPEED, 4.5, 1.8)
                    for k, v in enumerate(truth.vehicles) if v.vehicle_id in ids)
    return TrackList(Header(truth.stamp if stamp is None else stamp, MAP_FRAME), objects)


def test_perfect_tracks_score_one_and_a_missed_vehicle_lowers_mota():
    tracking = ClosedLoopTracking()
    for k in range(40):
        truth = _world(k * DT)
        tracking.observe_world(truth, {})
        ids = {"a", "b"} if k < 20 else {"a"}                 # b is missed in the second half
        tracking.on_message("/cav_0/perception/objects", _tracks(truth, ids), truth.stamp)
        tracking.on_message("/cav_0/planning/mode", object(), truth.stamp)          # ignored
    summary = tracking.summary()
    assert summary["perception_mota"] == pytest.approx(1.0 - 20 / 80)   # 80 truth objects, 20 misses
    assert summary["perception"]["cav_0"]["misses"] == 20
    assert summary["perception_position_rmse_m"] == pytest.approx(0.0, abs=1e-9)


def test_a_late_track_list_is_scored_against_the_truth_of_its_stamp():
    tracking = ClosedLoopTracking()
    truths = [_world(k * DT) for k in range(10)]
    for truth in truths:
        tracking.observe_world(truth, {})
    # perceived 4 steps ago (the cars moved 4 m since): matches its own step's truth exactly
    tracking.on_message("/cav_0/perception/objects", _tracks(truths[5], {"a", "b"}), truths[-1].stamp)
    assert tracking.summary()["perception_mota"] == pytest.approx(1.0)
    stale = ClosedLoopTracking()
    for truth in truths:
        stale.observe_world(truth, {})
    stale.on_message("/cav_0/perception/objects", _tracks(truths[5], {"a", "b"}, stamp=truths[-1].stamp),
                     truths[-1].stamp)
    assert stale.summary()["perception_mota"] == pytest.approx(-1.0)    # 2 misses + 2 false positives


def test_no_track_lists_means_no_perception_figures():
    assert ClosedLoopTracking().summary()["perception_mota"] is None
