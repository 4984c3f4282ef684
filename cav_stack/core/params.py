"""Loading ROS 2 parameter YAML files into frozen dataclasses.

Files use the ROS 2 layout ``node_name: ros__parameters: {...}`` so that ``ros2 launch`` and
the in-process runner read the same files. Keys ending in a unit suffix (``_kph``, ``_deg``,
``_ms``, ``_km``) are converted to SI and bound to the field without the suffix.
Every problem raises :class:`ParamsError` naming the file, the line, the key and the reason.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import re
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from cav_stack.core.units import SUFFIX_TO_SI

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
_PARENT_KEY = re.compile(r"(\.[^.\[]+|\[\d+\])$")
#: libyaml's loader where PyYAML was built with it (same documents and marks, ~10x faster).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ParamsError(ValueError):
    """A parameter file is unreadable, malformed or does not match its schema."""

    def __init__(self, path: str | Path, key: str, reason: str, line: int | None = None):
        self.path = str(path)
        self.key = key
        self.reason = reason
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: key '{key}': {reason}")


def _key_lines(text: str) -> dict[str, int]:
    """Map dotted key paths of a YAML document to 1-based line numbers."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
                lines[path] = key_node.start_mark.line + 1
                walk(value_node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[f"{prefix}[{index}]"] = item.start_mark.line + 1
                walk(item, f"{prefix}[{index}]")

    root = yaml.compose(text, Loader=_SAFE_LOADER)
    if root is not None:
        walk(root, "")
    return lines


@functools.lru_cache(maxsize=256)
def _parse_yaml(text: str) -> tuple[Any, dict[str, int]]:
    """Parsed document and key lines of one YAML text; cached: a run loads the same parameter
    files once per vehicle (read_yaml hands out copies)."""
    return yaml.load(text, Loader=_SAFE_LOADER), _key_lines(text)


def read_yaml(path: str | Path) -> tuple[Any, dict[str, int]]:
    """Parse a YAML file; return its data and a map of dotted key paths to line numbers."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParamsError(path, "", f"cannot read file: {exc.strerror}") from exc
    try:
        data, lines = _parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ParamsError(path, "", f"malformed YAML: {problem}", line) from exc
    return copy.deepcopy(data), dict(lines)


def _strip_unit_suffix(key: str, value: Any) -> tuple[str, Any]:
    for suffix, factor in SUFFIX_TO_SI.items():
        if key.endswith(suffix):
            if isinstance(value, bool) or not isinstance(value, (int, float, list)):
                return key, value
            if isinstance(value, list):
                return key[: -len(suffix)], [v * factor for v in value]
            return key[: -len(suffix)], value * factor
    return key, value


class _Binder:
    """Binds plain YAML data to a dataclass schema, reporting errors with file and line."""

    def __init__(self, path: str | Path, lines: dict[str, int]):
        self.path = path
        self.lines = lines

    def error(self, key: str, reason: str) -> ParamsError:
        """An error at ``key``, with the line of the key or of its nearest enclosing key/item."""
        probe = key
        while probe not in self.lines:
            parent = _PARENT_KEY.sub("", probe)
            if parent == probe:
                return ParamsError(self.path, key, reason, None)
            probe = parent
        return ParamsError(self.path, key, reason, self.lines[probe])

    def bind(self, schema: type[T], data: Any, key: str) -> T:
        if not isinstance(data, dict):
            raise self.error(key, f"expected a mapping for {schema.__name__}, got {type(data).__name__}")
        hints = typing.get_type_hints(schema)
        fields = {f.name: f for f in dataclasses.fields(schema)}
        values: dict[str, Any] = {}
        yaml_keys: dict[str, str] = {}
        for raw_key, raw_value in data.items():
            name, value = _strip_unit_suffix(str(raw_key), raw_value)
            full = f"{key}.{raw_key}" if key else str(raw_key)
            if name not in fields:
                known = ", ".join(sorted(fields))
                raise self.error(full, f"unknown parameter (known: {known})")
            values[name] = self.coerce(hints[name], value, full)
            yaml_keys[name] = full
        for name, f in fields.items():
            if name in values:
                continue
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                full = f"{key}.{name}" if key else name
                raise ParamsError(self.path, full, "missing required parameter", self.lines.get(key))
        try:
            return schema(**values)
        except (ValueError, TypeError) as exc:
            raise self.error(key, str(exc)) from exc

    def coerce(self, hint: Any, value: Any, key: str) -> Any:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            if value is None and type(None) in args:
                return None
            non_none = [a for a in args if a is not type(None)]
            return self.coerce(non_none[0], value, key)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self.bind(hint, value, key)
        if origin is tuple:
            if not isinstance(value, list):
                raise self.error(key, f"expected a list, got {type(value).__name__}")
            item = args[0] if args else Any
            return tuple(self.coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value))
        if origin is dict:
            if not isinstance(value, dict):
                raise self.error(key, f"expected a mapping, got {type(value).__name__}")
            return {str(k): self.coerce(args[1], v, f"{key}.{k}") for k, v in value.items()}
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.error(key, f"expected a number, got {value!r}")
            return float(value)
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(key, f"expected an integer, got {value!r}")
            return value
        if hint is bool:
            if not isinstance(value, bool):
                raise self.error(key, f"expected true or false, got {value!r}")
            return value
        if hint is str:
            if not isinstance(value, str):
                raise self.error(key, f"expected a string, got {value!r}")
            return value
        return value


def bind_params(schema: type[T], data: Any, path: str | Path, lines: dict[str, int] | None = None,
                key: str = "") -> T:
    """Bind already-parsed YAML data to ``schema`` (a dataclass), raising :class:`ParamsError`."""
    return _Binder(path, lines or {}).bind(schema, data, key)


def load_node_params(path: str | Path, node_name: str, schema: type[T]) -> T:
    """Load ``node_name: ros__parameters:`` of a ROS 2 params file into ``schema``."""
    data, lines = read_yaml(path)
    if not isinstance(data, dict) or node_name not in data:
        raise ParamsError(path, node_name, "no section for this node")
    section = data[node_name]
    if not isinstance(section, dict) or "ros__parameters" not in section:
        raise ParamsError(path, node_name, "expected 'ros__parameters' under the node name",
                          lines.get(node_name))
    return bind_params(schema, section["ros__parameters"], path, lines, f"{node_name}.ros__parameters")


def validate_positive(**values: float) -> None:
    """Raise ValueError naming the first of ``values`` that is not > 0 (for ``__post_init__``)."""
    for name, value in values.items():
        if not value > 0.0:
            raise ValueError(f"{name} must be > 0, got {value}")
