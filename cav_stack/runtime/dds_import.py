"""Importing Cyclone DDS (the optional ``dds`` extra) with a clear message when it is missing."""
from __future__ import annotations

import importlib
from types import ModuleType

CYCLONEDDS_MISSING = ("the DDS backend needs the Cyclone DDS Python binding: install the 'dds' extra "
                      "(`pip install cav_stack[dds]`, i.e. `pip install cyclonedds`)")


class DdsUnavailableError(RuntimeError):
    """cyclonedds is not installed."""


def cyclonedds_module(name: str) -> ModuleType:
    """Import ``name`` (a ``cyclonedds`` module) or raise :class:`DdsUnavailableError`."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise DdsUnavailableError(CYCLONEDDS_MISSING) from exc
