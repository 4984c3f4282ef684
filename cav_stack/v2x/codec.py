"""UPER codec for SAE J2735 (2016-03) MessageFrames: BSM, SPaT, MAP, RSA and CAV maneuver sharing.

Two layers:

* raw: :func:`encode_frame_raw` / :func:`decode_frame_raw` move between bytes and the
  J2735 integer values (asn1tools dicts), with the open types (MessageFrame.value,
  BSM Part II content) encoded/decoded in place. Used for conformance vectors.
* SI: ``encode_bsm`` / ``encode_spat`` / ``encode_map`` / ``encode_road_alert`` / ``encode_maneuver`` take SI
  messages in ``map`` and :func:`decode_frame` returns them; raw<->SI conversion is done
  only by :mod:`cav_stack.v2x.j2735_units`, map<->WGS84 by :mod:`cav_stack.v2x.geodesy`.

Malformed input to a decoder raises :class:`V2xDecodeError` (a ValueError), and only in the
documented cases: bytes the ASN.1 decoder refuses (:data:`ASN1_DECODE_ERRORS`), trailing bytes,
an unsupported messageId, and per message the values the SI conversion states it cannot use
(e.g. an unavailable position where one is required, a secMark without a time). Any other
exception while decoding is a bug of the conversion and propagates (the fuzz tests fail on it).
SI content that cannot be encoded raises :class:`V2xEncodeError`.
The ASN.1 modules (:data:`ASN1_MODULES`) are read from ``v2x/asn1/`` at the repository
root and compiled once, on first use (FileNotFoundError, not a decode error, when they are missing).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import asn1tools

from cav_stack.core.share import share_path
from cav_stack.core.messages import MAP_FRAME, GapResponseReason, Header, TrajectoryPoint, V2xVehicleReport
from cav_stack.v2x import j2735_units as units
from cav_stack.v2x.ieee1609dot2 import DECODE_ERRORS as ASN1_DECODE_ERRORS
from cav_stack.v2x.geodesy import GeodeticOrigin, LocalTangentPlane
from cav_stack.v2x.messages import (
    DecodedBsm,
    IntersectionMap,
    IntersectionSignalState,
    LaneConnection,
    GapResponse,
    ManeuverIntent,
    ManeuverShare,
    MapLane,
    MapMessage,
    Maneuver,
    MovementEvent,
    MovementPhase,
    PathHistoryPoint,
    PathPrediction,
    RoadAlert,
    SignalGroupState,
    SpatMessage,
)

#: The modules this codec compiles (other modules in the folder belong to other layers).
ASN1_MODULES = ("j2735_common.asn", "j2735_bsm.asn", "j2735_spat_map.asn", "j2735_rsa.asn", "cav_maneuver.asn")

#: J2735 DSRCmsgID of each supported message -> ASN.1 type carried in MessageFrame.value.
MESSAGE_TYPES: dict[int, str] = {
    18: "MapData",
    19: "SPAT",
    20: "BasicSafetyMessage",
    27: "RoadSideAlert",
    240: "ManeuverSharingMessage",   # testMessage00, see cav_maneuver.asn
}
MESSAGE_IDS: dict[str, int] = {name: msg_id for msg_id, name in MESSAGE_TYPES.items()}
#: Short names used in :class:`cav_stack.core.messages.V2xFrame.message_type`.
MESSAGE_NAMES: dict[str, str] = {
    "MapData": "MAP", "SPAT": "SPAT", "BasicSafetyMessage": "BSM", "RoadSideAlert": "RSA",
    "ManeuverSharingMessage": "MANEUVER",
}
PART_II_VEHICLE_SAFETY = 0          # DE_PartII-Id vehicleSafetyExt

_BRAKES_UNAVAILABLE = {
    "wheelBrakes": (b"\x80", 5), "traction": "unavailable", "abs": "unavailable",
    "scs": "unavailable", "brakeBoost": "unavailable", "auxBrakes": "unavailable",
}
_OFFSET_LL_MAX = 131070             # OffsetLL-B18: +-131071 saturated, -131072 unavailable
_NODE_XY_CHOICES = (("node-XY1", 511), ("node-XY2", 1023), ("node-XY3", 2047),
                    ("node-XY4", 4095), ("node-XY5", 8191), ("node-XY6", 32767))
_LANE_BITS = 10                     # LaneSharing
_STATUS_BITS = 16                   # IntersectionStatusObject
_MANEUVER_BITS = 12                 # AllowedManeuvers
_MANEUVER_BIT_INDEX = {Maneuver.STRAIGHT: 0, Maneuver.LEFT: 1, Maneuver.RIGHT: 2, Maneuver.U_TURN: 3}
_PLAN_OFFSET_CM = 32767
_PLAN_TIME_MAX = 1000               # PlanTimeOffset, 10 ms
_HEADING_SLICES = 16                # HeadingSlice: 22.5 deg slices clockwise from north

T = TypeVar("T")
#: A J2735 value as asn1tools reads and writes it (field name -> value).
AsnValue = dict[str, Any]


class V2xDecodeError(ValueError):
    """Bytes that are not a valid, supported J2735 MessageFrame (any malformation)."""


class V2xEncodeError(ValueError):
    """SI content that cannot be represented in the J2735 message (out of range, too long)."""


@functools.cache
def compiled_modules() -> Any:
    """The compiled ASN.1 modules (compiled on first use, then cached)."""
    files = [share_path("v2x", "asn1", name) for name in ASN1_MODULES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"ASN.1 modules missing: {', '.join(missing)}")
    return asn1tools.compile_files([str(f) for f in files], "uper")


@functools.lru_cache(maxsize=16)
def _plane(origin: GeodeticOrigin) -> LocalTangentPlane:
    return LocalTangentPlane(origin)


def _guard_encode(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except V2xEncodeError:
        raise
    except Exception as exc:  # asn1tools errors and range errors from j2735_units
        raise V2xEncodeError(f"cannot encode: {type(exc).__name__}: {exc}") from exc


def _asn1(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an asn1tools call on untrusted content; its documented failures are malformed frames."""
    try:
        return fn(*args, **kwargs)
    except ASN1_DECODE_ERRORS as exc:
        raise V2xDecodeError(f"malformed V2X frame: {type(exc).__name__}: {exc}") from exc


# ---------------------------------------------------------------------------------------
# Raw layer
# ---------------------------------------------------------------------------------------

def _encode_raw(type_name: str, value: AsnValue, check_constraints: bool = True) -> bytes:
    """The MessageFrame of ``value``; check_constraints False skips asn1tools' range and size
    checks, whose UPER encoder otherwise writes an out-of-range integer into the neighbouring
    bits: only for values built by :func:`_encode_si`'s callers."""
    spec = compiled_modules()
    if type_name == "BasicSafetyMessage" and "partII" in value:
        parts = []
        for part in value["partII"]:
            content = part["partII-Value"]
            if isinstance(content, dict):
                if part["partII-Id"] != PART_II_VEHICLE_SAFETY:
                    raise V2xEncodeError(f"no ASN.1 type for partII-Id {part['partII-Id']}")
                content = spec.encode("VehicleSafetyExtensions", content, check_constraints=check_constraints)
            parts.append({"partII-Id": part["partII-Id"], "partII-Value": content})
        value = {**value, "partII": parts}
    inner = spec.encode(type_name, value, check_constraints=check_constraints)
    frame: bytes = spec.encode("MessageFrame", {"messageId": MESSAGE_IDS[type_name], "value": inner},
                               check_constraints=check_constraints)
    return frame


def _encode_si(type_name: str, value: AsnValue) -> bytes:
    """UPER MessageFrame of a ``value`` built by :func:`_bsm_value` or :func:`_maneuver_value`,
    without asn1tools' constraint check (a third of the encoding time): every field of those
    values is a constant, saturated by its :mod:`~cav_stack.v2x.j2735_units` conversion, or
    range- and size-checked where it is built (V2xEncodeError), so the check could never fail.
    Raises V2xEncodeError."""
    compiled_modules()
    return _guard_encode(_encode_raw, type_name, value, False)


def encode_frame_raw(type_name: str, value: AsnValue) -> bytes:
    """UPER MessageFrame carrying ``value`` (raw J2735 integers) of ASN.1 type ``type_name``.

    type_name: a value of :data:`MESSAGE_TYPES`. BSM Part II entries whose ``partII-Value``
    is a dict are encoded as VehicleSafetyExtensions (partII-Id 0); bytes pass through.
    Raises V2xEncodeError.
    """
    if type_name not in MESSAGE_IDS:
        raise V2xEncodeError(f"unsupported message type {type_name!r}")
    compiled_modules()
    return _guard_encode(_encode_raw, type_name, value)


def _as_bytes(data: Any) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise V2xDecodeError(f"expected bytes, got {type(data).__name__}")
    return bytes(data)


def _decode_raw(data: bytes) -> tuple[str, AsnValue]:
    data = _as_bytes(data)
    spec = compiled_modules()
    frame = _asn1(spec.decode, "MessageFrame", data, check_constraints=True)
    if len(_asn1(spec.encode, "MessageFrame", frame)) != len(data):
        raise V2xDecodeError("trailing bytes after the MessageFrame")
    type_name = MESSAGE_TYPES.get(frame["messageId"])
    if type_name is None:
        raise V2xDecodeError(f"unsupported messageId {frame['messageId']}")
    value = _asn1(spec.decode, type_name, frame["value"], check_constraints=True)
    if type_name == "BasicSafetyMessage" and "partII" in value:
        value["partII"] = [
            {"partII-Id": part["partII-Id"],
             "partII-Value": _asn1(spec.decode, "VehicleSafetyExtensions", part["partII-Value"],
                                   check_constraints=True)
             if part["partII-Id"] == PART_II_VEHICLE_SAFETY else part["partII-Value"]}
            for part in value["partII"]
        ]
    return type_name, value


def decode_frame_raw(data: bytes) -> tuple[str, AsnValue]:
    """Decode a UPER MessageFrame to (ASN.1 type name, raw value dict).

    Part II VehicleSafetyExtensions are decoded in place. Raises V2xDecodeError.
    """
    compiled_modules()
    return _decode_raw(data)


def message_type_of(data: bytes) -> str:
    """Short name (``BSM``, ``SPAT``, ``MAP``, ``RSA``, ``MANEUVER``) of an encoded frame.

    Raises V2xDecodeError for malformed frames or unsupported message IDs.
    """
    frame = _asn1(compiled_modules().decode, "MessageFrame", _as_bytes(data), check_constraints=True)
    if frame["messageId"] not in MESSAGE_TYPES:
        raise V2xDecodeError(f"unsupported messageId {frame['messageId']}")
    return MESSAGE_NAMES[MESSAGE_TYPES[frame["messageId"]]]


# ---------------------------------------------------------------------------------------
# SI helpers
# ---------------------------------------------------------------------------------------

def _temporary_id(station_id: int) -> bytes:
    if not 0 <= station_id <= 0xFFFFFFFF:
        raise V2xEncodeError(f"station id {station_id} does not fit a 4-byte TemporaryID")
    return station_id.to_bytes(4, "big")


def _bits(indices: Sequence[int], size: int) -> tuple[bytes, int]:
    """asn1tools BIT STRING value of ``size`` bits with the named bit ``indices`` set."""
    n_bytes = (size + 7) // 8
    value = 0
    for index in indices:
        value |= 1 << (8 * n_bytes - 1 - index)
    return value.to_bytes(n_bytes, "big"), size


def _bit_set(bits: tuple[bytes, int], index: int) -> bool:
    data, size = bits
    if index >= size:
        return False
    return bool(data[index // 8] & (0x80 >> (index % 8)))


def _maneuver_bits(maneuvers: frozenset[Maneuver]) -> tuple[bytes, int]:
    return _bits([_MANEUVER_BIT_INDEX[m] for m in maneuvers], _MANEUVER_BITS)


def _maneuvers_from_bits(bits: tuple[bytes, int]) -> frozenset[Maneuver]:
    return frozenset(m for m, i in _MANEUVER_BIT_INDEX.items() if _bit_set(bits, i))


def _geodetic(plane: LocalTangentPlane, x: float, y: float, z: float = 0.0) -> tuple[int, int]:
    lat, lon, _ = plane.map_to_geodetic(x, y, z)
    return units.latitude_to_raw(lat), units.longitude_to_raw(lon)


def _map_xy(plane: LocalTangentPlane, lat_raw: int, lon_raw: int) -> tuple[float, float]:
    lat, lon = units.latitude_from_raw(lat_raw), units.longitude_from_raw(lon_raw)
    if lat is None or lon is None:
        return math.nan, math.nan
    return plane.geodetic_to_map_xy(lat, lon)


def _required(value: T | None, what: str) -> T:
    if value is None:
        raise V2xDecodeError(f"{what} is unavailable")
    return value


def _reference_plane(plane: LocalTangentPlane, lat_raw: int, lon_raw: int) -> LocalTangentPlane:
    """Tangent plane at a transmitted (quantised) reference point, touching the ``map``
    plane there; J2735 east/north offsets (MAP nodes, planned points) are expressed in it."""
    lat = _required(units.latitude_from_raw(lat_raw), "reference latitude")
    lon = _required(units.longitude_from_raw(lon_raw), "reference longitude")
    _, _, alt = plane.map_to_geodetic(*plane.geodetic_to_map_xy(lat, lon), 0.0)
    return LocalTangentPlane(GeodeticOrigin(lat, lon, alt))


def _offset_cm(ref_plane: LocalTangentPlane, plane: LocalTangentPlane, x: float, y: float) -> tuple[float, float]:
    """East/north offset [m] of ``map`` point (x, y) in ``ref_plane``."""
    east, north, _ = ref_plane.geodetic_to_map(*plane.map_to_geodetic(x, y, 0.0))
    return east, north


def _from_offset(ref_plane: LocalTangentPlane, plane: LocalTangentPlane, east_cm: int, north_cm: int
                 ) -> tuple[float, float]:
    """``map`` (x, y) of an east/north offset [cm] in ``ref_plane``."""
    lat, lon, alt = ref_plane.map_to_geodetic(units.centimetres_from_raw(east_cm),
                                              units.centimetres_from_raw(north_cm), 0.0)
    x, y, _ = plane.geodetic_to_map(lat, lon, alt)
    return x, y


# ---------------------------------------------------------------------------------------
# BSM
# ---------------------------------------------------------------------------------------

def _bsm_value(report: V2xVehicleReport, plane: LocalTangentPlane, altitude: float | None,
               path_history: Sequence[PathHistoryPoint],
               path_prediction: PathPrediction | None) -> AsnValue:
    if not (math.isfinite(report.x) and math.isfinite(report.y)):
        raise V2xEncodeError("report position must be finite")
    if not 0 <= report.msg_count <= 127:
        raise V2xEncodeError(f"msg_count {report.msg_count} is outside 0..127")
    lat, lon = _geodetic(plane, report.x, report.y)
    sigma = units.position_sigma_to_raw(report.position_sigma)
    core = {
        "msgCnt": report.msg_count,
        "id": _temporary_id(report.station_id),
        "secMark": units.sec_mark_from_time(report.header.stamp),
        "lat": lat,
        "long": lon,
        "elev": units.elevation_to_raw(altitude),
        "accuracy": {"semiMajor": sigma, "semiMinor": sigma,
                     "orientation": units.ORIENTATION_UNAVAILABLE},
        "transmission": "unavailable",
        "speed": units.speed_to_raw(report.speed),
        "heading": units.yaw_to_heading_raw(report.yaw),
        "angle": units.STEERING_UNAVAILABLE,
        "accelSet": {"long": units.accel_to_raw(report.accel),
                     "lat": units.ACCELERATION_UNAVAILABLE,
                     "vert": units.VERTICAL_ACCEL_UNAVAILABLE,
                     "yaw": units.yaw_rate_to_raw(report.yaw_rate)},
        "brakes": dict(_BRAKES_UNAVAILABLE),
        "size": {"width": units.vehicle_dimension_to_raw(report.width, 1023),
                 "length": units.vehicle_dimension_to_raw(report.length, 4095)},
    }
    value: AsnValue = {"coreData": core}
    extensions: AsnValue = {}
    if path_history:
        if len(path_history) > 23:
            raise V2xEncodeError(f"{len(path_history)} path history points; J2735 allows 23")
        crumbs = []
        for point in path_history:
            p_lat, p_lon = _geodetic(plane, point.x, point.y)
            d_lat, d_lon = p_lat - lat, p_lon - lon
            if max(abs(d_lat), abs(d_lon)) > _OFFSET_LL_MAX:
                raise V2xEncodeError("path history point farther than OffsetLL-B18 allows (~1.4 km)")
            crumb = {"latOffset": d_lat, "lonOffset": d_lon,
                     "elevationOffset": units.VERT_OFFSET_UNAVAILABLE,
                     "timeOffset": units.time_offset_to_raw(point.age, 1, 65534)}
            if point.speed is not None:
                crumb["speed"] = units.speed_to_raw(point.speed)
            crumbs.append(crumb)
        extensions["pathHistory"] = {"crumbData": crumbs}
    if path_prediction is not None:
        if not 0.0 <= path_prediction.confidence <= 1.0:
            raise V2xEncodeError(f"path prediction confidence {path_prediction.confidence} outside [0, 1]")
        extensions["pathPrediction"] = {
            "radiusOfCurve": units.curve_radius_to_raw(path_prediction.radius),
            "confidence": round(path_prediction.confidence * 200.0)}
    if extensions:
        value["partII"] = [{"partII-Id": PART_II_VEHICLE_SAFETY, "partII-Value": extensions}]
    return value


def encode_bsm(report: V2xVehicleReport, *, origin: GeodeticOrigin, altitude: float | None = None,
               path_history: Sequence[PathHistoryPoint] = (),
               path_prediction: PathPrediction | None = None) -> bytes:
    """Encode a vehicle's own report as a UPER MessageFrame with a BasicSafetyMessage.

    report: SI content in ``map``; ``header.stamp`` gives secMark, ``station_id`` the
    4-byte TemporaryID, ``msg_count`` the MsgCount; NaN kinematics/sizes and an infinite
    ``position_sigma`` are sent as "unavailable". origin: geodetic origin of ``map``.
    altitude: height above the ellipsoid [m] or None (unavailable).
    path_history: up to 23 breadcrumbs, offsets taken from the current position;
    path_prediction: sent with the path history in Part II (VehicleSafetyExtensions).
    Raises V2xEncodeError.
    """
    value = _guard_encode(_bsm_value, report, _plane(origin), altitude, path_history, path_prediction)
    return _encode_si("BasicSafetyMessage", value)


def _decoded_bsm(value: AsnValue, plane: LocalTangentPlane, now: float) -> DecodedBsm:
    core = value["coreData"]
    unavailable: set[str] = set()

    def si(field_name: str, converted: float | None, missing: float = math.nan) -> float:
        if converted is None:
            unavailable.add(field_name)
            return missing
        return converted

    x, y = _map_xy(plane, core["lat"], core["long"])
    if math.isnan(x):
        unavailable.update(("x", "y"))
    if core["secMark"] >= 60000:
        unavailable.add("header.stamp")
        stamp = now
    else:
        stamp = units.time_from_sec_mark(core["secMark"], now)
    report = V2xVehicleReport(
        header=Header(stamp=stamp, frame_id=MAP_FRAME),
        station_id=int.from_bytes(core["id"], "big"),
        msg_count=core["msgCnt"],
        x=x, y=y,
        yaw=si("yaw", units.heading_raw_to_yaw(core["heading"])),
        speed=si("speed", units.speed_from_raw(core["speed"])),
        accel=si("accel", units.accel_from_raw(core["accelSet"]["long"])),
        yaw_rate=units.yaw_rate_from_raw(core["accelSet"]["yaw"]),
        length=si("length", units.vehicle_dimension_from_raw(core["size"]["length"])),
        width=si("width", units.vehicle_dimension_from_raw(core["size"]["width"])),
        position_sigma=si("position_sigma", units.position_sigma_from_raw(core["accuracy"]["semiMajor"]),
                          math.inf),
    )
    history: list[PathHistoryPoint] = []
    prediction = None
    for part in value.get("partII", ()):
        if part["partII-Id"] != PART_II_VEHICLE_SAFETY:
            continue
        ext = part["partII-Value"]
        for crumb in ext.get("pathHistory", {}).get("crumbData", ()):
            d_lat, d_lon = crumb["latOffset"], crumb["lonOffset"]
            if math.isnan(x) or max(abs(d_lat), abs(d_lon)) > _OFFSET_LL_MAX:
                continue   # unavailable or saturated offset: no usable position
            px, py = _map_xy(plane, core["lat"] + d_lat, core["long"] + d_lon)
            speed = units.speed_from_raw(crumb["speed"]) if "speed" in crumb else None
            history.append(PathHistoryPoint(age=units.time_offset_from_raw(crumb["timeOffset"]),
                                            x=px, y=py, speed=speed))
        if "pathPrediction" in ext:
            pred = ext["pathPrediction"]
            prediction = PathPrediction(radius=units.curve_radius_from_raw(pred["radiusOfCurve"]),
                                        confidence=pred["confidence"] / 200.0)
    return DecodedBsm(report=report, unavailable=frozenset(unavailable),
                      altitude=units.elevation_from_raw(core["elev"]),
                      path_history=tuple(history), path_prediction=prediction)


# ---------------------------------------------------------------------------------------
# SPaT
# ---------------------------------------------------------------------------------------

def _spat_value(spat: SpatMessage) -> AsnValue:
    stamp = spat.header.stamp
    intersections = []
    for inter in spat.intersections:
        states = []
        for group in inter.groups:
            if not 1 <= len(group.events) <= 16:
                raise V2xEncodeError(f"signal group {group.signal_group}: 1..16 events required")
            events = []
            for event in group.events:
                entry: AsnValue = {"eventState": event.phase.value}
                if event.min_end_time is not None:
                    timing = {"minEndTime": units.time_mark_from_time(event.min_end_time)}
                    if event.max_end_time is not None:
                        timing["maxEndTime"] = units.time_mark_from_time(event.max_end_time)
                    if event.likely_time is not None:
                        timing["likelyTime"] = units.time_mark_from_time(event.likely_time)
                    entry["timing"] = timing
                events.append(entry)
            states.append({"signalGroup": group.signal_group, "state-time-speed": events})
        intersections.append({
            "id": {"id": inter.intersection_id},
            "revision": inter.revision,
            "status": _bits([], _STATUS_BITS),
            "moy": units.minute_of_year_from_time(stamp),
            "timeStamp": units.sec_mark_from_time(stamp),
            "states": states,
        })
    return {"timeStamp": units.minute_of_year_from_time(stamp), "intersections": intersections}


def encode_spat(spat: SpatMessage) -> bytes:
    """Encode signal phase and timing as a UPER MessageFrame with a J2735 SPAT.

    Absolute times become TimeMarks (0.1 s within the hour), ``header.stamp`` becomes
    MinuteOfTheYear + DSecond. Raises V2xEncodeError.
    """
    return encode_frame_raw("SPAT", _guard_encode(_spat_value, spat))


def _decoded_spat(value: AsnValue, now: float) -> SpatMessage:
    stamp = now
    intersections = []
    for index, inter in enumerate(value["intersections"]):
        if index == 0 and "timeStamp" in inter and inter["timeStamp"] < 60000:
            stamp = units.time_from_sec_mark(inter["timeStamp"], now)
        groups = []
        for state in inter["states"]:
            events = []
            for event in state["state-time-speed"]:
                timing = event.get("timing", {})
                events.append(MovementEvent(
                    phase=MovementPhase(event["eventState"]),
                    min_end_time=units.time_from_time_mark(timing["minEndTime"], now) if timing else None,
                    max_end_time=units.time_from_time_mark(timing["maxEndTime"], now)
                    if "maxEndTime" in timing else None,
                    likely_time=units.time_from_time_mark(timing["likelyTime"], now)
                    if "likelyTime" in timing else None))
            groups.append(SignalGroupState(signal_group=state["signalGroup"], events=tuple(events)))
        intersections.append(IntersectionSignalState(intersection_id=inter["id"]["id"],
                                                     revision=inter["revision"], groups=tuple(groups)))
    return SpatMessage(header=Header(stamp=stamp, frame_id=MAP_FRAME), intersections=tuple(intersections))


# ---------------------------------------------------------------------------------------
# MAP
# ---------------------------------------------------------------------------------------

def _node_delta(dx_cm: int, dy_cm: int) -> tuple[str, AsnValue]:
    for choice, limit in _NODE_XY_CHOICES:
        if -limit - 1 <= dx_cm <= limit and -limit - 1 <= dy_cm <= limit:
            return choice, {"x": dx_cm, "y": dy_cm}
    raise V2xEncodeError(f"lane node step ({dx_cm}, {dy_cm}) cm exceeds Node-XY-32b")


def _lane_value(lane: MapLane, ref_plane: LocalTangentPlane, plane: LocalTangentPlane) -> AsnValue:
    if not 2 <= len(lane.centreline) <= 63:
        raise V2xEncodeError(f"lane {lane.lane_id}: 2..63 centreline points required")
    nodes, prev = [], (0, 0)
    for x, y in lane.centreline:
        east, north = _offset_cm(ref_plane, plane, x, y)
        cm = (round(east / 0.01), round(north / 0.01))
        nodes.append({"delta": _node_delta(cm[0] - prev[0], cm[1] - prev[1])})
        prev = cm
    lane_value: AsnValue = {
        "laneID": lane.lane_id,
        "laneAttributes": {
            "directionalUse": _bits([i for i, on in enumerate((lane.is_ingress, lane.is_egress)) if on], 2),
            "sharedWith": _bits([], _LANE_BITS),
            "laneType": ("vehicle", _bits([], 8)),
        },
        "nodeList": ("nodes", nodes),
    }
    if lane.approach is not None:
        lane_value["ingressApproach" if lane.is_ingress else "egressApproach"] = lane.approach
    if lane.maneuvers:
        lane_value["maneuvers"] = _maneuver_bits(lane.maneuvers)
    if lane.connections:
        connections = []
        for conn in lane.connections:
            connecting: AsnValue = {"lane": conn.to_lane}
            if conn.maneuvers:
                connecting["maneuver"] = _maneuver_bits(conn.maneuvers)
            entry: AsnValue = {"connectingLane": connecting}
            if conn.signal_group is not None:
                entry["signalGroup"] = conn.signal_group
            connections.append(entry)
        lane_value["connectsTo"] = connections
    return lane_value


def _map_value(map_message: MapMessage, plane: LocalTangentPlane) -> AsnValue:
    intersections = []
    for inter in map_message.intersections:
        ref_lat, ref_lon = _geodetic(plane, inter.ref_x, inter.ref_y)
        ref_plane = _reference_plane(plane, ref_lat, ref_lon)
        entry: AsnValue = {
            "id": {"id": inter.intersection_id},
            "revision": inter.revision,
            "refPoint": {"lat": ref_lat, "long": ref_lon},
            "laneSet": [_lane_value(lane, ref_plane, plane) for lane in inter.lanes],
        }
        if inter.lane_width is not None:
            entry["laneWidth"] = units.centimetres_to_raw(inter.lane_width, 0, 32767)
        intersections.append(entry)
    return {"timeStamp": units.minute_of_year_from_time(map_message.header.stamp),
            "msgIssueRevision": map_message.revision,
            "layerType": "intersectionData",
            "intersections": intersections}


def encode_map(map_message: MapMessage, *, origin: GeodeticOrigin) -> bytes:
    """Encode intersection geometry as a UPER MessageFrame with a J2735 MapData.

    Lane centrelines become NodeSetXY offsets (1 cm) in the tangent plane at each
    intersection's reference point, each node relative to the previous one.
    Raises V2xEncodeError.
    """
    return encode_frame_raw("MapData", _guard_encode(_map_value, map_message, _plane(origin)))


def _lane_from_value(lane: AsnValue, ref_plane: LocalTangentPlane, plane: LocalTangentPlane) -> MapLane | None:
    kind, nodes = lane["nodeList"]
    if kind != "nodes":
        return None   # computed lanes are not expanded
    points, east, north = [], 0, 0
    for node in nodes:
        choice, delta = node["delta"]
        if choice == "node-LatLon":
            e, n = _offset_cm(ref_plane, plane, *_map_xy(plane, delta["lat"], delta["lon"]))
            east, north = round(e / 0.01), round(n / 0.01)
        elif choice.startswith("node-XY"):
            east, north = east + delta["x"], north + delta["y"]
        else:
            return None   # regional node extensions are not interpreted
        points.append(_from_offset(ref_plane, plane, east, north))
    use = lane["laneAttributes"]["directionalUse"]
    is_ingress, is_egress = _bit_set(use, 0), _bit_set(use, 1)
    connections = tuple(
        LaneConnection(to_lane=conn["connectingLane"]["lane"], signal_group=conn.get("signalGroup"),
                       maneuvers=_maneuvers_from_bits(conn["connectingLane"]["maneuver"])
                       if "maneuver" in conn["connectingLane"] else frozenset())
        for conn in lane.get("connectsTo", ()))
    return MapLane(lane_id=lane["laneID"], is_ingress=is_ingress, is_egress=is_egress,
                   centreline=tuple(points),
                   approach=lane.get("ingressApproach", lane.get("egressApproach")),
                   maneuvers=_maneuvers_from_bits(lane["maneuvers"]) if "maneuvers" in lane else frozenset(),
                   connections=connections)


def _decoded_map(value: AsnValue, plane: LocalTangentPlane, now: float) -> MapMessage:
    intersections = []
    for inter in value.get("intersections", ()):
        ref = inter["refPoint"]
        ref_plane = _reference_plane(plane, ref["lat"], ref["long"])
        ref_x, ref_y = _map_xy(plane, ref["lat"], ref["long"])
        lanes = tuple(lane for lane in (_lane_from_value(v, ref_plane, plane) for v in inter["laneSet"])
                      if lane is not None)
        intersections.append(IntersectionMap(
            intersection_id=inter["id"]["id"], revision=inter["revision"], ref_x=ref_x, ref_y=ref_y,
            lanes=lanes,
            lane_width=units.centimetres_from_raw(inter["laneWidth"]) if "laneWidth" in inter else None))
    return MapMessage(header=Header(stamp=now, frame_id=MAP_FRAME), revision=value["msgIssueRevision"],
                      intersections=tuple(intersections))


# ---------------------------------------------------------------------------------------
# RoadSideAlert
# ---------------------------------------------------------------------------------------

def _slice_of(yaw: float) -> int:
    """Index of the HeadingSlice slice holding REP 103 ``yaw`` [rad]."""
    heading_deg = (90.0 - math.degrees(yaw)) % 360.0
    return int(heading_deg // (360.0 / _HEADING_SLICES)) % _HEADING_SLICES


def _rsa_value(alert: RoadAlert, plane: LocalTangentPlane) -> AsnValue:
    if not (math.isfinite(alert.x) and math.isfinite(alert.y)):
        raise V2xEncodeError("alert position must be finite")
    if len(alert.description) > 8:
        raise V2xEncodeError(f"{len(alert.description)} description codes; J2735 allows 8")
    lat, lon = _geodetic(plane, alert.x, alert.y)
    position: AsnValue = {"utcTime": {"second": units.sec_mark_from_time(alert.header.stamp)}, "long": lon, "lat": lat}
    value: AsnValue = {"msgCnt": alert.msg_count, "timeStamp": units.minute_of_year_from_time(alert.header.stamp),
                   "typeEvent": alert.type_event}
    if alert.description:
        value["description"] = list(alert.description)
    if alert.travel_yaw is not None:
        # the slice of the travel direction and its neighbours: a 67.5 deg cone of affected headings
        centre = _slice_of(alert.travel_yaw)
        value["heading"] = _bits([(centre + k) % _HEADING_SLICES for k in (-1, 0, 1)], _HEADING_SLICES)
        position["heading"] = units.yaw_to_heading_raw(alert.travel_yaw)
    value["position"] = position
    return value


def encode_road_alert(alert: RoadAlert, *, origin: GeodeticOrigin) -> bytes:
    """Encode a road alert as a UPER MessageFrame with a J2735 RoadSideAlert.

    The position becomes a FullPositionVector (WGS84, 1e-7 deg) whose heading is the affected
    travel direction and whose utcTime.second is the generation time (ms within the minute);
    the affected directions also go out as a HeadingSlice (the direction's slice and its two
    neighbours). Raises V2xEncodeError.
    """
    return encode_frame_raw("RoadSideAlert", _guard_encode(_rsa_value, alert, _plane(origin)))


def _slices_yaw(bits: tuple[bytes, int]) -> float | None:
    """REP 103 yaw [rad] at the circular mean of the set HeadingSlice slices (None: none or all set)."""
    centres = [math.radians(90.0 - (i + 0.5) * 360.0 / _HEADING_SLICES)
               for i in range(_HEADING_SLICES) if _bit_set(bits, i)]
    if not centres or len(centres) == _HEADING_SLICES:
        return None
    east, north = sum(math.cos(a) for a in centres), sum(math.sin(a) for a in centres)
    return math.atan2(north, east) if math.hypot(east, north) > 1e-9 else None


def _decoded_rsa(value: AsnValue, plane: LocalTangentPlane, now: float) -> RoadAlert:
    position = _required(value.get("position"), "alert position")
    x, y = _map_xy(plane, position["lat"], position["long"])
    if not (math.isfinite(x) and math.isfinite(y)):
        raise V2xDecodeError("alert position is unavailable")
    second = position.get("utcTime", {}).get("second")
    stamp = units.time_from_sec_mark(second, now) if second is not None and second < 60000 else now
    yaw = units.heading_raw_to_yaw(position["heading"]) if "heading" in position else None
    if yaw is None and "heading" in value:
        yaw = _slices_yaw(value["heading"])
    return RoadAlert(header=Header(stamp=stamp, frame_id=MAP_FRAME), msg_count=value["msgCnt"],
                     type_event=value["typeEvent"], x=x, y=y, travel_yaw=yaw,
                     description=tuple(value.get("description", ())))


# ---------------------------------------------------------------------------------------
# Maneuver sharing
# ---------------------------------------------------------------------------------------

def _maneuver_value(share: ManeuverShare, plane: LocalTangentPlane) -> AsnValue:
    if not 1 <= len(share.points) <= 50:
        raise V2xEncodeError(f"{len(share.points)} trajectory points; 1..50 allowed")
    if not 0 <= share.msg_count <= 127:
        raise V2xEncodeError(f"msg_count {share.msg_count} is outside 0..127")
    ref_lat, ref_lon = _geodetic(plane, share.points[0].x, share.points[0].y)
    ref_plane = _reference_plane(plane, ref_lat, ref_lon)
    points = []
    for point in share.points:
        east, north = _offset_cm(ref_plane, plane, point.x, point.y)
        points.append({
            "timeOffset": units.time_offset_to_raw(point.t, 0, _PLAN_TIME_MAX),
            "east": units.centimetres_to_raw(east, -_PLAN_OFFSET_CM - 1, _PLAN_OFFSET_CM),
            "north": units.centimetres_to_raw(north, -_PLAN_OFFSET_CM - 1, _PLAN_OFFSET_CM),
            "heading": units.yaw_to_heading_raw(point.yaw),
            "speed": units.speed_to_raw(point.speed),
            "accel": units.accel_to_raw(point.accel),
        })
    value: AsnValue = {
        "msgCnt": share.msg_count,
        "id": _temporary_id(share.station_id),
        "secMark": units.sec_mark_from_time(share.header.stamp),
        "refLat": ref_lat,
        "refLong": ref_lon,
        "refElev": units.ELEVATION_UNAVAILABLE,
        "maneuver": share.intent.value,
        "trajectory": points,
    }
    if share.target_lane_offset is not None:
        value["targetLaneOffset"] = units.centimetres_to_raw(share.target_lane_offset, -2000, 2000)
    if share.leader_id is not None:
        value["leaderId"] = _temporary_id(share.leader_id)
    if share.time_gap is not None:
        value["desiredTimeGap"] = units.time_gap_to_raw(share.time_gap)
    if share.yield_request_to is not None:
        value["yieldRequestTo"] = _temporary_id(share.yield_request_to)
    if share.gap_response is not None:
        value["gapResponse"] = {"requester": _temporary_id(share.gap_response.requester_id),
                                "accepted": share.gap_response.accepted,
                                "reason": share.gap_response.reason.value}
    return value


def encode_maneuver(share: ManeuverShare, *, origin: GeodeticOrigin) -> bytes:
    """Encode a maneuver/trajectory share as a UPER MessageFrame (messageId 240).

    Trajectory points become 1 cm east/north offsets in the tangent plane at the first
    point; ``t`` must lie in 0..10 s, positions within 327 m of the first point.
    Raises V2xEncodeError.
    """
    return _encode_si("ManeuverSharingMessage", _guard_encode(_maneuver_value, share, _plane(origin)))


def _intent(name: str | None) -> ManeuverIntent:
    """The IntendedManeuver enumerator (extensible: a later version's addition decodes as None)."""
    try:
        return ManeuverIntent(name)
    except ValueError:
        raise V2xDecodeError(f"unsupported intended maneuver {name!r}") from None


def _gap_response(value: AsnValue | None) -> GapResponse | None:
    """The GapResponse extension addition (None when absent); a later version's reason is refused."""
    if value is None:
        return None
    try:
        reason = GapResponseReason(value["reason"])
    except ValueError:
        raise V2xDecodeError(f"unsupported gap response reason {value['reason']!r}") from None
    return GapResponse(int.from_bytes(value["requester"], "big"), bool(value["accepted"]), reason)


def _decoded_maneuver(value: AsnValue, plane: LocalTangentPlane, now: float) -> ManeuverShare:
    ref_plane = _reference_plane(plane, value["refLat"], value["refLong"])
    points = []
    for point in value["trajectory"]:
        x, y = _from_offset(ref_plane, plane, point["east"], point["north"])
        points.append(TrajectoryPoint(
            t=units.time_offset_from_raw(point["timeOffset"]), x=x, y=y,
            yaw=_required(units.heading_raw_to_yaw(point["heading"]), "planned heading"),
            speed=_required(units.speed_from_raw(point["speed"]), "planned speed"),
            accel=_required(units.accel_from_raw(point["accel"]), "planned acceleration")))
    if value["secMark"] >= 60000:
        raise V2xDecodeError("maneuver share carries no secMark time")
    stamp = units.time_from_sec_mark(value["secMark"], now)
    return ManeuverShare(
        header=Header(stamp=stamp, frame_id=MAP_FRAME),
        station_id=int.from_bytes(value["id"], "big"),
        msg_count=value["msgCnt"],
        intent=_intent(value["maneuver"]),
        points=tuple(points),
        target_lane_offset=units.centimetres_from_raw(value["targetLaneOffset"])
        if "targetLaneOffset" in value else None,
        leader_id=int.from_bytes(value["leaderId"], "big") if "leaderId" in value else None,
        time_gap=units.time_gap_from_raw(value["desiredTimeGap"]) if "desiredTimeGap" in value else None,
        yield_request_to=int.from_bytes(value["yieldRequestTo"], "big") if "yieldRequestTo" in value else None,
        gap_response=_gap_response(value.get("gapResponse")))


# ---------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _decode_raw_shared(data: bytes) -> tuple[str, AsnValue]:
    """:func:`_decode_raw` memoised on the frame's bytes, for :func:`decode_frame` only.

    A broadcast reaches every station in range as the same bytes, and in a simulation all of
    them decode in one process; the UPER decode is a pure function of the bytes, so it runs once
    per frame. The SI conversion reads the shared value and never modifies it. Malformed frames
    raise and are not cached.
    """
    return _decode_raw(data)


@functools.lru_cache(maxsize=4096)
def _decode_si(data: bytes, origin: GeodeticOrigin, now: float
               ) -> DecodedBsm | SpatMessage | MapMessage | RoadAlert | ManeuverShare:
    """The SI message of ``data`` for a receiver at ``origin`` and time ``now`` [s], memoised:
    the stations a broadcast reaches in one simulation step share the frame, origin and time, so
    the conversion runs once per frame and step. Messages are frozen, so sharing them is safe."""
    type_name, value = _decode_raw_shared(data)
    plane = _plane(origin)
    if type_name == "BasicSafetyMessage":
        return _decoded_bsm(value, plane, now)
    if type_name == "SPAT":
        return _decoded_spat(value, now)
    if type_name == "MapData":
        return _decoded_map(value, plane, now)
    if type_name == "RoadSideAlert":
        return _decoded_rsa(value, plane, now)
    return _decoded_maneuver(value, plane, now)


def decode_frame(data: bytes, *, origin: GeodeticOrigin, now: float
                 ) -> DecodedBsm | SpatMessage | MapMessage | RoadAlert | ManeuverShare:
    """Decode a UPER J2735 MessageFrame to its SI message, dispatching on messageId.

    origin: geodetic origin of ``map``; now: receiver time [s], used to resolve secMark
    (+-30 s) and TimeMark (+-30 min) to absolute times. MAP carries no time: its stamp is
    ``now``. Raises V2xDecodeError for anything malformed or unsupported in ``data``;
    TypeError/ValueError for a bad ``origin`` or ``now`` (caller errors, not packet errors).
    """
    if not isinstance(origin, GeodeticOrigin):
        raise TypeError(f"origin must be a GeodeticOrigin, got {type(origin).__name__}")
    if not math.isfinite(now):
        raise ValueError(f"now must be finite, got {now}")
    compiled_modules()
    return _decode_si(_as_bytes(data), origin, now)
