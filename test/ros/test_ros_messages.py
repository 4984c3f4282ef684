"""Core messages through real generated ROS 2 messages (the wheels' own classes) and back."""
import numpy as np
import pytest

from cav_stack.core.messages import ControlCommand, DiagnosticStatus, EgoState, Header, PointCloud, Route
from cav_stack.runtime.ros_conversions import clock_fields, clock_seconds, installed_conversion
from cav_stack.runtime.ros_messages import has_ros_type, message_fields, to_ros_message


def round_trip(msg):
    conversion = installed_conversion(type(msg))
    ros_msg = conversion.to_ros(msg)
    assert type(ros_msg).__module__.split(".")[0] == conversion.ros_type_name.split("/")[0]   # a generated class
    return conversion.from_ros(ros_msg)


def test_standard_types_round_trip():
    ego = EgoState(Header(3.25, "map"), 10.0, -2.0, 0.4, 21.5, yaw_rate=0.02,
                   covariance=tuple(float(i) for i in range(16)))
    back = round_trip(ego)
    assert (back.x, back.y, back.speed, back.yaw_rate) == (10.0, -2.0, 21.5, 0.02)
    assert back.yaw == pytest.approx(0.4) and back.header == ego.header
    points = np.random.default_rng(1).normal(size=(500, 4)).astype(np.float32)
    cloud = round_trip(PointCloud(Header(1.0, "lidar"), points))
    np.testing.assert_array_equal(cloud.points, points)
    status = DiagnosticStatus(Header(2.0, ""), "v2x", 2, "refused", (("forged", "3"),))
    assert round_trip(status) == status
    assert installed_conversion(EgoState).ros_type_name == "nav_msgs/msg/Odometry"
    assert installed_conversion(PointCloud).ros_type_name == "sensor_msgs/msg/PointCloud2"


def test_types_without_an_installed_package_travel_as_json():
    command = ControlCommand(Header(2.0, "base_link"), -1.5, 0.05)
    expected = ("ackermann_msgs/msg/AckermannDriveStamped" if has_ros_type("ackermann_msgs/msg/AckermannDriveStamped")
                else "std_msgs/msg/String")                                 # no ackermann_msgs wheel on the index
    assert installed_conversion(ControlCommand).ros_type_name == expected
    back = round_trip(command)
    assert (back.accel, back.steer) == pytest.approx((-1.5, 0.05), rel=1e-6)
    route = Route(Header(0.0, "map"), ("e1", "e2"), 12.5, "mission")
    assert round_trip(route) == route


def test_clock_fields_fill_rosgraph_clock():
    clock = to_ros_message("rosgraph_msgs/msg/Clock", clock_fields(12.35))
    assert (clock.clock.sec, clock.clock.nanosec) == (12, 350_000_000)
    assert clock_seconds(message_fields(clock)) == pytest.approx(12.35)
    with pytest.raises(KeyError, match="no field 'speed'"):
        to_ros_message("std_msgs/msg/String", {"speed": 1.0})
