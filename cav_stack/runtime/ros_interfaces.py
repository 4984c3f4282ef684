"""The ROS 2 interface definitions (``.msg``) the stack speaks: the one source of message layouts.

The definitions ship in ``cav_stack/runtime/msg_defs/<pkg>/msg/<Name>.msg`` (see its README). The
MCAP recorder writes them as schemas (:func:`schema_text`), the Cyclone DDS backend builds its
IDL structs from them (:mod:`cav_stack.runtime.dds_types`), both through the parse of rosbags'
type system (:func:`message_fields`), so a field's name, type and order exist in one place.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

MSG_DEFS_DIR = Path(__file__).resolve().parent / "msg_defs"
_SEPARATOR = "=" * 80


class MissingMessageDefinitionError(LookupError):
    """No ``.msg`` file for a ROS type in :data:`MSG_DEFS_DIR`."""


def _split(ros_type_name: str) -> tuple[str, str]:
    parts = ros_type_name.split("/")
    if len(parts) != 3 or parts[1] != "msg" or not all(parts):
        raise ValueError(f"'{ros_type_name}' is not a ROS message type name of the form pkg/msg/Type")
    return parts[0], parts[2]


@functools.cache
def definition(ros_type_name: str) -> str:
    """The text of ``pkg/msg/Name``'s ``.msg`` definition (stripped)."""
    package, name = _split(ros_type_name)
    path = MSG_DEFS_DIR / package / "msg" / f"{name}.msg"
    if not path.is_file():
        raise MissingMessageDefinitionError(f"no message definition {ros_type_name} (looked for {path})")
    return path.read_text(encoding="utf-8").strip()


@functools.cache
def message_fields(ros_type_name: str) -> tuple[tuple[str, Any], ...]:
    """(field name, rosbags field node) of ``ros_type_name`` in declaration order.

    A node is ``(Nodetype.BASE, (primitive, string bound))``, ``(Nodetype.NAME, 'pkg/msg/Type')``,
    ``(Nodetype.ARRAY, (node, length))`` or ``(Nodetype.SEQUENCE, (node, bound))``.
    """
    from rosbags.typesys import get_types_from_msg

    parsed = get_types_from_msg(definition(ros_type_name), ros_type_name)
    _constants, fields = parsed[ros_type_name]
    return tuple((name, node) for name, node in fields)


def _complex_types(node: Any) -> list[str]:
    from rosbags.typesys.base import Nodetype

    kind, detail = node
    if kind == Nodetype.NAME:
        return [detail]
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        return _complex_types(detail[0])
    return []


def dependencies(ros_type_name: str) -> list[str]:
    """The message types of ``ros_type_name``'s complex fields, in field order (with repeats)."""
    return [dep for _, node in message_fields(ros_type_name) for dep in _complex_types(node)]


def schema_text(ros_type_name: str) -> str:
    """The ``ros2msg`` schema of ``ros_type_name`` (``pkg/msg/Name``) with every dependency: the
    definition, then each dependency after a line of ``=`` and ``MSG: pkg/Name`` (what MCAP and
    ``mcap_ros2`` read)."""
    ordered: list[str] = []
    pending = [ros_type_name]
    while pending:
        name = pending.pop(0)
        if name in ordered:
            continue
        ordered.append(name)
        pending += dependencies(name)
    parts = [definition(ordered[0])]
    for dep in ordered[1:]:
        package, name = _split(dep)
        parts += [_SEPARATOR, f"MSG: {package}/{name}", definition(dep)]
    return "\n".join(parts) + "\n"


@functools.lru_cache(maxsize=1)
def scalar_byte_fields() -> frozenset[str]:
    """Names of the scalar ``byte`` fields in the shipped definitions (e.g. DiagnosticStatus.level)."""
    from rosbags.typesys.base import Nodetype

    names = set()
    for path in MSG_DEFS_DIR.glob("*/msg/*.msg"):
        ros_type = f"{path.parent.parent.name}/msg/{path.stem}"
        for field, (kind, detail) in message_fields(ros_type):
            if kind == Nodetype.BASE and detail[0] == "byte":
                names.add(field)
    return frozenset(names)
