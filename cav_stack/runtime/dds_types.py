"""ROS 2 standard message types as Cyclone DDS IDL structs (what rmw_cyclonedds puts on the wire).

ROS 2 maps ``pkg/msg/Type`` to the DDS type ``pkg::msg::dds_::Type_`` and serialises it as
plain (XCDR1) CDR, little endian. The structs below mirror the ROS message definitions field
by field in declaration order (``ros2 interface show``), which fixes the CDR layout.
Only the types the stack sends are declared; :data:`IDL_TYPES` maps each ROS type name to its
struct. :func:`to_idl` / :func:`from_idl` convert between the ROS field dictionaries of
:mod:`cav_stack.runtime.ros_conversions` and struct instances.

Needs the ``dds`` extra (cyclonedds); imported only by the DDS backend. No ``from __future__
import annotations`` here: cyclonedds resolves the field annotations at run time.
"""

import dataclasses
import functools
import typing
from typing import Any

from cav_stack.runtime.dds_import import cyclonedds_module

_idl = cyclonedds_module("cyclonedds.idl")
types = cyclonedds_module("cyclonedds.idl.types")
IdlStruct = _idl.IdlStruct


def dds_type_name(ros_type_name: str) -> str:
    """The DDS type name ROS 2 uses for ``pkg/msg/Type``: ``pkg::msg::dds_::Type_``."""
    parts = ros_type_name.split("/")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"'{ros_type_name}' is not a ROS type name of the form pkg/msg/Type")
    package, kind, name = parts
    return f"{package}::{kind}::dds_::{name}_"


@dataclasses.dataclass
class Time(IdlStruct, typename=dds_type_name("builtin_interfaces/msg/Time")):
    sec: types.int32 = 0
    nanosec: types.uint32 = 0


@dataclasses.dataclass
class Header(IdlStruct, typename=dds_type_name("std_msgs/msg/Header")):
    stamp: Time = dataclasses.field(default_factory=Time)
    frame_id: str = ""


@dataclasses.dataclass
class String(IdlStruct, typename=dds_type_name("std_msgs/msg/String")):
    data: str = ""


@dataclasses.dataclass
class Bool(IdlStruct, typename=dds_type_name("std_msgs/msg/Bool")):
    data: bool = False


@dataclasses.dataclass
class Point(IdlStruct, typename=dds_type_name("geometry_msgs/msg/Point")):
    x: types.float64 = 0.0
    y: types.float64 = 0.0
    z: types.float64 = 0.0


@dataclasses.dataclass
class Quaternion(IdlStruct, typename=dds_type_name("geometry_msgs/msg/Quaternion")):
    x: types.float64 = 0.0
    y: types.float64 = 0.0
    z: types.float64 = 0.0
    w: types.float64 = 1.0


@dataclasses.dataclass
class Vector3(IdlStruct, typename=dds_type_name("geometry_msgs/msg/Vector3")):
    x: types.float64 = 0.0
    y: types.float64 = 0.0
    z: types.float64 = 0.0


@dataclasses.dataclass
class Pose(IdlStruct, typename=dds_type_name("geometry_msgs/msg/Pose")):
    position: Point = dataclasses.field(default_factory=Point)
    orientation: Quaternion = dataclasses.field(default_factory=Quaternion)


@dataclasses.dataclass
class PoseWithCovariance(IdlStruct, typename=dds_type_name("geometry_msgs/msg/PoseWithCovariance")):
    pose: Pose = dataclasses.field(default_factory=Pose)
    covariance: types.array[types.float64, 36] = dataclasses.field(default_factory=lambda: [0.0] * 36)


@dataclasses.dataclass
class Twist(IdlStruct, typename=dds_type_name("geometry_msgs/msg/Twist")):
    linear: Vector3 = dataclasses.field(default_factory=Vector3)
    angular: Vector3 = dataclasses.field(default_factory=Vector3)


@dataclasses.dataclass
class TwistWithCovariance(IdlStruct, typename=dds_type_name("geometry_msgs/msg/TwistWithCovariance")):
    twist: Twist = dataclasses.field(default_factory=Twist)
    covariance: types.array[types.float64, 36] = dataclasses.field(default_factory=lambda: [0.0] * 36)


@dataclasses.dataclass
class Odometry(IdlStruct, typename=dds_type_name("nav_msgs/msg/Odometry")):
    header: Header = dataclasses.field(default_factory=Header)
    child_frame_id: str = ""
    pose: PoseWithCovariance = dataclasses.field(default_factory=PoseWithCovariance)
    twist: TwistWithCovariance = dataclasses.field(default_factory=TwistWithCovariance)


@dataclasses.dataclass
class AckermannDrive(IdlStruct, typename=dds_type_name("ackermann_msgs/msg/AckermannDrive")):
    steering_angle: types.float32 = 0.0
    steering_angle_velocity: types.float32 = 0.0
    speed: types.float32 = 0.0
    acceleration: types.float32 = 0.0
    jerk: types.float32 = 0.0


@dataclasses.dataclass
class AckermannDriveStamped(IdlStruct, typename=dds_type_name("ackermann_msgs/msg/AckermannDriveStamped")):
    header: Header = dataclasses.field(default_factory=Header)
    drive: AckermannDrive = dataclasses.field(default_factory=AckermannDrive)


@dataclasses.dataclass
class Clock(IdlStruct, typename=dds_type_name("rosgraph_msgs/msg/Clock")):
    clock: Time = dataclasses.field(default_factory=Time)


@dataclasses.dataclass
class PointField(IdlStruct, typename=dds_type_name("sensor_msgs/msg/PointField")):
    name: str = ""
    offset: types.uint32 = 0
    datatype: types.uint8 = 0
    count: types.uint32 = 0


@dataclasses.dataclass
class PointCloud2(IdlStruct, typename=dds_type_name("sensor_msgs/msg/PointCloud2")):
    header: Header = dataclasses.field(default_factory=Header)
    height: types.uint32 = 0
    width: types.uint32 = 0
    fields: types.sequence[PointField] = dataclasses.field(default_factory=list)
    is_bigendian: bool = False
    point_step: types.uint32 = 0
    row_step: types.uint32 = 0
    data: types.sequence[types.uint8] = dataclasses.field(default_factory=list)
    is_dense: bool = False


@dataclasses.dataclass
class KeyValue(IdlStruct, typename=dds_type_name("diagnostic_msgs/msg/KeyValue")):
    key: str = ""
    value: str = ""


@dataclasses.dataclass
class DiagnosticStatus(IdlStruct, typename=dds_type_name("diagnostic_msgs/msg/DiagnosticStatus")):
    level: types.byte = 0
    name: str = ""
    message: str = ""
    hardware_id: str = ""
    values: types.sequence[KeyValue] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class DiagnosticArray(IdlStruct, typename=dds_type_name("diagnostic_msgs/msg/DiagnosticArray")):
    header: Header = dataclasses.field(default_factory=Header)
    status: types.sequence[DiagnosticStatus] = dataclasses.field(default_factory=list)


IDL_TYPES: dict[str, type] = {
    "std_msgs/msg/String": String,
    "std_msgs/msg/Bool": Bool,
    "nav_msgs/msg/Odometry": Odometry,
    "ackermann_msgs/msg/AckermannDriveStamped": AckermannDriveStamped,
    "rosgraph_msgs/msg/Clock": Clock,
    "sensor_msgs/msg/PointCloud2": PointCloud2,
    "diagnostic_msgs/msg/DiagnosticArray": DiagnosticArray,
}


BYTE_BLOCK_FIELDS = {PointCloud2: "data"}
"""uint8[] fields (de)serialised as one byte block instead of element by element."""


def _use_byte_block(cls: type, field_name: str) -> None:
    """(De)serialise ``cls.field_name`` (a ``sequence<uint8>``) as one ``bytes`` block.

    The CDR is the same (uint32 length, then the bytes); cyclonedds would otherwise pack and
    unpack every byte as a Python int (~100 ms for a 1.6 MB point cloud). The type information
    sent to peers still says ``sequence<uint8>`` as ROS does. If the binding's internals differ
    from the expected ones the generic path stays (slower, same bytes).
    """
    machinery = cyclonedds_module("cyclonedds.idl._machinery")
    cls.__idl__.populate()
    for machine in (cls.__idl__.v1_machine, cls.__idl__.v2_machine):
        members = getattr(machine, "members_machines", None)
        if isinstance(members, dict) and isinstance(members.get(field_name),
                                                    machinery.PlainCdrV2SequenceOfPrimitiveMachine):
            members[field_name] = machinery.BytesMachine()


for _cls, _field in BYTE_BLOCK_FIELDS.items():
    _use_byte_block(_cls, _field)


def idl_type(ros_type_name: str) -> type:
    """The IDL struct of a ROS message type the stack sends over DDS."""
    try:
        return IDL_TYPES[ros_type_name]
    except KeyError:
        raise TypeError(f"no DDS type for ROS message {ros_type_name} "
                        f"(known: {', '.join(sorted(IDL_TYPES))})") from None


@functools.lru_cache(maxsize=None)
def _field_plan(cls: type) -> tuple[tuple[str, str, type | None], ...]:
    """(name, kind, nested struct) of every field: kind is struct, struct_seq, array, byte or plain."""
    plan = []
    for name, hint in typing.get_type_hints(cls, include_extras=True).items():
        idl = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, (types.sequence, types.array))),
                   hint)
        subtype = getattr(idl, "subtype", None)
        if isinstance(idl, type) and issubclass(idl, IdlStruct):
            plan.append((name, "struct", idl))
        elif isinstance(idl, types.sequence) and isinstance(subtype, type) and issubclass(subtype, IdlStruct):
            plan.append((name, "struct_seq", subtype))
        elif isinstance(idl, types.array):
            plan.append((name, "array", None))
        elif hint == types.byte:
            plan.append((name, "byte", None))
        else:
            plan.append((name, "plain", None))
    return tuple(plan)


def to_idl(cls: type, fields: dict) -> Any:
    """An instance of IDL struct ``cls`` from a ROS field dictionary (nested dicts and lists).

    A ``byte`` field accepts an int or a one-byte ``bytes`` (what rclpy uses).
    """
    values = {}
    for name, kind, nested in _field_plan(cls):
        if name not in fields:
            raise KeyError(f"{cls.__idl_typename__}: field '{name}' missing")
        value = fields[name]
        if kind == "struct":
            value = to_idl(nested, value)
        elif kind == "struct_seq":
            value = [to_idl(nested, item) for item in value]
        elif kind == "array":
            value = list(value)
        elif kind == "byte" and isinstance(value, bytes):
            value = value[0]
        values[name] = value
    return cls(**values)


def from_idl(sample: Any) -> dict:
    """The ROS field dictionary of an IDL struct instance (inverse of :func:`to_idl`)."""
    fields = {}
    for f in dataclasses.fields(sample):
        value = getattr(sample, f.name)
        if isinstance(value, IdlStruct):
            value = from_idl(value)
        elif isinstance(value, list):
            value = [from_idl(v) if isinstance(v, IdlStruct) else v for v in value]
        fields[f.name] = value
    return fields
