"""CDR of the DDS message types against an independent ROS 2 decoder (rosbags' typestore)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cav_stack.core import messages as core
from cav_stack.runtime import dds_types
from cav_stack.runtime.ros_conversions import clock_fields, conversion_for

ODOMETRY = dds_types.idl_type("nav_msgs/msg/Odometry")
CLOCK = dds_types.idl_type("rosgraph_msgs/msg/Clock")

rosbags_typesys = pytest.importorskip("rosbags.typesys", reason="needs rosbags (test dependency)")

# ackermann_msgs is not a core ROS package, so rosbags does not ship it: its definition as in
# ros-drivers/ackermann_msgs (msg/AckermannDrive.msg, msg/AckermannDriveStamped.msg).
ACKERMANN_DRIVE_MSG = """
float32 steering_angle
float32 steering_angle_velocity
float32 speed
float32 acceleration
float32 jerk
"""
ACKERMANN_DRIVE_STAMPED_MSG = """
std_msgs/Header header
AckermannDrive drive
"""


@pytest.fixture(scope="module")
def typestore():
    store = rosbags_typesys.get_typestore(rosbags_typesys.Stores.ROS2_HUMBLE)
    types = {}
    types.update(rosbags_typesys.get_types_from_msg(ACKERMANN_DRIVE_MSG, "ackermann_msgs/msg/AckermannDrive"))
    types.update(rosbags_typesys.get_types_from_msg(ACKERMANN_DRIVE_STAMPED_MSG,
                                                    "ackermann_msgs/msg/AckermannDriveStamped"))
    store.register(types)
    return store


def wire_bytes(msg) -> bytes:
    """What the DDS backend writes for a core message: its ROS type as XCDR1."""
    conversion = conversion_for(type(msg))
    sample = dds_types.to_idl(dds_types.idl_type(conversion.ros_type_name), conversion.to_fields(msg))
    return sample.serialize(use_version_2=False)


def test_type_names_follow_rmw_convention():
    assert dds_types.dds_type_name("nav_msgs/msg/Odometry") == "nav_msgs::msg::dds_::Odometry_"
    assert ODOMETRY.__idl__.idl_transformed_typename == "nav_msgs::msg::dds_::Odometry_"
    assert CLOCK.__idl__.idl_transformed_typename == "rosgraph_msgs::msg::dds_::Clock_"
    with pytest.raises(ValueError, match="pkg/msg/Type"):
        dds_types.dds_type_name("Odometry")
    with pytest.raises(TypeError, match="no DDS type"):
        dds_types.idl_type("geometry_msgs/msg/PoseStamped")   # no .msg definition shipped


def test_encapsulation_is_plain_cdr_little_endian():
    data = wire_bytes(core.EgoState(core.Header(1.0, "map"), 1.0, 2.0, 0.0, 3.0))
    assert data[:4] == b"\x00\x01\x00\x00"   # CDR_LE, the representation ROS 2 uses


@settings(max_examples=40, deadline=None)
@given(x=st.floats(-1e5, 1e5), y=st.floats(-1e5, 1e5), yaw=st.floats(-math.pi, math.pi - 1e-9),
       speed=st.floats(-50, 50), yaw_rate=st.floats(-2, 2), stamp=st.floats(0, 1e6),
       var=st.floats(0, 100))
def test_ego_state_odometry_decodes_as_ros_type(typestore, x, y, yaw, speed, yaw_rate, stamp, var):
    cov = tuple(var if i in (0, 5, 10, 15) else 0.0 for i in range(16))
    ego = core.EgoState(core.Header(stamp, "map"), x, y, yaw, speed, yaw_rate=yaw_rate, covariance=cov)
    odom = typestore.deserialize_cdr(wire_bytes(ego), "nav_msgs/msg/Odometry")
    nanoseconds = round(stamp * 1e9)
    assert (odom.header.stamp.sec, odom.header.stamp.nanosec) == divmod(nanoseconds, 10**9)
    assert odom.header.frame_id == "map" and odom.child_frame_id == "base_link"
    assert (odom.pose.pose.position.x, odom.pose.pose.position.y) == (x, y)
    q = odom.pose.pose.orientation
    assert math.isclose(2 * math.atan2(q.z, q.w), yaw, abs_tol=1e-9) and q.x == q.y == 0.0
    assert odom.twist.twist.linear.x == speed and odom.twist.twist.angular.z == yaw_rate
    assert odom.pose.covariance[0] == odom.pose.covariance[7] == odom.pose.covariance[35] == var
    assert odom.twist.covariance[0] == var


def test_control_command_decodes_as_ackermann(typestore):
    command = core.ControlCommand(core.Header(12.5, "base_link"), -2.25, 0.125)
    drive = typestore.deserialize_cdr(wire_bytes(command), "ackermann_msgs/msg/AckermannDriveStamped")
    assert drive.header.stamp.sec == 12 and drive.header.stamp.nanosec == 500_000_000
    assert drive.drive.acceleration == -2.25 and drive.drive.steering_angle == 0.125


def test_point_cloud_decodes_as_point_cloud2(typestore):
    points = np.random.default_rng(3).normal(size=(1000, 4)).astype(np.float32)
    cloud = typestore.deserialize_cdr(wire_bytes(core.PointCloud(core.Header(2.0, "lidar"), points)),
                                      "sensor_msgs/msg/PointCloud2")
    assert [f.name for f in cloud.fields] == ["x", "y", "z", "intensity"]
    assert all(f.datatype == 7 and f.count == 1 for f in cloud.fields)   # FLOAT32
    assert (cloud.width, cloud.height, cloud.point_step, cloud.row_step) == (1000, 1, 16, 16000)
    assert not cloud.is_bigendian
    np.testing.assert_array_equal(np.frombuffer(bytes(cloud.data), "<f4").reshape(-1, 4), points)


def test_diagnostic_status_decodes_as_diagnostic_array(typestore):
    status = core.DiagnosticStatus(core.Header(3.0, ""), "/cav_0/perception/output/objects", 3, "stale",
                                   (("missed_deadlines", "2"),))
    array = typestore.deserialize_cdr(wire_bytes(status), "diagnostic_msgs/msg/DiagnosticArray")
    (decoded,) = array.status
    assert decoded.level == 3 and decoded.name == status.name and decoded.message == "stale"
    assert [(kv.key, kv.value) for kv in decoded.values] == [("missed_deadlines", "2")]


def test_clock_and_json_string_decode(typestore):
    clock = typestore.deserialize_cdr(
        dds_types.to_idl(CLOCK, clock_fields(1234.05)).serialize(use_version_2=False),
        "rosgraph_msgs/msg/Clock")

    assert (clock.clock.sec, clock.clock.nanosec) == (1234, 50_000_000)
    route = core.Route(core.Header(0.0, "map"), ("hw_0", "hw_1"), reason="scenario mission")
    text = typestore.deserialize_cdr(wire_bytes(route), "std_msgs/msg/String").data
    assert conversion_for(core.Route).from_fields({"data": text}) == route


def test_idl_round_trip_keeps_fields():
    ego = core.EgoState(core.Header(7.25, "map"), 3.0, -4.0, 1.0, 12.0, yaw_rate=0.2)
    conversion = conversion_for(core.EgoState)
    sample = dds_types.to_idl(ODOMETRY, conversion.to_fields(ego))
    back = conversion.from_fields(dds_types.from_idl(ODOMETRY.deserialize(sample.serialize())))
    assert back.header == ego.header and (back.x, back.y, back.speed, back.yaw_rate) == (3.0, -4.0, 12.0, 0.2)
    assert back.yaw == pytest.approx(1.0, abs=1e-12)


def test_missing_field_is_named():
    with pytest.raises(KeyError, match="child_frame_id"):
        dds_types.to_idl(ODOMETRY, {"header": {"stamp": {"sec": 0, "nanosec": 0}, "frame_id": ""}})
