"""Two processes exchange nav_msgs/Odometry over DDS; the bytes on the wire are ROS 2's.

The test process publishes an EgoState through the DDS backend; a child process (the
OdometryEcho node on the DDS backend) receives it and publishes it again. A plain Cyclone DDS
reader in the test process takes the echoed sample's serialized bytes, which two independent
ROS 2 CDR decoders (rosbags' typestore, and mcap_ros2 with the ROS msg definition) decode.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pytest

from cav_stack.core import messages as core
from cav_stack.runtime import dds_types
from cav_stack.runtime.dds_backend import DdsContext, DdsRuntime
from cav_stack.runtime.node import QoS

rosbags_typesys = pytest.importorskip("rosbags.typesys", reason="needs rosbags (test dependency)")
mcap_dynamic = pytest.importorskip("mcap_ros2._dynamic", reason="needs mcap-ros2-support")

from cyclonedds._clayer import ddspy_take  # noqa: E402  (raw serialized samples)
from cyclonedds.core import InstanceState, SampleState, ViewState  # noqa: E402
from cyclonedds.domain import DomainParticipant  # noqa: E402
from cyclonedds.sub import DataReader  # noqa: E402
from cyclonedds.topic import Topic  # noqa: E402

ODOMETRY = dds_types.idl_type("nav_msgs/msg/Odometry")

EGO = core.EgoState(core.Header(1234.5, "map"), 512.25, -7.125, 2.5, 27.5, yaw_rate=-0.0625,
                    covariance=tuple(0.01 * (i + 1) if i in (0, 5, 10, 15) else 0.0 for i in range(16)))


def test_odometry_bytes_between_processes_decode_as_ros2(spawn, dds_domain):
    spawn("dds_helper_nodes:OdometryEcho", "--remap", "input/odom:=/test/odom_in",
          "--remap", "output/odom:=/test/odom_out")
    runtime = DdsRuntime(dds_domain)
    participant = DomainParticipant(dds_domain)
    reader = DataReader(participant, Topic(participant, "rt/test/odom_out", ODOMETRY))
    publisher = DdsContext(runtime, "", "test", None, {}, np.random.default_rng(0)) \
        .create_publisher(core.EgoState, "/test/odom_in", QoS())
    raw: list[bytes] = []
    try:
        give_up = time.monotonic() + 30.0
        while not raw and time.monotonic() < give_up:
            publisher.publish(EGO)
            runtime.wait(0.1)
            raw = [data for data, info in ddspy_take(reader._ref, SampleState.Any | ViewState.Any | InstanceState.Any,
                                                     10) if info.valid_data]

        assert raw, "no echo from the child process within 30 s"
        (handle,) = reader.get_matched_publications()
        endpoint = reader.get_matched_publication_data(handle)
        assert endpoint.type_name == "nav_msgs::msg::dds_::Odometry_"
        assert endpoint.topic_name == "rt/test/odom_out"
    finally:
        runtime.close()

    typestore = rosbags_typesys.get_typestore(rosbags_typesys.Stores.ROS2_HUMBLE)
    by_rosbags = typestore.deserialize_cdr(raw[0], "nav_msgs/msg/Odometry")
    definition, _ = typestore.generate_msgdef("nav_msgs/msg/Odometry", ros_version=2)
    by_mcap = mcap_dynamic.generate_dynamic("nav_msgs/Odometry", definition)["nav_msgs/Odometry"](raw[0])
    for odom in (by_rosbags, by_mcap):
        assert (odom.header.stamp.sec, odom.header.stamp.nanosec) == (1234, 500_000_000)
        assert odom.header.frame_id == "map" and odom.child_frame_id == "base_link"
        assert (odom.pose.pose.position.x, odom.pose.pose.position.y, odom.pose.pose.position.z) == (512.25, -7.125, 0)
        q = odom.pose.pose.orientation
        assert math.isclose(2.0 * math.atan2(q.z, q.w), 2.5, abs_tol=1e-12)
        assert (odom.twist.twist.linear.x, odom.twist.twist.angular.z) == (27.5, -0.0625)
        covariance = list(odom.pose.covariance)
        assert covariance[0] == 0.01 and covariance[7] == pytest.approx(0.06) and covariance[35] == 0.11
        assert sum(1 for c in covariance if c) == 3 and odom.twist.covariance[0] == pytest.approx(0.16)
