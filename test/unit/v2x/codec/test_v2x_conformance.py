"""SAE J2735 conformance: the published BSM vector decodes to its expected values and
re-encodes to the identical bytes."""
from __future__ import annotations

import json
import math

import pytest

from cav_stack.v2x import codec


@pytest.fixture
def vector(conformance_dir):
    folder = conformance_dir / "j2735"
    data = bytes.fromhex("".join(folder.joinpath("bsm_messageframe.hex").read_text().split()))
    expected = json.loads(folder.joinpath("bsm_messageframe.expected.json").read_text())
    return data, expected


def _bit_string(bits: tuple[bytes, int]) -> str:
    data, size = bits
    return "".join("1" if data[i // 8] & (0x80 >> (i % 8)) else "0" for i in range(size))


def test_vector_decodes_to_expected_raw_values(vector):
    data, expected = vector
    assert len(data) == expected["encoded_bytes"] == 177
    type_name, value = codec.decode_frame_raw(data)
    assert codec.MESSAGE_IDS[type_name] == expected["messageId"]

    core, want = value["coreData"], expected["coreData"]
    assert core["id"].hex() == want["id"]
    assert _bit_string(core["brakes"]["wheelBrakes"]) == want["brakes"]["wheelBrakes"]
    for key in ("msgCnt", "secMark", "lat", "long", "elev", "accuracy", "transmission", "speed",
                "heading", "angle", "accelSet", "size"):
        assert core[key] == want[key], key
    for key in ("traction", "abs", "scs", "brakeBoost", "auxBrakes"):
        assert core["brakes"][key] == want["brakes"][key], key

    assert len(value["partII"]) == len(expected["partII"]) == 1
    part, want_part = value["partII"][0], expected["partII"][0]
    assert part["partII-Id"] == want_part["partII-Id"]
    ext = part["partII-Value"]
    assert len(ext["pathHistory"]["crumbData"]) == want_part["pathHistoryPoints"]
    assert ext["pathPrediction"] == want_part["pathPrediction"]


def test_vector_reencodes_to_identical_bytes(vector):
    data, _ = vector
    type_name, value = codec.decode_frame_raw(data)
    assert codec.encode_frame_raw(type_name, value) == data


def test_vector_si_values_follow_j2735_units(vector, origin):
    data, expected = vector
    core = expected["coreData"]
    decoded = codec.decode_frame(data, origin=origin, now=0.0)
    report = decoded.report
    # heading 15290 * 0.0125 deg = 191.125 deg clockwise from north -> REP 103 yaw
    assert report.yaw == pytest.approx(math.radians(90.0 - 191.125 + 360.0) - 2 * math.pi)
    assert report.speed == 0.0
    assert report.station_id == int(core["id"], 16)
    assert report.msg_count == core["msgCnt"]
    assert decoded.altitude == pytest.approx(1882.2)
    # secMark 59299 ms: nearest time to now=0 s with that ms-of-minute is -0.701 s
    assert report.header.stamp == pytest.approx(-0.701)
    # accel 2001, size 0, semiMajor 255: "unavailable"
    assert decoded.unavailable == {"accel", "length", "width", "position_sigma"}
    assert math.isinf(report.position_sigma) and math.isnan(report.accel)
    # 41.1642143 N, 104.8434120 W relative to the origin at 41.1642 N, 104.8434 W:
    # north = 1.43e-5 deg * meridian arc (111.057 km/deg at 41.164 N); east = -1.2e-5 deg * 83.926 km/deg
    # (WGS84 radii of curvature M and N cos(lat), evaluated independently)
    assert report.y == pytest.approx(1.43e-5 * 111_057.1, abs=0.005)
    assert report.x == pytest.approx(-1.2e-5 * 83_926.0, abs=0.005)
    assert decoded.path_prediction.radius is None   # 32767: straight


# Field-recorded SPaT frames (Econolite controllers, University Parkway, Utah) from the
# public usdot-jpo-ode/asn1_codec repository, data/batch/batch.intersection.data.hex.
FIELD_SPAT_HEX = (
    "00136f2222e3dfbb7ecd3d3281c2957769ed430f2d7df0f99b874eea7d3965cbd03162040000aceb79f982400410d032"
    "423242004086819d519d500304300bb4802022a06340634001410d03242324200c086819d519d500704340c2c8c2c804"
    "022a05de0603002410402ed2014082017690",
    "0013462222e3dfbb7ecd3d3281c2357769ed430f2d7df0f962c1845c3cfa062e808000159d6f3f382002020805da4014"
    "10d03204320400c08a818c218c300904100bb4805020805da4",
)


@pytest.mark.parametrize("hex_frame", FIELD_SPAT_HEX)
def test_field_spat_frames_round_trip(hex_frame, origin):
    data = bytes.fromhex(hex_frame)
    type_name, value = codec.decode_frame_raw(data)
    assert type_name == "SPAT" and value["name"] == "Econolite"
    assert codec.encode_frame_raw(type_name, value) == data
    raw_inter = value["intersections"][0]
    # SI decode at a receiver time in the same minute as the frame's timestamp
    now = raw_inter["moy"] * 60.0 + raw_inter["timeStamp"] / 1000.0
    spat = codec.decode_frame(data, origin=origin, now=now)
    inter = spat.intersections[0]
    assert inter.intersection_id == raw_inter["id"]["id"]
    assert [g.signal_group for g in inter.groups] == [s["signalGroup"] for s in raw_inter["states"]]
    for group, state in zip(inter.groups, raw_inter["states"], strict=True):
        raw_event = state["state-time-speed"][0]
        assert group.events[0].phase.value == raw_event["eventState"]
        # TimeMark is 0.1 s within the hour
        assert group.events[0].min_end_time % 3600.0 == pytest.approx(raw_event["timing"]["minEndTime"] / 10.0)
