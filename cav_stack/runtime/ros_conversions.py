"""Conversions between core messages and ROS 2 message types (the one place for them).

Each conversion maps a core dataclass to a plain field dictionary laid out exactly like the
ROS message (nested dicts, ``stamp: {sec, nanosec}``), and back. The dictionaries are what
rclpy (via :mod:`~cav_stack.runtime.ros_messages`), MCAP recording and CDR encoders consume, so the mapping is
tested without ROS installed.

Standard types where one fits: EgoState -> nav_msgs/msg/Odometry, ControlCommand ->
ackermann_msgs/msg/AckermannDriveStamped, PointCloud -> sensor_msgs/msg/PointCloud2 (float32
x, y, z, intensity), DiagnosticStatus -> diagnostic_msgs/msg/DiagnosticArray (one status; the
array carries the header), StopRequest -> std_msgs/msg/Bool (``data``: stop; Bool has no stamp,
so a received request has stamp 0). Simulation time crosses as rosgraph_msgs/msg/Clock
(:func:`clock_fields`). Core messages without a standard equivalent cross
as std_msgs/msg/String holding a JSON document of the dataclass (lossless; type-tagged).
Odometry has no field for longitudinal acceleration or steering angle, and
AckermannDriveStamped none for the command source: those fields are not carried.

Views (:func:`views_for`) are one-way renderings of a core message as a standard type for ROS
tools (recording, visualisation), published on a sibling topic ``<topic>/<suffix>`` and never
used for transport: TrackList -> vision_msgs/msg/Detection3DArray (``detections``; boxes, class
and pose covariance; track speed, acceleration and V2X ID have no field there) and V2xFrame ->
std_msgs/msg/UInt8MultiArray (``payload``; the encoded bytes, the message type as the label of
the single layout dimension).
"""
from __future__ import annotations

import dataclasses
import enum
import json
import math
import types
import typing
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

import numpy as np

from cav_stack.core import messages as core
from cav_stack.core.frames import wrap_angle

COVARIANCE_INDEX = {0: 0, 1: 1, 2: 5}
"""Odometry pose covariance (x, y, z, roll, pitch, yaw) index of EgoState's (x, y, yaw)."""


def stamp_fields(seconds: float) -> dict[str, int]:
    """builtin_interfaces/Time fields of a time in seconds."""
    nanoseconds = round(seconds * 1e9)
    return {"sec": nanoseconds // 1_000_000_000, "nanosec": nanoseconds % 1_000_000_000}


def stamp_seconds(fields: dict[str, int]) -> float:
    return fields["sec"] + fields["nanosec"] * 1e-9


def header_fields(header: core.Header) -> dict:
    return {"stamp": stamp_fields(header.stamp), "frame_id": header.frame_id}


def header_from(fields: dict) -> core.Header:
    return core.Header(stamp_seconds(fields["stamp"]), fields["frame_id"])


def _ego_to_odometry(msg: core.EgoState) -> dict:
    covariance = [0.0] * 36
    for i, oi in COVARIANCE_INDEX.items():
        for j, oj in COVARIANCE_INDEX.items():
            covariance[oi * 6 + oj] = msg.covariance[i * 4 + j]
    twist_covariance = [0.0] * 36
    twist_covariance[0] = msg.covariance[15]
    return {
        "header": header_fields(msg.header),
        "child_frame_id": core.BASE_LINK_FRAME,
        "pose": {"pose": {"position": {"x": msg.x, "y": msg.y, "z": 0.0},
                          "orientation": {"x": 0.0, "y": 0.0, "z": math.sin(msg.yaw / 2.0),
                                          "w": math.cos(msg.yaw / 2.0)}},
                 "covariance": covariance},
        "twist": {"twist": {"linear": {"x": msg.speed, "y": 0.0, "z": 0.0},
                            "angular": {"x": 0.0, "y": 0.0, "z": msg.yaw_rate}},
                  "covariance": twist_covariance},
    }


def _odometry_to_ego(fields: dict) -> core.EgoState:
    pose, twist = fields["pose"], fields["twist"]
    q = pose["pose"]["orientation"]
    yaw = wrap_angle(2.0 * math.atan2(q["z"], q["w"]))
    covariance = [0.0] * 16
    for i, oi in COVARIANCE_INDEX.items():
        for j, oj in COVARIANCE_INDEX.items():
            covariance[i * 4 + j] = pose["covariance"][oi * 6 + oj]
    covariance[15] = twist["covariance"][0]
    return core.EgoState(header_from(fields["header"]), pose["pose"]["position"]["x"],
                         pose["pose"]["position"]["y"], yaw, twist["twist"]["linear"]["x"],
                         yaw_rate=twist["twist"]["angular"]["z"], covariance=tuple(covariance))


def _command_to_ackermann(msg: core.ControlCommand) -> dict:
    return {"header": header_fields(msg.header),
            "drive": {"steering_angle": msg.steer, "steering_angle_velocity": 0.0, "speed": 0.0,
                      "acceleration": msg.accel, "jerk": 0.0}}


def _ackermann_to_command(fields: dict) -> core.ControlCommand:
    return core.ControlCommand(header_from(fields["header"]), fields["drive"]["acceleration"],
                               fields["drive"]["steering_angle"])


POINT_FIELD_FLOAT32 = 7
"""sensor_msgs/PointField datatype code of float32."""

POINT_CLOUD_FIELDS = ("x", "y", "z", "intensity")
"""PointCloud2 fields of a core PointCloud, in column order (float32 each)."""


def _cloud_to_point_cloud2(msg: core.PointCloud) -> dict:
    points = np.ascontiguousarray(msg.points, dtype="<f4")
    if points.ndim != 2 or points.shape[1] != len(POINT_CLOUD_FIELDS):
        raise ValueError(f"PointCloud.points must be (N, 4) float32, got shape {points.shape}")
    step = 4 * len(POINT_CLOUD_FIELDS)
    return {"header": header_fields(msg.header), "height": 1, "width": points.shape[0],
            "fields": [{"name": name, "offset": 4 * i, "datatype": POINT_FIELD_FLOAT32, "count": 1}
                       for i, name in enumerate(POINT_CLOUD_FIELDS)],
            "is_bigendian": False, "point_step": step, "row_step": step * points.shape[0],
            "data": points.tobytes(), "is_dense": True}


def _point_cloud2_to_cloud(fields: dict) -> core.PointCloud:
    offsets = {f["name"]: f for f in fields["fields"]}
    missing = [n for n in POINT_CLOUD_FIELDS if n not in offsets]
    if missing or any(offsets[n]["datatype"] != POINT_FIELD_FLOAT32 for n in POINT_CLOUD_FIELDS):
        raise ValueError(f"PointCloud2 needs float32 fields {POINT_CLOUD_FIELDS}, has "
                         f"{[(f['name'], f['datatype']) for f in fields['fields']]}")
    dtype = np.dtype({"names": list(POINT_CLOUD_FIELDS),
                      "formats": [(">f4" if fields["is_bigendian"] else "<f4")] * len(POINT_CLOUD_FIELDS),
                      "offsets": [offsets[n]["offset"] for n in POINT_CLOUD_FIELDS],
                      "itemsize": fields["point_step"]})
    count = fields["width"] * fields["height"]
    records = np.frombuffer(bytes(fields["data"]), dtype=dtype, count=count)
    points = np.stack([records[n] for n in POINT_CLOUD_FIELDS], axis=1).astype(np.float32)
    return core.PointCloud(header_from(fields["header"]), points.reshape(count, len(POINT_CLOUD_FIELDS)))


def _diagnostic_to_array(msg: core.DiagnosticStatus) -> dict:
    return {"header": header_fields(msg.header),
            "status": [{"level": bytes([msg.level]), "name": msg.name, "message": msg.message,
                        "hardware_id": "", "values": [{"key": k, "value": v} for k, v in msg.values]}]}


def _array_to_diagnostic(fields: dict) -> core.DiagnosticStatus:
    if len(fields["status"]) != 1:
        raise ValueError(f"DiagnosticArray must hold exactly one status, has {len(fields['status'])}")
    status = fields["status"][0]
    level = status["level"]
    return core.DiagnosticStatus(header_from(fields["header"]), status["name"],
                                 level[0] if isinstance(level, bytes) else int(level), status["message"],
                                 tuple((kv["key"], kv["value"]) for kv in status["values"]))


def _stop_to_bool(msg: core.StopRequest) -> dict:
    return {"data": msg.stop}


def _bool_to_stop(fields: dict) -> core.StopRequest:
    return core.StopRequest(core.Header(0.0, ""), bool(fields["data"]))


def clock_fields(seconds: float) -> dict:
    """rosgraph_msgs/msg/Clock fields of a simulation time [s]."""
    return {"clock": stamp_fields(seconds)}


def clock_seconds(fields: dict) -> float:
    """Simulation time [s] of rosgraph_msgs/msg/Clock fields."""
    return stamp_seconds(fields["clock"])


def to_json_value(value: Any) -> Any:
    """A core message (or part of one) as JSON-ready data, dataclasses tagged with their type."""
    if dataclasses.is_dataclass(value):
        data = {f.name: to_json_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
        data["__type__"] = type(value).__name__
        return data
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return {"__bytes__": value.hex()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, (tuple, list)):
        return [to_json_value(v) for v in value]
    return value


def from_json_value(data: Any, hint: Any = Any) -> Any:
    """Inverse of :func:`to_json_value` for the core message types."""
    if isinstance(data, dict) and "__type__" in data:
        cls = getattr(core, data["__type__"])
        hints = typing.get_type_hints(cls)
        return cls(**{f.name: from_json_value(data[f.name], hints[f.name]) for f in dataclasses.fields(cls)})
    if isinstance(data, dict) and "__bytes__" in data:
        return bytes.fromhex(data["__bytes__"])
    if isinstance(data, dict) and "__array__" in data:
        return np.asarray(data["__array__"], dtype=data["dtype"])
    base = hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        base = next(a for a in typing.get_args(hint) if a is not type(None))
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return base(data)
    if isinstance(data, list):
        args = typing.get_args(base)
        return tuple(from_json_value(v, args[0] if args else Any) for v in data)
    return data


@dataclass(frozen=True)
class Conversion:
    """How one core message type crosses ROS: the ROS type name and the field mapping."""

    ros_type_name: str
    to_fields: Callable[[Any], dict]
    from_fields: Callable[[dict], Any]

    def ros_type(self) -> type:
        """The generated ROS message class (needs the ``ros`` extra or a sourced ROS 2 installation)."""
        from cav_stack.runtime.ros_messages import ros_message_class

        return ros_message_class(self.ros_type_name)

    def to_ros(self, msg: Any) -> Any:
        from cav_stack.runtime.ros_messages import to_ros_message

        return to_ros_message(self.ros_type_name, self.to_fields(msg))

    def from_ros(self, ros_msg: Any) -> Any:
        from cav_stack.runtime.ros_messages import message_fields

        return self.from_fields(message_fields(ros_msg))


_JSON = Conversion("std_msgs/msg/String",
                   lambda msg: {"data": json.dumps(to_json_value(msg))},
                   lambda fields: from_json_value(json.loads(fields["data"])))

_STANDARD: dict[type, Conversion] = {
    core.EgoState: Conversion("nav_msgs/msg/Odometry", _ego_to_odometry, _odometry_to_ego),
    core.ControlCommand: Conversion("ackermann_msgs/msg/AckermannDriveStamped", _command_to_ackermann,
                                    _ackermann_to_command),
    core.PointCloud: Conversion("sensor_msgs/msg/PointCloud2", _cloud_to_point_cloud2, _point_cloud2_to_cloud),
    core.DiagnosticStatus: Conversion("diagnostic_msgs/msg/DiagnosticArray", _diagnostic_to_array,
                                      _array_to_diagnostic),
    core.StopRequest: Conversion("std_msgs/msg/Bool", _stop_to_bool, _bool_to_stop),
}


def installed_conversion(msg_type: type) -> Conversion:
    """The conversion of a core message type on a ROS 2 installation: :func:`conversion_for`, or the
    JSON one when the standard type's package is not installed (ackermann_msgs is not among the
    ROS 2 wheels on the package index; a ROS 2 machine with it installed uses AckermannDriveStamped)."""
    from cav_stack.runtime.ros_messages import has_ros_type

    conversion = conversion_for(msg_type)
    return conversion if has_ros_type(conversion.ros_type_name) else _JSON


def conversion_for(msg_type: type) -> Conversion:
    """The conversion of a core message type (standard ROS type where one fits, else JSON)."""
    if msg_type in _STANDARD:
        return _STANDARD[msg_type]
    if dataclasses.is_dataclass(msg_type) and getattr(core, msg_type.__name__, None) is msg_type:
        return _JSON
    raise TypeError(f"{msg_type!r} is not a core message type")


def quaternion_fields(yaw: float) -> dict[str, float]:
    """geometry_msgs/Quaternion fields of a rotation by ``yaw`` [rad] about z."""
    return {"x": 0.0, "y": 0.0, "z": math.sin(yaw / 2.0), "w": math.cos(yaw / 2.0)}


def pose_covariance_fields(covariance: tuple[float, ...]) -> list[float]:
    """Row-major 6x6 covariance of (x, y, z, roll, pitch, yaw) holding the (x, y, yaw) block of
    a row-major 4x4 covariance of (x, y, yaw, speed); other entries 0."""
    out = [0.0] * 36
    for i, oi in COVARIANCE_INDEX.items():
        for j, oj in COVARIANCE_INDEX.items():
            out[oi * 6 + oj] = covariance[i * 4 + j]
    return out


def _tracks_to_detection3d_array(msg: core.TrackList) -> dict:
    header = header_fields(msg.header)
    detections = []
    for obj in msg.objects:
        pose = {"position": {"x": obj.x, "y": obj.y, "z": obj.height / 2.0}, "orientation": quaternion_fields(obj.yaw)}
        detections.append({
            "header": header,
            "results": [{"hypothesis": {"class_id": obj.object_class.value, "score": 1.0},
                         "pose": {"pose": pose, "covariance": pose_covariance_fields(obj.covariance)}}],
            "bbox": {"center": pose, "size": {"x": obj.length, "y": obj.width, "z": obj.height}},
            "id": str(obj.track_id)})
    return {"header": header, "detections": detections}


def _v2x_frame_to_uint8_multi_array(msg: core.V2xFrame) -> dict:
    size = len(msg.payload)
    return {"layout": {"dim": [{"label": msg.message_type, "size": size, "stride": size}], "data_offset": 0},
            "data": bytes(msg.payload)}


@dataclass(frozen=True)
class View:
    """A one-way rendering of a core message as a standard ROS type, for topic ``<topic>/<suffix>``."""

    suffix: str
    ros_type_name: str
    to_fields: Callable[[Any], dict]


_VIEWS: dict[type, tuple[View, ...]] = {
    core.TrackList: (View("detections", "vision_msgs/msg/Detection3DArray", _tracks_to_detection3d_array),),
    core.V2xFrame: (View("payload", "std_msgs/msg/UInt8MultiArray", _v2x_frame_to_uint8_multi_array),),
}


def views_for(msg_type: type) -> tuple[View, ...]:
    """The views of a core message type (empty when it has none)."""
    return _VIEWS.get(msg_type, ())


def conversion_for_ros_type(ros_type_name: str) -> Conversion:
    """The transport conversion whose ROS type is ``ros_type_name`` (``std_msgs/msg/String``: the
    JSON conversion); KeyError for a ROS type no core message travels as (e.g. a view's)."""
    if ros_type_name == _JSON.ros_type_name:
        return _JSON
    for conversion in _STANDARD.values():
        if conversion.ros_type_name == ros_type_name:
            return conversion
    raise KeyError(f"no core message travels as {ros_type_name}")
