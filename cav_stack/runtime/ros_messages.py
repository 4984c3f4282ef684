"""Generated ROS 2 message objects to and from the field dictionaries of :mod:`ros_conversions`.

The ROS 2 wheels on the package index (Kilted) have no ``rosidl_runtime_py``, so this module
fills and reads messages through the introspection every generated Python message class
carries (``get_fields_and_field_types``). Nested messages are dictionaries, sequences of
messages lists of dictionaries, ``uint8`` sequences ``bytes``, other arrays lists; ``octet``
(byte) fields are one-byte ``bytes``. Message classes are imported by type name
(``pkg/msg/Name``) from the installed interface packages (the ``ros`` extra).
"""
from __future__ import annotations

import array
import importlib
import importlib.util
import re
from typing import Any

import numpy as np

_CONTAINER = re.compile(r"^(?:sequence<(?P<seq>[^,>]+)(?:, ?\d+)?>|(?P<arr>[^\[]+)\[\d*\])$")


class RosTypeUnavailableError(ImportError):
    """The interface package of a ROS message type is not installed."""


def split_type_name(type_name: str) -> tuple[str, str]:
    """(package, name) of ``pkg/msg/Name`` or ``pkg/Name``."""
    parts = type_name.split("/")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[1] != "msg"):
        raise ValueError(f"not a ROS message type name: '{type_name}' (expected pkg/msg/Name)")
    return parts[0], parts[-1]


def has_ros_type(type_name: str) -> bool:
    """Whether the interface package of ``type_name`` is importable on this machine."""
    package, _ = split_type_name(type_name)
    return importlib.util.find_spec(package) is not None


def ros_message_class(type_name: str) -> type:
    """The generated message class of ``type_name`` (``pkg/msg/Name``)."""
    package, name = split_type_name(type_name)
    try:
        cls: type = getattr(importlib.import_module(f"{package}.msg"), name)
        return cls
    except (ImportError, AttributeError) as exc:
        raise RosTypeUnavailableError(f"ROS message type {type_name} is not installed: install the 'ros' extra "
                                      f"(`pip install cav_stack[ros]`) or source a ROS 2 installation") from exc


def _element_type(field_type: str) -> tuple[str, bool]:
    """(element type, is a sequence or array) of a field type string such as
    ``sequence<diagnostic_msgs/KeyValue>``, ``double[36]`` or ``std_msgs/Header``."""
    match = _CONTAINER.match(field_type)
    if match is None:
        return field_type, False
    return (match.group("seq") or match.group("arr")), True


def fill_message(msg: Any, fields: dict[str, Any]) -> Any:
    """Set the fields of ROS message ``msg`` from ``fields`` (in place); returns ``msg``."""
    types = msg.get_fields_and_field_types()
    for name, value in fields.items():
        if name not in types:
            raise KeyError(f"{type(msg).__name__} has no field '{name}'")
        element, container = _element_type(types[name])
        if "/" not in element:
            if container and element in ("uint8", "octet") and isinstance(value, (bytes, bytearray)):
                value = array.array("B", value) if types[name].startswith("sequence") else list(value)
            setattr(msg, name, value)
        elif not container:
            fill_message(getattr(msg, name), value)
        else:
            cls = ros_message_class(element)
            setattr(msg, name, [fill_message(cls(), item) for item in value])
    return msg


def to_ros_message(type_name: str, fields: dict[str, Any]) -> Any:
    """A new ROS message of ``type_name`` holding ``fields``."""
    return fill_message(ros_message_class(type_name)(), fields)


def message_fields(msg: Any) -> dict[str, Any]:
    """The field dictionary of ROS message ``msg`` (inverse of :func:`fill_message`)."""
    out: dict[str, Any] = {}
    for name in msg.get_fields_and_field_types():
        value = getattr(msg, name)
        if hasattr(value, "get_fields_and_field_types"):
            out[name] = message_fields(value)
        elif isinstance(value, array.array):
            out[name] = value.tobytes() if value.typecode == "B" else value.tolist()
        elif isinstance(value, np.ndarray):
            out[name] = value.tolist()
        elif isinstance(value, list) and value and hasattr(value[0], "get_fields_and_field_types"):
            out[name] = [message_fields(item) for item in value]
        else:
            out[name] = value
    return out
