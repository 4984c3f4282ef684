"""Shared fixtures for the V2X codec tests."""
from __future__ import annotations

import math

import pytest

from cav_stack.v2x.geodesy import GeodeticOrigin


@pytest.fixture
def origin() -> GeodeticOrigin:
    """A geodetic origin near the J2735 conformance vector (Wyoming, USA)."""
    return GeodeticOrigin(latitude=math.radians(41.1642), longitude=math.radians(-104.8434), altitude=1880.0)
