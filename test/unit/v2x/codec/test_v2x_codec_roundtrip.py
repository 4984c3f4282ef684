"""SI round trips through UPER bytes (within J2735 quantisation) and encode error paths."""
from __future__ import annotations

import math

import asn1tools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cav_stack.core.messages import Header, TrajectoryPoint, V2xVehicleReport
from cav_stack.core.share import share_path
from cav_stack.v2x import codec
from cav_stack.v2x.codec import V2xEncodeError
from cav_stack.v2x.geodesy import GeodeticOrigin
from cav_stack.v2x.messages import (
    DecodedBsm,
    IntersectionMap,
    IntersectionSignalState,
    LaneConnection,
    ManeuverIntent,
    ManeuverShare,
    GapResponse,
    GapResponseReason,
    Maneuver,
    MapLane,
    MapMessage,
    MovementEvent,
    MovementPhase,
    PathHistoryPoint,
    PathPrediction,
    SignalGroupState,
    SpatMessage,
)

ORIGIN = GeodeticOrigin(math.radians(52.5163), math.radians(13.3777), 34.0)
# Position quanta: 1e-7 deg is 1.11 cm of latitude and 0.68 cm of longitude here, so a
# rounded lat/lon is within 0.65 cm; east/north offsets of 1 cm are within 0.71 cm.
POS_TOL = 0.0066
OFFSET_TOL = 0.0071

reports = st.builds(
    V2xVehicleReport,
    header=st.builds(Header, stamp=st.floats(0.0, 1e5), frame_id=st.just("map")),
    station_id=st.integers(0, 2 ** 32 - 1),
    msg_count=st.integers(0, 127),
    x=st.floats(-20_000, 20_000), y=st.floats(-20_000, 20_000),
    yaw=st.floats(-math.pi, math.pi, exclude_max=True),
    speed=st.floats(0.0, 163.0),
    accel=st.floats(-19.9, 19.9),
    yaw_rate=st.floats(-5.0, 5.0),
    length=st.floats(0.01, 40.0), width=st.floats(0.01, 10.0),
    position_sigma=st.floats(0.0, 12.6),
)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(report=reports)
def test_bsm_round_trip_within_quantisation(report):
    data = codec.encode_bsm(report, origin=ORIGIN)
    assert codec.message_type_of(data) == "BSM"
    decoded = codec.decode_frame(data, origin=ORIGIN, now=report.header.stamp + 0.3)
    assert isinstance(decoded, DecodedBsm) and not decoded.unavailable
    back = decoded.report
    assert back.station_id == report.station_id and back.msg_count == report.msg_count
    assert back.header.stamp == pytest.approx(report.header.stamp, abs=5e-4)
    assert math.hypot(back.x - report.x, back.y - report.y) <= POS_TOL
    assert abs(math.remainder(back.yaw - report.yaw, 2 * math.pi)) <= math.radians(0.0125) / 2 + 1e-9
    assert back.speed == pytest.approx(report.speed, abs=0.01 + 1e-9)
    assert back.accel == pytest.approx(report.accel, abs=0.005 + 1e-9)
    assert back.yaw_rate == pytest.approx(report.yaw_rate, abs=math.radians(0.005) + 1e-9)
    assert back.length == pytest.approx(report.length, abs=0.005 + 1e-9)
    assert back.width == pytest.approx(report.width, abs=0.005 + 1e-9)
    assert back.position_sigma == pytest.approx(report.position_sigma, abs=0.025 + 1e-9)


def _report(**changes) -> V2xVehicleReport:
    base = dict(header=Header(10.0, "map"), station_id=7, msg_count=1, x=1.0, y=2.0, yaw=0.3,
                speed=5.0)
    base.update(changes)
    return V2xVehicleReport(**base)


def test_bsm_part_ii_round_trip():
    history = (PathHistoryPoint(age=0.5, x=-4.0, y=2.0, speed=8.0), PathHistoryPoint(age=1.7, x=-20.0, y=1.5))
    data = codec.encode_bsm(_report(), origin=ORIGIN, altitude=40.0, path_history=history,
                            path_prediction=PathPrediction(radius=-250.0, confidence=0.9))
    decoded = codec.decode_frame(data, origin=ORIGIN, now=10.0)
    assert decoded.altitude == pytest.approx(40.0)
    assert len(decoded.path_history) == 2
    for sent, got in zip(history, decoded.path_history, strict=True):
        assert got.age == pytest.approx(sent.age)
        assert math.hypot(got.x - sent.x, got.y - sent.y) <= 2 * POS_TOL  # two rounded positions
    assert decoded.path_history[0].speed == pytest.approx(8.0) and decoded.path_history[1].speed is None
    assert decoded.path_prediction.radius == pytest.approx(-250.0)
    assert decoded.path_prediction.confidence == pytest.approx(0.9)


def test_bsm_unavailable_values_survive():
    report = _report(speed=math.nan, accel=math.nan, length=math.nan, position_sigma=math.inf)
    decoded = codec.decode_frame(codec.encode_bsm(report, origin=ORIGIN), origin=ORIGIN, now=10.0)
    assert decoded.unavailable == {"speed", "accel", "length", "position_sigma"}
    assert math.isnan(decoded.report.speed) and math.isinf(decoded.report.position_sigma)


@pytest.mark.parametrize("changes, kwargs", [
    (dict(station_id=2 ** 32), {}),
    (dict(msg_count=128), {}),
    (dict(x=math.nan), {}),
    (dict(speed=-1.0), {}),
    (dict(yaw_rate=math.nan), {}),
    ({}, dict(path_history=[PathHistoryPoint(0.1, 5000.0, 0.0)])),
    ({}, dict(path_history=[PathHistoryPoint(0.1, 0.0, 0.0)] * 24)),
    ({}, dict(path_history=[PathHistoryPoint(0.0, 0.0, 0.0)])),
    ({}, dict(path_prediction=PathPrediction(10.0, 1.5))),
])
def test_bsm_encode_errors(changes, kwargs):
    with pytest.raises(V2xEncodeError):
        codec.encode_bsm(_report(**changes), origin=ORIGIN, **kwargs)


def _spat(now: float) -> SpatMessage:
    return SpatMessage(header=Header(now, "map"), intersections=(IntersectionSignalState(
        intersection_id=1201, revision=3, groups=(
            SignalGroupState(1, (MovementEvent(MovementPhase.PROTECTED_MOVEMENT_ALLOWED,
                                               now + 12.3, now + 12.3, now + 12.3),
                                 MovementEvent(MovementPhase.PROTECTED_CLEARANCE, now + 15.3))),
            SignalGroupState(2, (MovementEvent(MovementPhase.STOP_AND_REMAIN, now + 40.0),)),
            SignalGroupState(3, (MovementEvent(MovementPhase.DARK, None),)),
        )),))


@pytest.mark.parametrize("now", [0.0, 3599.95, 7265.4])
def test_spat_round_trip(now):
    spat = _spat(now)
    decoded = codec.decode_frame(codec.encode_spat(spat), origin=ORIGIN, now=now + 0.2)
    assert decoded.header.stamp == pytest.approx(now, abs=1e-3)
    inter = decoded.intersections[0]
    assert (inter.intersection_id, inter.revision) == (1201, 3)
    for sent, got in zip(spat.intersections[0].groups, inter.groups, strict=True):
        assert got.signal_group == sent.signal_group
        for e_sent, e_got in zip(sent.events, got.events, strict=True):
            assert e_got.phase == e_sent.phase
            for attr in ("min_end_time", "max_end_time", "likely_time"):
                want = getattr(e_sent, attr)
                assert (getattr(e_got, attr) is None) if want is None else \
                    getattr(e_got, attr) == pytest.approx(want, abs=0.05 + 1e-9)


def _map_message() -> MapMessage:
    ingress = MapLane(lane_id=1, is_ingress=True, is_egress=False, approach=1,
                      centreline=((495.0, 980.5), (495.0, 900.0), (497.3, 600.0)),
                      maneuvers=frozenset({Maneuver.STRAIGHT, Maneuver.LEFT}),
                      connections=(LaneConnection(5, 2, frozenset({Maneuver.STRAIGHT})),
                                   LaneConnection(7, None, frozenset({Maneuver.LEFT}))))
    egress = MapLane(lane_id=5, is_ingress=False, is_egress=True, approach=3,
                     centreline=((495.0, 1019.5), (495.0, 1300.0)))
    return MapMessage(header=Header(50.0, "map"), revision=9, intersections=(IntersectionMap(
        intersection_id=1201, revision=4, ref_x=500.0, ref_y=1000.0, lanes=(ingress, egress),
        lane_width=3.2),))


def test_map_round_trip():
    sent = _map_message()
    decoded = codec.decode_frame(codec.encode_map(sent, origin=ORIGIN), origin=ORIGIN, now=60.0)
    assert decoded.revision == 9
    inter, want = decoded.intersections[0], sent.intersections[0]
    assert math.dist((inter.ref_x, inter.ref_y), (500.0, 1000.0)) <= POS_TOL
    assert inter.lane_width == pytest.approx(3.2)
    for lane_sent, lane_got in zip(want.lanes, inter.lanes, strict=True):
        assert (lane_got.lane_id, lane_got.is_ingress, lane_got.is_egress, lane_got.approach) == \
            (lane_sent.lane_id, lane_sent.is_ingress, lane_sent.is_egress, lane_sent.approach)
        assert lane_got.maneuvers == lane_sent.maneuvers
        assert lane_got.connections == lane_sent.connections
        for p_sent, p_got in zip(lane_sent.centreline, lane_got.centreline, strict=True):
            assert math.dist(p_sent, p_got) <= OFFSET_TOL


def test_map_encode_errors():
    bad = MapLane(lane_id=1, is_ingress=True, is_egress=False, centreline=((0.0, 0.0),))
    msg = MapMessage(Header(0.0, "map"), 0, (IntersectionMap(1, 0, 0.0, 0.0, (bad,)),))
    with pytest.raises(V2xEncodeError):
        codec.encode_map(msg, origin=ORIGIN)


def _share(points, **kwargs) -> ManeuverShare:
    return ManeuverShare(header=Header(30.0, "map"), station_id=99, msg_count=4,
                         intent=ManeuverIntent.LANE_CHANGE_LEFT, points=tuple(points), **kwargs)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(x0=st.floats(-5000, 5000), y0=st.floats(-5000, 5000), yaw=st.floats(-3.1, 3.1),
       speed=st.floats(0.0, 40.0), accel=st.floats(-8.0, 3.0), n=st.integers(1, 50))
def test_maneuver_round_trip(x0, y0, yaw, speed, accel, n):
    points = [TrajectoryPoint(t=0.1 * i, x=x0 + speed * 0.1 * i * math.cos(yaw),
                              y=y0 + speed * 0.1 * i * math.sin(yaw), yaw=yaw, speed=speed, accel=accel)
              for i in range(n)]
    share = _share(points, target_lane_offset=3.5, leader_id=12, time_gap=0.6, yield_request_to=13)
    decoded = codec.decode_frame(codec.encode_maneuver(share, origin=ORIGIN), origin=ORIGIN, now=30.5)
    assert isinstance(decoded, ManeuverShare)
    assert (decoded.station_id, decoded.msg_count, decoded.intent) == (99, 4, ManeuverIntent.LANE_CHANGE_LEFT)
    assert (decoded.target_lane_offset, decoded.leader_id, decoded.time_gap, decoded.yield_request_to) == \
        pytest.approx((3.5, 12, 0.6, 13))
    assert decoded.header.stamp == pytest.approx(30.0)
    for sent, got in zip(points, decoded.points, strict=True):
        assert got.t == pytest.approx(sent.t)
        assert math.hypot(got.x - sent.x, got.y - sent.y) <= OFFSET_TOL
        assert abs(math.remainder(got.yaw - sent.yaw, 2 * math.pi)) <= math.radians(0.00625) + 1e-9
        assert got.speed == pytest.approx(sent.speed, abs=0.01 + 1e-9)
        assert got.accel == pytest.approx(sent.accel, abs=0.005 + 1e-9)
    assert decoded.trajectory().points == decoded.points


@pytest.mark.parametrize("response", [None] + [GapResponse(0xFFFFFFFF if accepted else 7, accepted, reason)
                                                 for reason in GapResponseReason for accepted in (True, False)])
def test_maneuver_gap_response_round_trip(response):
    point = TrajectoryPoint(t=0.0, x=10.0, y=-3.0, yaw=0.1, speed=25.0, accel=-1.0)
    share = _share([point], yield_request_to=None, gap_response=response)
    decoded = codec.decode_frame(codec.encode_maneuver(share, origin=ORIGIN), origin=ORIGIN, now=30.5)
    assert isinstance(decoded, ManeuverShare)
    assert decoded.gap_response == response


def test_maneuver_gap_response_is_skipped_by_a_first_version_receiver(tmp_path):
    """The gap response is an extension addition: a receiver compiled from the module as it was
    before the addition (no GapResponse) decodes the same frame and skips it."""
    first_version = share_path("v2x", "asn1", "cav_maneuver.asn").read_text()
    addition = first_version[first_version.index("   ...,\n   gapResponse"):first_version.index("   }")]
    first_version = first_version.replace(addition, "   ...\n")
    first_version = first_version.replace(first_version[first_version.index("-- The answer of"):
                                                        first_version.index("IntendedManeuver ::=")], "")
    assert "GapResponse" not in first_version
    (tmp_path / "cav_maneuver.asn").write_text(first_version)
    files = [str(tmp_path / "cav_maneuver.asn") if name == "cav_maneuver.asn" else
             str(share_path("v2x", "asn1", name)) for name in codec.ASN1_MODULES]
    old = asn1tools.compile_files(files, "uper")
    point = TrajectoryPoint(t=0.0, x=10.0, y=-3.0, yaw=0.1, speed=25.0, accel=-1.0)
    answered = codec.encode_maneuver(_share([point], yield_request_to=3, gap_response=GapResponse(
        5, False, GapResponseReason.BEYOND_COMFORT_LIMITS)), origin=ORIGIN)
    _, raw = codec.decode_frame_raw(answered)
    assert raw["gapResponse"] == {"requester": (5).to_bytes(4, "big"), "accepted": False,
                                  "reason": "beyondComfortLimits"}
    frame = old.decode("MessageFrame", answered)
    value = old.decode("ManeuverSharingMessage", frame["value"])
    assert "gapResponse" not in value and value["yieldRequestTo"] == (3).to_bytes(4, "big")


@pytest.mark.parametrize("points", [
    [],
    [TrajectoryPoint(t=0.01 * i, x=0, y=0, yaw=0, speed=1, accel=0) for i in range(51)],
    [TrajectoryPoint(t=0.0, x=0, y=0, yaw=0, speed=1, accel=0),
     TrajectoryPoint(t=11.0, x=0, y=0, yaw=0, speed=1, accel=0)],
    [TrajectoryPoint(t=0.0, x=0, y=0, yaw=0, speed=1, accel=0),
     TrajectoryPoint(t=1.0, x=400, y=0, yaw=0, speed=1, accel=0)],
])
def test_maneuver_encode_errors(points):
    with pytest.raises(V2xEncodeError):
        codec.encode_maneuver(_share(points), origin=ORIGIN)


@pytest.mark.parametrize("msg_count", [-1, 128])
def test_maneuver_encode_rejects_msg_count_outside_msg_count_range(msg_count):
    """The SI encoders skip asn1tools' constraint check: the counter is range-checked where the value is built."""
    point = TrajectoryPoint(t=0.0, x=0, y=0, yaw=0, speed=1, accel=0)
    share = ManeuverShare(header=Header(30.0, "map"), station_id=99, msg_count=msg_count,
                          intent=ManeuverIntent.KEEP_LANE, points=(point,))
    with pytest.raises(V2xEncodeError):
        codec.encode_maneuver(share, origin=ORIGIN)


def test_encode_frame_raw_rejects_unknown_type():
    with pytest.raises(V2xEncodeError):
        codec.encode_frame_raw("TravelerInformation", {})
