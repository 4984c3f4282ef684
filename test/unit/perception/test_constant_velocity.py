"""Constant-velocity prediction of object lists."""
import math

import pytest

from cav_stack.core.messages import Header, TrackedObject, TrackList
from cav_stack.perception.constant_velocity import predict_tracks


def test_objects_move_along_their_heading_for_the_list_age():
    tracks = TrackList(Header(1.0, "map"), (TrackedObject(1, 10.0, 0.0, math.pi / 2, 20.0, 4.5, 1.8),))
    moved = predict_tracks(tracks, 1.5)
    assert moved.header.stamp == 1.5
    assert (moved.objects[0].x, moved.objects[0].y) == pytest.approx((10.0, 10.0))
    assert predict_tracks(tracks, 0.5) is tracks
