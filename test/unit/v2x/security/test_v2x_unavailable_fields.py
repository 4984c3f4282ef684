"""J2735 "unavailable" values: no misbehaviour verdict is ever drawn from a missing value.

Honest senders' BSMs cross the real codec with any combination of optional fields sent as
unavailable (NaN in, the standard's unavailable code on the air, NaN or +inf back); the
published J2735 conformance BSM (acceleration, accuracy and size unavailable) is a stationary
car that must pass the sensor cross-check when a track is there, and be flagged when none is.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cav_stack.core.messages import Header, TrackedObject, TrackList, V2xVehicleReport
from cav_stack.v2x import codec
from cav_stack.v2x.geodesy import GeodeticOrigin
from cav_stack.v2x.misbehaviour import MisbehaviourDetector, MisbehaviourReason

from misbehaviour_traces import Sender, circling, is_on_road, run, straight

#: Optional BSM fields a sender may send as unavailable -> the report fields they carry.
OPTIONAL_FIELDS = {"position": ("x", "y"), "speed": ("speed",), "heading": ("yaw",), "accel": ("accel",),
                   "accuracy": ("position_sigma",), "size": ("length", "width")}
ORIGIN = GeodeticOrigin(math.radians(52.5163), math.radians(13.3777), 34.0)


def through_codec(masks: dict[int, tuple[frozenset[str], bool]]):
    """The air path: each sender's BSM encoded with its fields of ``masks`` unavailable (on every
    report, or on every other one when its flag is set), then decoded."""
    def over_the_air(report: V2xVehicleReport, now: float) -> V2xVehicleReport:
        fields, alternate = masks[report.station_id]
        if alternate and round(report.header.stamp / 0.1) % 2:
            fields = frozenset()
        missing = {name: math.nan for group in fields - {"position"} for name in OPTIONAL_FIELDS[group]}
        sent = dataclasses.replace(report, **missing)
        received = codec.decode_frame(codec.encode_bsm(sent, origin=ORIGIN), origin=ORIGIN, now=now).report
        # the encoder refuses to send without a position; the unavailable lat/long codes decode to NaN
        return dataclasses.replace(received, x=math.nan, y=math.nan) if "position" in fields else received
    return over_the_air


def honest_senders() -> list[Sender]:
    vehicles = [straight(0, 40.0, 27.0),                                       # ahead, in view throughout
                straight(2, 30.0, 25.0, lambda t: -8.0 if 5.0 <= t < 7.5 else 0.0),   # brakes hard in view
                straight(1, -30.0, 25.0),                                      # behind, in view
                circling(12.0, 0.0)]                                           # turning, never in view
    return [Sender(100 + i, truth, truth) for i, truth in enumerate(vehicles)]


@settings(max_examples=20, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(masks=st.lists(st.tuples(st.frozensets(st.sampled_from(sorted(OPTIONAL_FIELDS))), st.booleans()),
                      min_size=4, max_size=4),
       seed=st.integers(0, 2 ** 16))
def test_honest_bsms_with_unavailable_fields_are_never_flagged(trust_params, masks, seed):
    senders = honest_senders()
    detector = MisbehaviourDetector(trust_params.misbehaviour, is_on_road)
    by_station = {sender.station_id: mask for sender, mask in zip(senders, masks, strict=True)}
    first_flag = run(senders, detector, 12.0, np.random.default_rng(seed), over_the_air=through_codec(by_station))
    assert first_flag == {s.station_id: None for s in senders}, (by_station, detector.verdicts())


def conformance_bsm(conformance_dir) -> bytes:
    return bytes.fromhex("".join((conformance_dir / "j2735" / "bsm_messageframe.hex").read_text().split()))


def restamped(vector: bytes, t: float, count: int) -> bytes:
    """The conformance BSM re-sent at ``t`` [s] (secMark and msgCnt updated, all else as published)."""
    type_name, value = codec.decode_frame_raw(vector)
    value["coreData"] = {**value["coreData"], "secMark": round(t * 1000.0) % 60000, "msgCnt": count % 128}
    return codec.encode_frame_raw(type_name, value)


def drive_conformance_car(trust_params, conformance_dir, tracked: bool) -> MisbehaviourDetector:
    """10 s of the conformance car repeating its BSM at 10 Hz in plain view of the ego, with or
    without an onboard track where it stands."""
    origin = GeodeticOrigin(math.radians(41.1642), math.radians(-104.8434), 1880.0)
    vector = conformance_bsm(conformance_dir)
    claim = codec.decode_frame(vector, origin=origin, now=59.3).report
    assert {math.isnan(claim.accel), math.isinf(claim.position_sigma), claim.speed} == {True, 0.0}
    detector = MisbehaviourDetector(trust_params.misbehaviour, lambda x, y, margin: True)
    for k in range(200):
        now = 100.0 + 0.05 * k
        if k % 2 == 0:
            report = codec.decode_frame(restamped(vector, now, k // 2), origin=origin, now=now + 0.005).report
            detector.on_report(report, now + 0.005)
        else:
            objects = (TrackedObject(1, claim.x + 0.3, claim.y - 0.2, claim.yaw, 0.0, 4.5, 1.8),) if tracked else ()
            detector.on_tracks(TrackList(Header(now, "map"), objects), lambda x, y, r: True, now)
    return detector


def test_conformance_bsm_with_unavailable_acceleration_is_not_a_ghost_when_seen(trust_params, conformance_dir):
    detector = drive_conformance_car(trust_params, conformance_dir, tracked=True)
    assert [v.flagged for v in detector.verdicts()] == [False]


def test_conformance_bsm_is_still_cross_checked_a_ghost_when_nothing_is_there(trust_params, conformance_dir):
    detector = drive_conformance_car(trust_params, conformance_dir, tracked=False)
    (verdict,) = detector.verdicts()
    assert verdict.reasons == (MisbehaviourReason.GHOST_VEHICLE,)
