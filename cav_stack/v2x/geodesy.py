"""Local tangent-plane projection between the ``map`` frame and WGS84 geodetic coordinates.

The ``map`` frame (x east, y north, z up; REP 105) is taken as the East-North-Up plane
tangent to the WGS84 ellipsoid at a geodetic origin, shifted so that the origin sits at
map point (``map_x``, ``map_y``). Conversions go through Earth-centred Earth-fixed (ECEF)
coordinates and are exact to floating-point precision (round trip < 1 mm within 100 km).
Geodetic angles are in radians, heights in metres above the ellipsoid.

WGS84 constants: NIMA TR8350.2 (3rd ed.), table 3.1.
ECEF -> geodetic: closed form of Vermeille (2002), J. Geodesy 76, 451-454.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

WGS84_A = 6378137.0                      # semi-major axis [m]
WGS84_F = 1.0 / 298.257223563            # flattening
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)     # first eccentricity squared


@dataclass(frozen=True)
class GeodeticOrigin:
    """Geodetic point where the ``map`` frame touches the ellipsoid.

    latitude, longitude [rad] (WGS84); altitude [m] above the ellipsoid;
    map_x, map_y [m]: where that point lies in ``map`` (0, 0 unless the map frame is
    offset, as for SUMO nets anchored at their boundary centre).
    """

    latitude: float
    longitude: float
    altitude: float = 0.0
    map_x: float = 0.0
    map_y: float = 0.0

    def __post_init__(self) -> None:
        if not abs(self.latitude) <= math.pi / 2.0:
            raise ValueError(f"origin latitude {self.latitude} rad is outside +-pi/2")
        if not abs(self.longitude) <= math.pi:
            raise ValueError(f"origin longitude {self.longitude} rad is outside +-pi")


def origin_from_sumo_location(conv_boundary: tuple[float, float, float, float],
                              orig_boundary: tuple[float, float, float, float],
                              proj_parameter: str) -> GeodeticOrigin | None:
    """Geodetic origin of a SUMO net from its ``<location>`` element.

    conv_boundary: (xmin, ymin, xmax, ymax) [m] of the net in SUMO (= ``map``) coordinates;
    orig_boundary: (lon_min, lat_min, lon_max, lat_max) [deg] of the original geodetic data;
    proj_parameter: the net's ``projParameter`` (``"!"`` means not geo-referenced).
    Returns None for nets that are not geo-referenced (use the fixed origin from the
    parameter file then). The tangent plane touches at the boundary centre; it differs from
    SUMO's UTM grid by the UTM scale factor and grid convergence, which does not matter
    while every station uses the same origin. For exact geodetic positions, the sim bridge
    can build the origin from ``traci.simulation.convertGeo`` instead.
    """
    if proj_parameter.strip() == "!":
        return None
    xmin, ymin, xmax, ymax = conv_boundary
    lon_min, lat_min, lon_max, lat_max = orig_boundary
    return GeodeticOrigin(latitude=math.radians(0.5 * (lat_min + lat_max)),
                          longitude=math.radians(0.5 * (lon_min + lon_max)),
                          map_x=0.5 * (xmin + xmax), map_y=0.5 * (ymin + ymax))


def geodetic_to_ecef(lat: float, lon: float, alt: float) -> tuple[float, float, float]:
    """WGS84 geodetic (lat, lon [rad], alt [m]) to ECEF (x, y, z) [m]."""
    sin_lat, cos_lat = math.sin(lat), math.cos(lat)
    n = WGS84_A / math.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    return ((n + alt) * cos_lat * math.cos(lon),
            (n + alt) * cos_lat * math.sin(lon),
            (n * (1.0 - WGS84_E2) + alt) * sin_lat)


def ecef_to_geodetic(x: float, y: float, z: float) -> tuple[float, float, float]:
    """ECEF (x, y, z) [m] to WGS84 geodetic (lat, lon [rad], alt [m]) (Vermeille 2002)."""
    e4 = WGS84_E2 * WGS84_E2
    p = (x * x + y * y) / (WGS84_A * WGS84_A)
    q = (1.0 - WGS84_E2) * z * z / (WGS84_A * WGS84_A)
    r = (p + q - e4) / 6.0
    s = e4 * p * q / (4.0 * r ** 3)
    t = (1.0 + s + math.sqrt(s * (2.0 + s))) ** (1.0 / 3.0)
    u = r * (1.0 + t + 1.0 / t)
    v = math.sqrt(u * u + e4 * q)
    w = WGS84_E2 * (u + v - q) / (2.0 * v)
    k = math.sqrt(u + v + w * w) - w
    d = k * math.hypot(x, y) / (k + WGS84_E2)
    lat = 2.0 * math.atan2(z, d + math.hypot(d, z))
    lon = math.atan2(y, x)
    alt = (k + WGS84_E2 - 1.0) / k * math.hypot(d, z)
    return lat, lon, alt


class LocalTangentPlane:
    """East-North-Up projection around a :class:`GeodeticOrigin` (see module docstring)."""

    def __init__(self, origin: GeodeticOrigin):
        self.origin = origin
        self._ecef0 = geodetic_to_ecef(origin.latitude, origin.longitude, origin.altitude)
        sl, cl = math.sin(origin.latitude), math.cos(origin.latitude)
        so, co = math.sin(origin.longitude), math.cos(origin.longitude)
        # Rows: east, north, up unit vectors in ECEF.
        self._rot = ((-so, co, 0.0), (-sl * co, -sl * so, cl), (cl * co, cl * so, sl))

    def map_to_geodetic(self, x: float, y: float, z: float = 0.0) -> tuple[float, float, float]:
        """``map`` point (x east, y north, z up) [m] to (lat, lon [rad], alt [m])."""
        e, n, u = x - self.origin.map_x, y - self.origin.map_y, z
        r = self._rot
        x0, y0, z0 = self._ecef0
        return ecef_to_geodetic(x0 + r[0][0] * e + r[1][0] * n + r[2][0] * u,
                                y0 + r[0][1] * e + r[1][1] * n + r[2][1] * u,
                                z0 + r[0][2] * e + r[1][2] * n + r[2][2] * u)

    def geodetic_to_map(self, lat: float, lon: float, alt: float = 0.0) -> tuple[float, float, float]:
        """(lat, lon [rad], alt [m]) to the ``map`` point (x, y, z) [m]."""
        px, py, pz = geodetic_to_ecef(lat, lon, alt)
        x0, y0, z0 = self._ecef0
        dx, dy, dz = px - x0, py - y0, pz - z0
        r = self._rot
        return (r[0][0] * dx + r[0][1] * dy + r[0][2] * dz + self.origin.map_x,
                r[1][0] * dx + r[1][1] * dy + r[1][2] * dz + self.origin.map_y,
                r[2][0] * dx + r[2][1] * dy + r[2][2] * dz)

    def geodetic_to_map_xy(self, lat: float, lon: float) -> tuple[float, float]:
        """``map`` (x, y) [m] of the point on the plane z = 0 with this (lat, lon) [rad].

        Inverse of :meth:`map_to_geodetic` for 2D positions whose height is not known:
        the height is solved so that z = 0 (two fixed-point steps; converged to < 10 um
        within 100 km).
        """
        alt = self.origin.altitude
        for _ in range(2):
            _, _, z = self.geodetic_to_map(lat, lon, alt)
            alt -= z
        x, y, _ = self.geodetic_to_map(lat, lon, alt)
        return x, y

