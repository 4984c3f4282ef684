"""J2735 RoadSideAlert (messageId 27): SI round trips through UPER bytes, the bits of the frame
header and the HeadingSlice, encode errors, and malformed alerts raising only V2xDecodeError."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cav_stack.core.messages import Header
from cav_stack.v2x import codec
from cav_stack.v2x.codec import V2xDecodeError, V2xEncodeError
from cav_stack.v2x.geodesy import GeodeticOrigin
from cav_stack.v2x.messages import ITIS_CLOSED_TO_TRAFFIC, ITIS_INCIDENT, RoadAlert

ORIGIN = GeodeticOrigin(math.radians(52.5163), math.radians(13.3777), 34.0)
POS_TOL = 0.0066                       # 1e-7 deg of lat/lon here [m]
YAW_TOL = math.radians(0.0125 / 2) + 1e-9

alerts = st.builds(
    RoadAlert,
    header=st.builds(Header, stamp=st.floats(0.0, 1e5), frame_id=st.just("map")),
    msg_count=st.integers(0, 127),
    type_event=st.integers(0, 65535),
    x=st.floats(-5000.0, 5000.0), y=st.floats(-5000.0, 5000.0),
    travel_yaw=st.none() | st.floats(-math.pi, math.pi - 1e-6),
    description=st.lists(st.integers(0, 65535), max_size=8).map(tuple),
)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(alert=alerts)
def test_rsa_round_trip_within_quantisation(alert):
    now = alert.header.stamp + 0.2                       # received 0.2 s after generation
    decoded = codec.decode_frame(codec.encode_road_alert(alert, origin=ORIGIN), origin=ORIGIN, now=now)
    assert isinstance(decoded, RoadAlert)
    assert decoded.header.stamp == pytest.approx(alert.header.stamp, abs=5e-4)
    assert (decoded.msg_count, decoded.type_event, decoded.description) == \
        (alert.msg_count, alert.type_event, alert.description)
    assert abs(decoded.x - alert.x) < POS_TOL and abs(decoded.y - alert.y) < POS_TOL
    if alert.travel_yaw is None:
        assert decoded.travel_yaw is None
    else:
        assert abs(math.remainder(decoded.travel_yaw - alert.travel_yaw, 2 * math.pi)) < YAW_TOL


def test_frame_header_and_heading_slice_bits():
    north = RoadAlert(Header(10.0, "map"), 5, ITIS_INCIDENT, 500.0, 150.0, math.pi / 2, (ITIS_CLOSED_TO_TRAFFIC,))
    data = codec.encode_road_alert(north, origin=ORIGIN)
    assert data[:2] == bytes([0x00, 0x1B])               # extension bit 0, messageId 27 in 15 bits
    assert codec.message_type_of(data) == "RSA"
    name, value = codec.decode_frame_raw(data)
    assert name == "RoadSideAlert" and value["typeEvent"] == 531 and value["description"] == [769]
    # heading 0 deg (north) lies in slice 0; its neighbours are slices 15 and 1
    assert value["heading"] == (bytes([0b1100_0000, 0b0000_0001]), 16)
    assert value["position"]["heading"] == 0 and value["position"]["utcTime"] == {"second": 10_000}
    assert codec.decode_frame(data, origin=ORIGIN, now=10.5).closes_road
    open_road = RoadAlert(Header(10.0, "map"), 5, ITIS_INCIDENT, 500.0, 150.0, None)
    frame = codec.encode_road_alert(open_road, origin=ORIGIN)
    assert not codec.decode_frame(frame, origin=ORIGIN, now=10.5).closes_road


def test_foreign_alert_with_heading_slice_only():
    # a sender that gives the affected directions only as a HeadingSlice (east: slices 3 and 4)
    value = {"msgCnt": 1, "typeEvent": ITIS_INCIDENT, "heading": (bytes([0b0001_1000, 0]), 16),
             "position": {"long": 133777000, "lat": 525163000}}
    decoded = codec.decode_frame(codec.encode_frame_raw("RoadSideAlert", value), origin=ORIGIN, now=7.0)
    assert decoded.travel_yaw == pytest.approx(0.0, abs=1e-9) and decoded.header.stamp == 7.0
    assert math.hypot(decoded.x, decoded.y) < 0.05       # the origin itself


@pytest.mark.parametrize("changes", [
    {"x": math.nan}, {"description": tuple(range(9))}, {"type_event": 70000}, {"msg_count": 128},
])
def test_rsa_encode_errors(changes):
    alert = RoadAlert(Header(1.0, "map"), 0, ITIS_INCIDENT, 0.0, 0.0, 0.0)
    with pytest.raises(V2xEncodeError):
        codec.encode_road_alert(RoadAlert(**{**alert.__dict__, **changes}), origin=ORIGIN)


def test_alert_without_position_and_mutated_alerts_raise_decode_errors():
    no_position = codec.encode_frame_raw("RoadSideAlert", {"msgCnt": 0, "typeEvent": ITIS_INCIDENT})
    with pytest.raises(V2xDecodeError, match="position"):
        codec.decode_frame(no_position, origin=ORIGIN, now=0.0)
    data = bytearray(codec.encode_road_alert(
        RoadAlert(Header(3.0, "map"), 1, ITIS_INCIDENT, 10.0, 20.0, 1.0, (ITIS_CLOSED_TO_TRAFFIC,)), origin=ORIGIN))
    rng = np.random.default_rng(7)
    for _ in range(300):
        mutated = bytearray(data)
        for bit in rng.integers(0, 8 * len(mutated), size=int(rng.integers(1, 4))):
            mutated[bit // 8] ^= 0x80 >> (bit % 8)
        try:
            codec.decode_frame(bytes(mutated), origin=ORIGIN, now=3.0)
        except V2xDecodeError:
            pass
