"""Malformed input: any byte string either decodes or raises V2xDecodeError, nothing else; and
fuzzed frames through a V2X node's whole receive path raise nothing in its callbacks."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cav_stack.v2x import codec
from cav_stack.v2x.codec import V2xDecodeError
from cav_stack.v2x.geodesy import GeodeticOrigin

REPO_ROOT = Path(__file__).resolve().parents[4]
ORIGIN = GeodeticOrigin(math.radians(41.1642), math.radians(-104.8434), 1880.0)


def _load_fuzz_script():
    spec = importlib.util.spec_from_file_location("v2x_fuzz", REPO_ROOT / "benchmarks" / "v2x_fuzz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FUZZ = _load_fuzz_script()
CORPUS = FUZZ.build_corpus()


def _decode_or_decode_error(data) -> None:
    try:
        codec.decode_frame(data, origin=ORIGIN, now=15.0)
    except V2xDecodeError:
        pass


def test_corpus_is_valid():
    names = {codec.message_type_of(packet) for packet in CORPUS}
    assert {"BSM", "SPAT", "MAP", "MANEUVER"} <= names
    for packet in CORPUS:
        codec.decode_frame(packet, origin=ORIGIN, now=15.0)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data):
    _decode_or_decode_error(data)


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(CORPUS) - 1), flips=st.lists(st.integers(0, 10_000), min_size=1, max_size=8),
       cut=st.integers(0, 400), tail=st.binary(max_size=8))
def test_mutated_packets(index, flips, cut, tail):
    data = bytearray(CORPUS[index])
    for bit in flips:
        bit %= 8 * len(data)
        data[bit // 8] ^= 0x80 >> (bit % 8)
    _decode_or_decode_error(bytes(data[:cut]) + tail)
    _decode_or_decode_error(bytes(data))


def _integer_field_count(packet: bytes) -> int:
    return len(FUZZ.mutable_integer_fields(*codec.decode_frame_raw(packet)))


@pytest.mark.parametrize("index", range(len(CORPUS)))
def test_every_integer_at_its_range_ends_decodes_or_raises_decode_error(index):
    """Structure-aware: each INTEGER of each corpus message set to its type's minimum, maximum and
    their neighbours (the 'unavailable' codes sit there) and re-encoded; a unit conversion that
    fails on a legal value raises something other than V2xDecodeError and fails this test."""
    for field in range(_integer_field_count(CORPUS[index])):
        type_name, value = codec.decode_frame_raw(CORPUS[index])
        holder, key, minimum, maximum = FUZZ.mutable_integer_fields(type_name, value)[field]
        for raw in {minimum, minimum + 1, (minimum + maximum) // 2, maximum - 1, maximum}:
            holder[key] = raw
            _decode_or_decode_error(codec.encode_frame_raw(type_name, value))


@pytest.mark.parametrize("data", [b"", b"\x00", "not bytes", None, 12, CORPUS[0] + b"\x00", CORPUS[0][:-1]])
def test_malformed_inputs_raise_decode_error(data):
    with pytest.raises(V2xDecodeError):
        codec.decode_frame(data, origin=ORIGIN, now=0.0)


def test_unsupported_message_id_raises_decode_error():
    # MessageFrame: extension bit 0, messageId 31 (TravelerInformation) in 15 bits,
    # open type of length 1 holding 0x00.
    frame = bytes([0x00, 0x1F, 0x01, 0x00])
    with pytest.raises(V2xDecodeError, match="unsupported messageId 31"):
        codec.decode_frame(frame, origin=ORIGIN, now=0.0)
    with pytest.raises(V2xDecodeError):
        codec.message_type_of(frame)
    with pytest.raises(V2xDecodeError):
        codec.message_type_of(5)   # bytes(5) would be five zero bytes


def test_decode_error_is_a_value_error():
    assert issubclass(V2xDecodeError, ValueError)


def test_caller_errors_are_not_packet_errors():
    with pytest.raises(TypeError):
        codec.decode_frame(CORPUS[0], origin=None, now=0.0)
    with pytest.raises(ValueError, match="now must be finite"):
        codec.decode_frame(CORPUS[0], origin=ORIGIN, now=math.nan)


def test_fuzz_script_counts_only_decode_errors():
    counts, ratio = FUZZ.run(count=400, seed=3)
    assert sum(counts.values()) == 400
    outcomes = {result for _, result in counts}
    assert outcomes <= {"decoded", "V2xDecodeError"}
    assert "V2xDecodeError" in outcomes and ratio > 0.0


def test_receive_path_fuzz_reaches_every_stage_and_raises_nothing():
    counts, raised = FUZZ.run_receive_path(1500, seed=5)
    assert not raised, f"node callbacks raised: {dict(raised)}"
    outcomes = {result for _, result in counts}
    # insiders' mutated payloads pass verification and reach the decoder and the plausibility checks
    insider_accepted = (counts[("insider_mutated_payload", "accepted BSM")]
                        + counts[("insider_mutated_payload", "accepted SPAT")])
    assert insider_accepted > 0
    assert {"refused undecodable", "refused malformed", "refused bad_signature", "accepted BSM",
            "accepted SPAT"} <= outcomes


def test_every_single_bit_flip_of_a_maneuver_share_decodes_or_raises_decode_error():
    """Found by the receive-path fuzz: a flipped extension bit made the extensible IntendedManeuver
    decode as an unknown addition, which the SI conversion did not expect (ValueError)."""
    (packet,) = [p for p in CORPUS if codec.message_type_of(p) == "MANEUVER"]
    outcomes = set()
    for bit in range(8 * len(packet)):
        data = bytearray(packet)
        data[bit // 8] ^= 0x80 >> (bit % 8)
        try:
            codec.decode_frame(bytes(data), origin=ORIGIN, now=15.0)
            outcomes.add("decoded")
        except V2xDecodeError as exc:
            outcomes.add("intended maneuver" if "intended maneuver" in str(exc) else "V2xDecodeError")
    assert outcomes == {"decoded", "V2xDecodeError", "intended maneuver"}
