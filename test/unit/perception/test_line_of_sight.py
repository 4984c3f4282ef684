"""Line of sight: range limit and occlusion by tracked objects."""
import pytest

from cav_stack.core.messages import Header, TrackedObject, TrackList
from cav_stack.perception.line_of_sight import line_of_sight


def tracks(*centres):
    return TrackList(Header(0.0, "map"), tuple(TrackedObject(i, x, y, 0.0, 0.0, 4.5, 1.8)
                                               for i, (x, y) in enumerate(centres)))


def test_range_and_occlusion():
    visible = line_of_sight(0.0, 0.0, tracks((20.0, 0.0)), max_range=80.0, occluder_half_width=1.2)
    assert visible(10.0, 0.0)                 # in front of the occluder
    assert not visible(40.0, 0.5)             # behind it
    assert visible(40.0, 3.5)                 # next lane, clear line of sight
    assert not visible(90.0, 0.0)             # out of range
    assert visible(22.0, 0.0)                 # the occluder itself is seen


def test_disc_needs_range_margin_and_a_clear_cone():
    visible = line_of_sight(0.0, 0.0, tracks((20.0, 3.0)), max_range=80.0, occluder_half_width=1.2)
    assert visible(40.0, 0.0)                 # the occluder is 3 m beside the line of sight
    assert not visible(40.0, 0.0, 4.0)        # ... but inside the cone to a 4 m disc (1.2 + 2.0 at 20 m)
    assert visible(40.0, 0.0, 1.0)            # ... and outside the cone to a 1 m disc (1.2 + 0.5)
    assert visible(70.0, -3.0, 0.0) and not visible(78.0, 0.0, 4.0)   # range minus the radius
    assert not visible(1.0, 0.0, 2.0)         # a disc around the sensor is not vouched for


def test_negative_radius_is_rejected():
    visible = line_of_sight(0.0, 0.0, tracks(), max_range=80.0, occluder_half_width=1.2)
    with pytest.raises(ValueError, match="radius"):
        visible(10.0, 0.0, -1.0)
