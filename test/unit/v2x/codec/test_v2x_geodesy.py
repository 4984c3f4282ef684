"""Local tangent-plane projection against independent WGS84 references."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cav_stack.v2x.geodesy import (
    WGS84_A,
    GeodeticOrigin,
    LocalTangentPlane,
    ecef_to_geodetic,
    geodetic_to_ecef,
    origin_from_sumo_location,
)

WGS84_B = 6356752.314245   # semi-minor axis [m], NIMA TR8350.2 table 3.3


def test_ecef_of_reference_points():
    assert geodetic_to_ecef(0.0, 0.0, 0.0) == pytest.approx((WGS84_A, 0.0, 0.0))
    assert geodetic_to_ecef(math.pi / 2, 0.0, 0.0) == pytest.approx((0.0, 0.0, WGS84_B), abs=1e-6)
    assert geodetic_to_ecef(0.0, math.pi / 2, 100.0) == pytest.approx((0.0, WGS84_A + 100.0, 0.0), abs=1e-6)


@settings(max_examples=300, derandomize=True)
@given(lat=st.floats(-1.5, 1.5), lon=st.floats(-3.14, 3.14), alt=st.floats(-500.0, 9000.0))
def test_ecef_round_trip(lat, lon, alt):
    back = ecef_to_geodetic(*geodetic_to_ecef(lat, lon, alt))
    assert back[0] == pytest.approx(lat, abs=1e-11)
    assert math.remainder(back[1] - lon, 2 * math.pi) == pytest.approx(0.0, abs=1e-11)
    assert back[2] == pytest.approx(alt, abs=1e-5)


def test_small_offsets_follow_radii_of_curvature():
    lat0, lon0 = math.radians(48.0), math.radians(11.0)
    plane = LocalTangentPlane(GeodeticOrigin(lat0, lon0))
    e2 = 6.69437999014e-3
    s2 = math.sin(lat0) ** 2
    meridian = WGS84_A * (1 - e2) / (1 - e2 * s2) ** 1.5
    prime_vertical = WGS84_A / math.sqrt(1 - e2 * s2)
    x, y, _ = plane.geodetic_to_map(lat0 + 1e-6, lon0, 0.0)
    assert y == pytest.approx(meridian * 1e-6, rel=1e-5) and x == pytest.approx(0.0, abs=1e-6)
    x, y, _ = plane.geodetic_to_map(lat0, lon0 + 1e-6, 0.0)
    assert x == pytest.approx(prime_vertical * math.cos(lat0) * 1e-6, rel=1e-5)


@settings(max_examples=200, derandomize=True)
@given(x=st.floats(-50_000, 50_000), y=st.floats(-50_000, 50_000))
def test_map_round_trip_below_a_millimetre(x, y):
    plane = LocalTangentPlane(GeodeticOrigin(math.radians(52.5), math.radians(13.4), 34.0, 100.0, -20.0))
    back = plane.geodetic_to_map(*plane.map_to_geodetic(x, y, 0.0))
    assert back[:2] == pytest.approx((x, y), abs=1e-3)


@settings(max_examples=200, derandomize=True)
@given(x=st.floats(-70_000, 70_000), y=st.floats(-70_000, 70_000))
def test_plane_points_recovered_from_latitude_longitude_only(x, y):
    plane = LocalTangentPlane(GeodeticOrigin(math.radians(-33.9), math.radians(151.2), 60.0))
    lat, lon, _ = plane.map_to_geodetic(x, y, 0.0)   # height on the plane is dropped
    assert plane.geodetic_to_map_xy(lat, lon) == pytest.approx((x, y), abs=1e-5)


def test_origin_is_at_map_anchor():
    origin = GeodeticOrigin(0.9, 0.2, 10.0, map_x=500.0, map_y=300.0)
    assert LocalTangentPlane(origin).map_to_geodetic(500.0, 300.0, 0.0) == pytest.approx((0.9, 0.2, 10.0))


def test_sumo_location():
    assert origin_from_sumo_location((0, 0, 100, 100), (0, 0, 0, 0), "!") is None
    origin = origin_from_sumo_location((0.0, 0.0, 1000.0, 500.0), (13.0, 52.0, 13.02, 52.01),
                                       "+proj=utm +zone=33 +ellps=WGS84 +datum=WGS84 +units=m +no_defs")
    assert (origin.map_x, origin.map_y) == (500.0, 250.0)
    assert math.degrees(origin.latitude) == pytest.approx(52.005)
    assert math.degrees(origin.longitude) == pytest.approx(13.01)


def test_origin_rejects_bad_angles():
    with pytest.raises(ValueError):
        GeodeticOrigin(2.0, 0.0)
