"""Core <-> ROS field dictionaries: round trips and the ROS layouts the types require."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from cav_stack.core import messages as core
from cav_stack.runtime.ros_conversions import conversion_for, stamp_fields, stamp_seconds

finite = st.floats(-1e4, 1e4, allow_nan=False)


@given(st.floats(0, 1e6, allow_nan=False))
def test_stamp_round_trip(seconds):
    fields = stamp_fields(seconds)
    assert 0 <= fields["nanosec"] < 1_000_000_000
    assert stamp_seconds(fields) == pytest.approx(seconds, abs=1e-9)


@given(finite, finite, st.floats(-math.pi, math.pi - 1e-9), st.floats(0, 60), st.floats(-1, 1))
def test_ego_state_as_odometry(x, y, yaw, speed, yaw_rate):
    cov = tuple(float(i) for i in range(16))
    ego = core.EgoState(core.Header(12.5, "map"), x, y, yaw, speed, yaw_rate=yaw_rate, covariance=cov)
    conversion = conversion_for(core.EgoState)
    fields = conversion.to_fields(ego)
    assert conversion.ros_type_name == "nav_msgs/msg/Odometry"
    assert fields["child_frame_id"] == "base_link" and fields["header"]["frame_id"] == "map"
    q = fields["pose"]["pose"]["orientation"]
    assert q["x"] ** 2 + q["y"] ** 2 + q["z"] ** 2 + q["w"] ** 2 == pytest.approx(1.0)
    back = conversion.from_fields(fields)
    assert (back.x, back.y, back.speed, back.yaw_rate) == pytest.approx((x, y, speed, yaw_rate))
    assert math.cos(back.yaw - yaw) == pytest.approx(1.0)
    assert back.covariance[0] == 0.0 and back.covariance[5] == 5.0 and back.covariance[10] == 10.0
    assert fields["pose"]["covariance"][5 * 6 + 5] == 10.0     # yaw variance in the (yaw, yaw) slot


def test_control_command_as_ackermann():
    command = core.ControlCommand(core.Header(3.0, "base_link"), -2.5, 0.1)
    conversion = conversion_for(core.ControlCommand)
    fields = conversion.to_fields(command)
    assert fields["drive"]["acceleration"] == -2.5 and fields["drive"]["steering_angle"] == 0.1
    back = conversion.from_fields(fields)
    assert (back.accel, back.steer, back.header) == (-2.5, 0.1, command.header)


def test_non_standard_messages_cross_losslessly_as_json():
    mode = core.ModeCommand(core.Header(1.0, "map"), core.DrivingMode.CACC, 25.0, 0.6, 2.0, leader_id=4,
                            stop_distance=None, reason="link good")
    tracks = core.TrackList(core.Header(2.0, "map"), (core.TrackedObject(1, 1.0, 2.0, 0.1, 10.0, 4.5, 1.8,
                                                                         v2x_id=77),))
    frame = core.V2xFrame(core.Header(0.5, "map"), 9, b"\x00\x14\xff", "BSM", core.V2xTechnology.CV2X)
    for msg in (mode, tracks, frame):
        conversion = conversion_for(type(msg))
        assert conversion.ros_type_name == "std_msgs/msg/String"
        assert conversion.from_fields(conversion.to_fields(msg)) == msg


def test_point_cloud_array_survives():
    cloud = core.PointCloud(core.Header(1.0, "lidar"), np.arange(8, dtype=np.float32).reshape(2, 4))
    conversion = conversion_for(core.PointCloud)
    back = conversion.from_fields(conversion.to_fields(cloud))
    assert back.points.dtype == np.float32 and np.array_equal(back.points, cloud.points)


def test_unknown_type_is_refused():
    with pytest.raises(TypeError):
        conversion_for(dict)
