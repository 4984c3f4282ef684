"""Shared fixtures for the V2X codec tests."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from cav_stack.v2x.geodesy import GeodeticOrigin

REPO_ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def conformance_dir() -> Path:
    """``../shared/conformance`` relative to the repository root (CI clones shared/ beside it)."""
    shared = REPO_ROOT.parent / "shared"
    if not shared.is_dir():
        pytest.skip(f"conformance material absent: {shared} does not exist")
    return shared / "conformance"


@pytest.fixture
def origin() -> GeodeticOrigin:
    """A geodetic origin near the J2735 conformance vector (Wyoming, USA)."""
    return GeodeticOrigin(latitude=math.radians(41.1642), longitude=math.radians(-104.8434), altitude=1880.0)
