"""Locating the package's data folders (controllers/, sensors/, v2x/, scenarios/, launch/).

From a source checkout they sit beside the ``cav_stack`` package; installed (pip or colcon)
they are in ``<prefix>/share/cav_stack``.
"""
from __future__ import annotations

import sys
from pathlib import Path

DATA_FOLDERS = ("controllers", "sensors", "v2x", "scenarios", "launch")


def share_root() -> Path:
    """The folder holding controllers/, sensors/, v2x/, scenarios/ and launch/."""
    source_tree = Path(__file__).resolve().parents[2]
    if (source_tree / "controllers").is_dir() and (source_tree / "package.xml").is_file():
        return source_tree
    installed = Path(sys.prefix) / "share" / "cav_stack"
    if installed.is_dir():
        return installed
    raise FileNotFoundError(
        f"cav_stack data folders not found in {source_tree} nor {installed}; reinstall the package")


def share_path(*parts: str) -> Path:
    """Path of a file in the data folders, e.g. ``share_path('controllers', 'vehicle.yaml')``."""
    return share_root().joinpath(*parts)
