"""MCAP recording: every channel decodes as its ROS 2 type, values survive, and an independent
CDR decoder (rosbags' built-in ROS 2 Humble definitions) reads the same bytes."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from cav_stack.core import messages as m
from cav_stack.eval.recording import TopicRecorder, run_metadata
from cav_stack.runtime.ros_interfaces import MissingMessageDefinitionError, schema_text
from cav_stack.app.replay import RecordingError, _as_fields, read_recording
from cav_stack.runtime.ros_conversions import conversion_for

mcap_reader = pytest.importorskip("mcap.reader")
ros2_decoder = pytest.importorskip("mcap_ros2.decoder")

H = m.Header(12.35, "map")
TRACKS = m.TrackList(H, (m.TrackedObject(7, 10.0, -2.0, 0.3, 21.0, 4.5, 1.8, 1.6, 0.4, m.ObjectClass.TRUCK,
                                         covariance=tuple(float(i) for i in range(16))),))
FRAME = m.V2xFrame(H, 42, bytes([0x00, 0x14, 0xFF, 0x7E]), "BSM")
MESSAGES = [
    ("/cav_0/truth/ego_state", m.EgoState(H, 1.5, -3.25, 0.7, 22.5, yaw_rate=0.05,
                                          # Odometry holds the (x, y, yaw) block and the speed variance
                                          covariance=tuple(0.0 if (i % 4 == 3) != (i // 4 == 3) else 0.01 * i
                                                           for i in range(16)))),
    ("/cav_0/control/command", m.ControlCommand(m.Header(12.35, "base_link"), -1.25, 0.03125)),
    ("/cav_0/sensors/lidar", m.PointCloud(m.Header(12.35, "lidar_top"),
                                          np.array([[1, 2, 3, 0.5], [4, 5, 6, 1.0]], dtype=np.float32))),
    ("/cav_0/diagnostics/perception", m.DiagnosticStatus(H, "perception", 1, "lidar silent", (("age", "0.6"),))),
    ("/cav_0/truth/objects", TRACKS),
    ("/cav_0/v2x/rx", FRAME),
    ("/cav_0/mission/route", m.Route(H, ("a", "b"), 12.0, "scenario mission")),
]
EXPECTED_TYPES = {
    "/cav_0/truth/ego_state": "nav_msgs/msg/Odometry",
    "/cav_0/control/command": "ackermann_msgs/msg/AckermannDriveStamped",
    "/cav_0/sensors/lidar": "sensor_msgs/msg/PointCloud2",
    "/cav_0/diagnostics/perception": "diagnostic_msgs/msg/DiagnosticArray",
    "/cav_0/truth/objects": "std_msgs/msg/String",
    "/cav_0/truth/objects/detections": "vision_msgs/msg/Detection3DArray",
    "/cav_0/v2x/rx": "std_msgs/msg/String",
    "/cav_0/v2x/rx/payload": "std_msgs/msg/UInt8MultiArray",
    "/cav_0/mission/route": "std_msgs/msg/String",
}


@pytest.fixture
def recording(tmp_path):
    path = tmp_path / "run.mcap"
    with TopicRecorder(path, run_metadata("platoon", "idm_baseline", 11, ("cav_0",))) as recorder:
        for k, (topic, msg) in enumerate(MESSAGES):
            recorder(topic, msg, 12.35 + 0.05 * k)
    assert recorder.message_count == len(MESSAGES) + 2          # + the two views
    return path


def _decoded(path):
    with path.open("rb") as stream:
        reader = mcap_reader.make_reader(stream, decoder_factories=[ros2_decoder.DecoderFactory()])
        return list(reader.iter_decoded_messages(log_time_order=True))


def test_every_channel_decodes_as_its_ros2_type(recording):
    decoded = _decoded(recording)
    assert {channel.topic: schema.name for schema, channel, _, _ in decoded} == EXPECTED_TYPES
    assert all(channel.message_encoding == "cdr" for _, channel, _, _ in decoded)
    assert [message.log_time for _, _, message, _ in decoded][0] == 12_350_000_000


def test_transport_channels_round_trip_to_the_core_messages(recording):
    by_topic = {channel.topic: (schema, msg) for schema, channel, _, msg in _decoded(recording)}
    for topic, original in MESSAGES:
        schema, msg = by_topic[topic]
        conversion = conversion_for(type(original))
        assert schema.name == conversion.ros_type_name
        again = conversion.from_fields(_as_fields(msg))
        if isinstance(original, m.PointCloud):
            assert np.array_equal(again.points, original.points)
        elif isinstance(original, m.ControlCommand):             # AckermannDrive is float32
            assert (again.accel, again.steer) == (original.accel, original.steer)  # exact in float32
        elif isinstance(original, m.EgoState):                   # yaw passes through a quaternion
            assert again.yaw == pytest.approx(original.yaw, abs=1e-12)
            assert dataclasses.replace(again, yaw=original.yaw) == original
        else:
            assert again == original


def test_views_render_tracks_and_v2x_bytes(recording):
    by_topic = {channel.topic: msg for _, channel, _, msg in _decoded(recording)}
    (detection,) = by_topic["/cav_0/truth/objects/detections"].detections
    obj = TRACKS.objects[0]
    q = detection.bbox.center.orientation
    assert 2.0 * math.atan2(q.z, q.w) == pytest.approx(obj.yaw)
    assert (detection.bbox.size.x, detection.bbox.size.y, detection.bbox.size.z) == (4.5, 1.8, 1.6)
    assert detection.id == "7" and detection.results[0].hypothesis.class_id == "truck"
    cov = detection.results[0].pose.covariance
    assert (cov[0], cov[1], cov[5], cov[6 * 5 + 5]) == (0.0, 1.0, 2.0, 10.0)   # x-x, x-y, x-yaw, yaw-yaw
    payload = by_topic["/cav_0/v2x/rx/payload"]
    assert bytes(payload.data) == FRAME.payload and payload.layout.dim[0].label == "BSM"


def test_an_independent_cdr_decoder_reads_the_standard_types(recording):
    typestore = pytest.importorskip("rosbags.typesys").get_typestore(
        pytest.importorskip("rosbags.typesys").Stores.ROS2_HUMBLE)
    with recording.open("rb") as stream:
        reader = mcap_reader.make_reader(stream)
        raw = {channel.topic: (schema.name, message.data) for schema, channel, message in reader.iter_messages()}
    odom = typestore.deserialize_cdr(raw["/cav_0/truth/ego_state"][1], "nav_msgs/msg/Odometry")
    assert (odom.pose.pose.position.x, odom.pose.pose.position.y, odom.twist.twist.linear.x) == (1.5, -3.25, 22.5)
    assert odom.header.stamp.sec == 12 and odom.header.stamp.nanosec == 350_000_000
    assert odom.pose.covariance[5 * 6 + 5] == pytest.approx(0.01 * 10)       # yaw-yaw
    cloud = typestore.deserialize_cdr(raw["/cav_0/sensors/lidar"][1], "sensor_msgs/msg/PointCloud2")
    assert cloud.width == 2 and [f.name for f in cloud.fields] == ["x", "y", "z", "intensity"]
    assert np.array_equal(np.frombuffer(bytes(cloud.data), "<f4").reshape(2, 4), MESSAGES[2][1].points)
    diag = typestore.deserialize_cdr(raw["/cav_0/diagnostics/perception"][1], "diagnostic_msgs/msg/DiagnosticArray")
    assert diag.status[0].level == 1 and diag.status[0].values[0].key == "age"
    payload = typestore.deserialize_cdr(raw["/cav_0/v2x/rx/payload"][1], "std_msgs/msg/UInt8MultiArray")
    assert bytes(payload.data) == FRAME.payload
    route = typestore.deserialize_cdr(raw["/cav_0/mission/route"][1], "std_msgs/msg/String")
    assert '"Route"' in route.data


def test_schemas_match_the_independent_definitions_field_by_field():
    stores = pytest.importorskip("rosbags.typesys")
    typestore = stores.get_typestore(stores.Stores.ROS2_HUMBLE)
    for name in ("nav_msgs/msg/Odometry", "sensor_msgs/msg/PointCloud2", "diagnostic_msgs/msg/DiagnosticArray",
                 "std_msgs/msg/UInt8MultiArray", "rosgraph_msgs/msg/Clock"):
        ours, theirs = _fields(schema_text(name)), _fields(typestore.generate_msgdef(name, ros_version=2)[0])
        assert ours == theirs, name


def _fields(text: str) -> dict[str, list[tuple[str, str]]]:
    """message name -> [(base type, field name)] of a concatenated ros2msg schema (constants and
    default values dropped, package prefixes of field types dropped)."""
    blocks: dict[str, list[tuple[str, str]]] = {}
    current = "main"
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("="):
            continue
        if line.startswith("MSG:"):
            current = line.split()[1].split("/")[-1]
            continue
        if "=" not in line:                                  # constants carry '='
            kind, name = line.split()[:2]
            blocks.setdefault(current, []).append((kind.split("/")[-1], name))
    return blocks


def test_replay_reader_reads_metadata_and_skips_views(recording):
    rec = read_recording(recording)
    assert rec.metadata == {"scenario": "platoon", "controller": "idm_baseline", "seed": "11", "cavs": "cav_0"}
    assert [topic for _, topic, _ in rec.messages] == [topic for topic, _ in MESSAGES]


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(MissingMessageDefinitionError, match="geometry_msgs/msg/PoseStamped"):
        schema_text("geometry_msgs/msg/PoseStamped")
    junk = tmp_path / "junk.mcap"
    junk.write_bytes(b"not an mcap file")
    with pytest.raises(RecordingError, match="not a readable"):
        read_recording(junk)
    with pytest.raises(RecordingError, match="no such file"):
        read_recording(tmp_path / "missing.mcap")
    bare = tmp_path / "bare.mcap"
    with TopicRecorder(bare) as recorder:
        recorder("/x", MESSAGES[0][1], 0.0)
    with pytest.raises(RecordingError, match="metadata"):
        read_recording(bare)
    with pytest.raises(RuntimeError, match="closed"):
        recorder("/x", MESSAGES[0][1], 0.1)
