"""SAE J2735 (2016-03) raw integer units <-> SI: the one place for these conversions.

Every ``*_to_raw`` function takes an SI value and returns the J2735 integer, saturating
at the standard's "greater than" code where J2735 defines one and returning the
"unavailable" code for ``None`` or NaN. Every ``*_from_raw`` function returns the SI value,
or ``None`` when the raw value is the standard's "unavailable" code.

Angles: geodetic latitude/longitude in radians (WGS84); yaw in radians, REP 103
(counter-clockwise from east, [-pi, pi)); J2735 headings are clockwise from north.
J2735 vehicle axes follow SAE J670 (x forward, y right, z down): yaw rate and curve
radius change sign against REP 103 (y left, z up).
Times: the simulation clock ``t`` [s] is taken as UTC seconds counted from the top of
a UTC hour that is also minute 0 of the year, so secMark (ms in the minute),
TimeMark (0.1 s in the hour) and MinuteOfTheYear follow from ``t`` directly.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from cav_stack.core.frames import wrap_angle

if TYPE_CHECKING:
    from typing_extensions import TypeIs

LATITUDE_UNAVAILABLE = 900000001
LONGITUDE_UNAVAILABLE = 1800000001
ELEVATION_UNAVAILABLE = -4096
SPEED_UNAVAILABLE = 8191
HEADING_UNAVAILABLE = 28800
ACCELERATION_UNAVAILABLE = 2001
SEMI_MAJOR_UNAVAILABLE = 255
ORIENTATION_UNAVAILABLE = 65535
STEERING_UNAVAILABLE = 127
VERTICAL_ACCEL_UNAVAILABLE = -127
SIZE_UNAVAILABLE = 0
TIME_MARK_UNKNOWN = 36001
RADIUS_STRAIGHT = 32767
VERT_OFFSET_UNAVAILABLE = -2048

_LATLON_SCALE = 1.0e7            # 1e-7 deg
_SPEED_LSB = 0.02                # m/s
_HEADING_LSB_DEG = 0.0125        # deg
_ACCEL_LSB = 0.01                # m/s^2
_YAW_RATE_LSB_DEG = 0.01         # deg/s
_ELEVATION_LSB = 0.1             # m
_SEMI_AXIS_LSB = 0.05            # m
_CM = 0.01                       # m
_RADIUS_LSB = 0.1                # m
_TIME_OFFSET_LSB = 0.01          # s
_TIME_GAP_LSB = 0.01             # s
_MS_PER_MINUTE = 60000
_TENTHS_PER_HOUR = 36000
_MINUTES_PER_YEAR = 527040       # 366 days


def _unavailable(value: float | None) -> TypeIs[None]:
    """None or NaN (for the type checker: False means a float)."""
    return value is None or math.isnan(value)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def latitude_to_raw(lat: float | None) -> int:
    """Geodetic latitude [rad] to DE_Latitude (1e-7 deg). Raises ValueError beyond +-90 deg."""
    if _unavailable(lat):
        return LATITUDE_UNAVAILABLE
    raw = round(math.degrees(lat) * _LATLON_SCALE)
    if not -900000000 <= raw <= 900000000:
        raise ValueError(f"latitude {lat} rad is outside +-90 deg")
    return raw


def latitude_from_raw(raw: int) -> float | None:
    """DE_Latitude to geodetic latitude [rad]."""
    return None if raw == LATITUDE_UNAVAILABLE else math.radians(raw / _LATLON_SCALE)


def longitude_to_raw(lon: float | None) -> int:
    """Geodetic longitude [rad] to DE_Longitude (1e-7 deg), wrapped to (-180, 180] deg."""
    if _unavailable(lon):
        return LONGITUDE_UNAVAILABLE
    raw = round(math.degrees(wrap_angle(lon)) * _LATLON_SCALE)
    return 1800000000 if raw <= -1800000000 else raw


def longitude_from_raw(raw: int) -> float | None:
    """DE_Longitude to geodetic longitude [rad]."""
    return None if raw == LONGITUDE_UNAVAILABLE else math.radians(raw / _LATLON_SCALE)


def elevation_to_raw(alt: float | None) -> int:
    """Height above the WGS84 ellipsoid [m] to DE_Elevation (0.1 m), saturating."""
    if _unavailable(alt):
        return ELEVATION_UNAVAILABLE
    return _clamp(round(alt / _ELEVATION_LSB), -4095, 61439)


def elevation_from_raw(raw: int) -> float | None:
    """DE_Elevation to height [m]."""
    return None if raw == ELEVATION_UNAVAILABLE else raw * _ELEVATION_LSB


def speed_to_raw(speed: float | None) -> int:
    """Speed [m/s] (>= 0) to DE_Speed/DE_Velocity (0.02 m/s); 8190 means >= 163.8 m/s."""
    if _unavailable(speed):
        return SPEED_UNAVAILABLE
    if speed < 0.0:
        raise ValueError(f"speed {speed} m/s is negative; J2735 speed is a magnitude")
    return min(8190, round(speed / _SPEED_LSB))


def speed_from_raw(raw: int) -> float | None:
    """DE_Speed/DE_Velocity to speed [m/s]."""
    return None if raw == SPEED_UNAVAILABLE else raw * _SPEED_LSB


def yaw_to_heading_raw(yaw: float | None) -> int:
    """REP 103 yaw [rad] to DE_Heading (0.0125 deg clockwise from north, 0..28799)."""
    if _unavailable(yaw):
        return HEADING_UNAVAILABLE
    heading_deg = (90.0 - math.degrees(yaw)) % 360.0
    return round(heading_deg / _HEADING_LSB_DEG) % HEADING_UNAVAILABLE


def heading_raw_to_yaw(raw: int) -> float | None:
    """DE_Heading to REP 103 yaw [rad] in [-pi, pi)."""
    if raw == HEADING_UNAVAILABLE:
        return None
    return wrap_angle(math.radians(90.0 - raw * _HEADING_LSB_DEG))


def accel_to_raw(accel: float | None) -> int:
    """Acceleration [m/s^2] to DE_Acceleration (0.01 m/s^2), saturating at +-20 m/s^2."""
    if _unavailable(accel):
        return ACCELERATION_UNAVAILABLE
    return _clamp(round(accel / _ACCEL_LSB), -2000, 2000)


def accel_from_raw(raw: int) -> float | None:
    """DE_Acceleration to acceleration [m/s^2]."""
    return None if raw == ACCELERATION_UNAVAILABLE else raw * _ACCEL_LSB


def yaw_rate_to_raw(yaw_rate: float) -> int:
    """REP 103 yaw rate [rad/s, CCW] to DE_YawRate (0.01 deg/s, J670 clockwise), saturating.

    J2735 has no "unavailable" yaw rate; NaN raises ValueError.
    """
    if _unavailable(yaw_rate):
        raise ValueError("yaw rate is required by J2735 (no unavailable code)")
    return _clamp(round(-math.degrees(yaw_rate) / _YAW_RATE_LSB_DEG), -32767, 32767)


def yaw_rate_from_raw(raw: int) -> float:
    """DE_YawRate to REP 103 yaw rate [rad/s, counter-clockwise positive]."""
    return -math.radians(raw * _YAW_RATE_LSB_DEG)


def position_sigma_to_raw(sigma: float | None) -> int:
    """1-sigma horizontal accuracy [m] to DE_SemiMajorAxisAccuracy (0.05 m; 254 >= 12.7 m)."""
    if _unavailable(sigma) or math.isinf(sigma):
        return SEMI_MAJOR_UNAVAILABLE
    if sigma < 0.0:
        raise ValueError(f"position sigma {sigma} m is negative")
    return min(254, round(sigma / _SEMI_AXIS_LSB))


def position_sigma_from_raw(raw: int) -> float | None:
    """DE_SemiMajorAxisAccuracy to 1-sigma accuracy [m]."""
    return None if raw == SEMI_MAJOR_UNAVAILABLE else raw * _SEMI_AXIS_LSB


def vehicle_dimension_to_raw(size: float | None, maximum: int) -> int:
    """Vehicle width/length [m] to cm (DE_VehicleWidth max 1023, DE_VehicleLength max 4095)."""
    if _unavailable(size):
        return SIZE_UNAVAILABLE
    if size < 0.0:
        raise ValueError(f"vehicle dimension {size} m is negative")
    return min(maximum, round(size / _CM))


def vehicle_dimension_from_raw(raw: int) -> float | None:
    """DE_VehicleWidth/DE_VehicleLength [cm] to metres; 0 is unavailable."""
    return None if raw == SIZE_UNAVAILABLE else raw * _CM


def centimetres_to_raw(value: float, low: int, high: int) -> int:
    """Offset [m] to an integer of 1 cm, raising ValueError outside [low, high] cm."""
    raw = round(value / _CM)
    if not low <= raw <= high:
        raise ValueError(f"offset {value} m is outside [{low * _CM}, {high * _CM}] m")
    return raw


def centimetres_from_raw(raw: int) -> float:
    """Integer of 1 cm to metres."""
    return raw * _CM


def curve_radius_to_raw(radius_left: float | None) -> int:
    """REP 103 curve radius [m, positive = centre on the left; None = straight] to
    DE_RadiusOfCurvature (10 cm, J670 positive right; 32767 straight)."""
    if radius_left is None or math.isnan(radius_left) or math.isinf(radius_left):
        return RADIUS_STRAIGHT
    return _clamp(round(-radius_left / _RADIUS_LSB), -32767, 32766)


def curve_radius_from_raw(raw: int) -> float | None:
    """DE_RadiusOfCurvature to REP 103 curve radius [m, positive left]; None when straight."""
    return None if raw == RADIUS_STRAIGHT else -raw * _RADIUS_LSB


def time_offset_to_raw(dt: float, low: int, high: int) -> int:
    """Duration [s] to an integer of 10 ms (DE_TimeOffset and PlanTimeOffset), raising outside."""
    raw = round(dt / _TIME_OFFSET_LSB)
    if not low <= raw <= high:
        raise ValueError(f"time offset {dt} s is outside [{low * _TIME_OFFSET_LSB}, {high * _TIME_OFFSET_LSB}] s")
    return raw


def time_offset_from_raw(raw: int) -> float:
    """Integer of 10 ms to seconds."""
    return raw * _TIME_OFFSET_LSB


def time_gap_to_raw(gap: float) -> int:
    """Time gap [s] to TimeGap (0.01 s, 0..10 s), saturating."""
    return _clamp(round(gap / _TIME_GAP_LSB), 0, 1000)


def time_gap_from_raw(raw: int) -> float:
    """TimeGap to seconds."""
    return raw * _TIME_GAP_LSB


def sec_mark_from_time(t: float) -> int:
    """Simulation/UTC time [s] to DE_DSecond: milliseconds within the minute (0..59999)."""
    return math.floor(t * 1000.0 + 0.5) % _MS_PER_MINUTE


def time_from_sec_mark(sec_mark: int, now: float) -> float:
    """The time [s] nearest to ``now`` (within +-30 s) whose secMark is ``sec_mark``.

    Raises ValueError for the unavailable/leap codes (>= 60000).
    """
    if sec_mark >= _MS_PER_MINUTE:
        raise ValueError(f"secMark {sec_mark} carries no time within the minute")
    now_ms = math.floor(now * 1000.0 + 0.5)
    delta = (sec_mark - now_ms) % _MS_PER_MINUTE
    if delta > _MS_PER_MINUTE // 2:
        delta -= _MS_PER_MINUTE
    return (now_ms + delta) / 1000.0


def time_mark_from_time(t: float | None) -> int:
    """Simulation/UTC time [s] to DE_TimeMark: tenths of a second within the hour."""
    if t is None:
        return TIME_MARK_UNKNOWN
    return math.floor(t * 10.0 + 0.5) % _TENTHS_PER_HOUR


def time_from_time_mark(mark: int, now: float) -> float | None:
    """The time [s] nearest to ``now`` (within +-30 min) whose TimeMark is ``mark``.

    None for the unknown code 36001; the leap-second code 36000 maps to the next hour.
    """
    if mark == TIME_MARK_UNKNOWN:
        return None
    now_tenths = math.floor(now * 10.0 + 0.5)
    delta = (mark - now_tenths) % _TENTHS_PER_HOUR
    if delta > _TENTHS_PER_HOUR // 2:
        delta -= _TENTHS_PER_HOUR
    return (now_tenths + delta) / 10.0


def minute_of_year_from_time(t: float) -> int:
    """Simulation/UTC time [s] to DE_MinuteOfTheYear."""
    return math.floor(t / 60.0) % _MINUTES_PER_YEAR
