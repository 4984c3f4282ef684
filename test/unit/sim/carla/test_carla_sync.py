"""Tick matching of sensor frames: missing reported, stale discarded, early kept, never reused."""
import threading
import time
from dataclasses import dataclass

import pytest

from cav_stack.sim.carla_sync import SensorFrameMatcher


@dataclass
class Data:
    frame: int


def test_matching_frames_are_returned():
    matcher = SensorFrameMatcher(["lidar", "radar"], timeout=0.5)
    matcher.callback("lidar")(Data(10))
    matcher.callback("radar")(Data(10))
    frames = matcher.collect(10)
    assert frames.data["lidar"].frame == 10 and frames.data["radar"].frame == 10
    assert frames.missing == () and frames.discarded == ()


def test_missing_frame_is_reported_and_not_reused():
    matcher = SensorFrameMatcher(["lidar", "radar"], timeout=0.05)
    matcher.callback("lidar")(Data(10))
    matcher.callback("radar")(Data(10))
    matcher.collect(10)
    matcher.callback("lidar")(Data(11))
    frames = matcher.collect(11)
    assert frames.missing == ("radar",) and "radar" not in frames.data


def test_stale_frames_are_discarded_and_early_ones_kept():
    matcher = SensorFrameMatcher(["cam"], timeout=0.05)
    for frame in (8, 9, 11):
        matcher.callback("cam")(Data(frame))
    frames = matcher.collect(10)
    assert frames.missing == ("cam",) and frames.discarded == (("cam", 8), ("cam", 9))
    assert matcher.collect(11).data["cam"].frame == 11


def test_waits_for_frames_from_another_thread_within_the_timeout():
    matcher = SensorFrameMatcher(["lidar"], timeout=2.0)
    threading.Timer(0.05, matcher.callback("lidar"), args=(Data(3),)).start()
    started = time.monotonic()
    assert matcher.collect(3).data["lidar"].frame == 3
    assert time.monotonic() - started < 1.0


def test_timeout_bounds_the_whole_collect():
    matcher = SensorFrameMatcher(["a", "b", "c"], timeout=0.1)
    started = time.monotonic()
    frames = matcher.collect(1)
    assert frames.missing == ("a", "b", "c")
    assert time.monotonic() - started < 0.5


def test_errors():
    with pytest.raises(ValueError, match="timeout"):
        SensorFrameMatcher(["a"], timeout=0.0)
    matcher = SensorFrameMatcher(["a"], timeout=0.1)
    with pytest.raises(KeyError, match="unknown sensor 'b'"):
        matcher.callback("b")
    with pytest.raises(KeyError, match="unknown sensor 'b'"):
        matcher.collect(1, ["b"])
