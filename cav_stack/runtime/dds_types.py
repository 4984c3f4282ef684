"""ROS 2 standard message types as Cyclone DDS IDL structs (what rmw_cyclonedds puts on the wire).

ROS 2 maps ``pkg/msg/Type`` to the DDS type ``pkg::msg::dds_::Type_`` and serialises it as
plain (XCDR1) CDR, little endian. :func:`idl_type` builds each struct
from the type's ``.msg`` definition (:mod:`cav_stack.runtime.ros_interfaces`), field by field in
declaration order, which fixes the CDR layout: the layouts have one source, the definitions the
recorder writes as schemas. :func:`to_idl` / :func:`from_idl` convert between the ROS field
dictionaries of :mod:`cav_stack.runtime.ros_conversions` and struct instances.

Needs the ``dds`` extra (cyclonedds); imported only by the DDS backend. No ``from __future__
import annotations`` here: cyclonedds resolves the field annotations at run time.
"""

import dataclasses
import functools
import typing
from typing import Any

from cav_stack.runtime.dds_import import cyclonedds_module
from cav_stack.runtime.ros_interfaces import MissingMessageDefinitionError, message_fields

if typing.TYPE_CHECKING:
    from cyclonedds import idl as _idl
    from cyclonedds.idl import IdlStruct, types
else:
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


_PRIMITIVES: dict[str, Any] = {
    "bool": bool, "byte": types.byte, "char": types.uint8, "float32": types.float32, "float64": types.float64,
    "int8": types.int8, "uint8": types.uint8, "int16": types.int16, "uint16": types.uint16, "int32": types.int32,
    "uint32": types.uint32, "int64": types.int64, "uint64": types.uint64, "string": str,
}
"""IDL types of the ROS primitives (rosidl maps ``char`` to uint8)."""

BYTE_BLOCK_FIELDS = {"sensor_msgs/msg/PointCloud2": "data"}
"""uint8[] fields (de)serialised as one byte block instead of element by element."""


def _annotation(node: Any) -> Any:
    """The cyclonedds annotation of one rosbags field node (see ros_interfaces.message_fields)."""
    from rosbags.typesys.base import Nodetype

    constructors: Any = types        # run-time type constructors (types.array[T, N]...), not static types
    kind, detail = node
    if kind == Nodetype.BASE:
        primitive, bound = detail
        return constructors.bounded_str[bound] if primitive == "string" and bound else _PRIMITIVES[primitive]
    if kind == Nodetype.NAME:
        return idl_type(detail)
    if kind == Nodetype.ARRAY:
        return constructors.array[_annotation(detail[0]), detail[1]]
    if kind == Nodetype.SEQUENCE:
        element, bound = detail
        sequence = constructors.sequence
        return sequence[_annotation(element), bound] if bound else sequence[_annotation(element)]
    raise TypeError(f"unsupported field node {node!r}")


def _use_byte_block(cls: type[IdlStruct], field_name: str) -> None:
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


@functools.cache
def idl_type(ros_type_name: str) -> type[IdlStruct]:
    """The IDL struct of ROS message type ``pkg/msg/Name``, built from its ``.msg`` definition
    (:mod:`cav_stack.runtime.ros_interfaces`); one class per type. TypeError for a type without one."""
    try:
        fields = message_fields(ros_type_name)
    except (MissingMessageDefinitionError, ValueError) as exc:
        raise TypeError(f"no DDS type for ROS message {ros_type_name}: {exc}") from None
    annotations = {name: _annotation(node) for name, node in fields}
    cls = _idl.make_idl_struct(ros_type_name.split("/")[-1], dds_type_name(ros_type_name), annotations)
    if ros_type_name in BYTE_BLOCK_FIELDS:
        _use_byte_block(cls, BYTE_BLOCK_FIELDS[ros_type_name])
    return cls


@functools.cache
def _field_plan(cls: type[IdlStruct]) -> tuple[tuple[str, str, type[IdlStruct] | None], ...]:
    """(name, kind, nested struct) of every field: kind is struct, struct_seq, array, byte or plain."""
    plan: list[tuple[str, str, type[IdlStruct] | None]] = []
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


def to_idl(cls: type[IdlStruct], fields: dict[str, Any]) -> Any:
    """An instance of IDL struct ``cls`` from a ROS field dictionary (nested dicts and lists).

    A ``byte`` field accepts an int or a one-byte ``bytes`` (what rclpy uses).
    """
    values = {}
    for name, kind, nested in _field_plan(cls):
        if name not in fields:
            raise KeyError(f"{cls.__idl_typename__}: field '{name}' missing")
        value = fields[name]
        if kind == "struct" and nested is not None:
            value = to_idl(nested, value)
        elif kind == "struct_seq" and nested is not None:
            value = [to_idl(nested, item) for item in value]
        elif kind == "array":
            value = list(value)
        elif kind == "byte" and isinstance(value, bytes):
            value = value[0]
        values[name] = value
    return cls(**values)


def from_idl(sample: Any) -> dict[str, Any]:
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
