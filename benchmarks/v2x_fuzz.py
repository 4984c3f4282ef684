"""Fuzz V2X reception: mutated and random frames must only ever meet documented errors.

``--target decode`` (default): N packets (default 100000) through
``cav_stack.v2x.codec.decode_frame``; prints the count of each outcome per mutation kind and the
decode time per mutated packet as a ratio to the decode time of the valid corpus measured in the
same process. Exit status 1 when any packet raised something other than V2xDecodeError.

``--target receive``: N frames through a V2X node's whole receive path on the in-process
executor (verify -> decode -> permission -> timing -> station-ID binding -> plausibility ->
outputs): valid frames signed by a vehicle or an RSU, mutated J2735 payloads validly signed by an
insider (they pass verification and reach the decoder and the plausibility checks), mutated
envelopes and random bytes, with an ego state and sensor tracks so the cross-checks run. Prints
the node's outcomes (accepted, refusals by reason) per kind and every exception a node callback
raised (caught and counted by the executor). Exit status 1 when any callback raised.

    .venv/bin/python benchmarks/v2x_fuzz.py [--target decode|receive] [--count N] [--seed S]
"""
from __future__ import annotations

import argparse
import collections
import math
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from cav_stack.core.messages import Header, TrajectoryPoint, V2xVehicleReport
from cav_stack.v2x import codec
from cav_stack.v2x.geodesy import GeodeticOrigin
from cav_stack.v2x.messages import (
    IntersectionMap,
    IntersectionSignalState,
    LaneConnection,
    ManeuverIntent,
    ManeuverShare,
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

ORIGIN = GeodeticOrigin(math.radians(41.1642), math.radians(-104.8434), 1880.0)
CONFORMANCE_HEX = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "j2735" / \
    "bsm_messageframe.hex"
BYTE_MUTATIONS = ("bitflip", "truncate", "extend", "splice", "random")
MUTATIONS = ("field",) + BYTE_MUTATIONS   # "field" needs a J2735 MessageFrame, the others any bytes


def build_corpus() -> list[bytes]:
    """Valid frames of every supported message (plus the conformance BSM when present)."""
    report = V2xVehicleReport(header=Header(12.3, "map"), station_id=0x1234ABCD, msg_count=17,
                              x=120.0, y=-45.0, yaw=0.7, speed=13.4, accel=-0.8, yaw_rate=0.05)
    history = tuple(PathHistoryPoint(age=0.5 * (i + 1), x=120.0 - 6.0 * (i + 1), y=-45.0 - 5.0 * (i + 1))
                    for i in range(10))
    spat = SpatMessage(Header(12.3, "map"), (IntersectionSignalState(5, 1, (
        SignalGroupState(1, (MovementEvent(MovementPhase.PROTECTED_MOVEMENT_ALLOWED, 20.0, 20.0, 20.0),
                             MovementEvent(MovementPhase.PROTECTED_CLEARANCE, 23.0))),
        SignalGroupState(2, (MovementEvent(MovementPhase.STOP_AND_REMAIN, 23.0),)))),))
    lane_in = MapLane(1, True, False, ((0.0, -10.0), (0.0, -150.0)), approach=1,
                      maneuvers=frozenset({Maneuver.STRAIGHT}),
                      connections=(LaneConnection(2, 1, frozenset({Maneuver.STRAIGHT})),))
    lane_out = MapLane(2, False, True, ((0.0, 10.0), (0.0, 150.0)), approach=2)
    map_message = MapMessage(Header(12.3, "map"), 3, (IntersectionMap(5, 1, 0.0, 0.0, (lane_in, lane_out), 3.5),))
    share = ManeuverShare(Header(12.3, "map"), 0x1234ABCD, 4, ManeuverIntent.FOLLOW_LEADER,
                          tuple(TrajectoryPoint(0.2 * i, 120.0 + 2.6 * i, -45.0, 0.0, 13.0, 0.1)
                                for i in range(25)),
                          leader_id=0x55, time_gap=0.8)
    corpus = [
        codec.encode_bsm(report, origin=ORIGIN),
        codec.encode_bsm(report, origin=ORIGIN, altitude=1890.0, path_history=history,
                         path_prediction=PathPrediction(300.0, 0.8)),
        codec.encode_spat(spat),
        codec.encode_map(map_message, origin=ORIGIN),
        codec.encode_maneuver(share, origin=ORIGIN),
    ]
    if CONFORMANCE_HEX.is_file():
        corpus.append(bytes.fromhex("".join(CONFORMANCE_HEX.read_text().split())))
    return corpus


def _members(per_type) -> list:
    """Root members and extension additions of an asn1tools PER SEQUENCE or CHOICE type."""
    members = list(getattr(per_type, "root_members", None) or per_type.root_index_to_member.values())
    additions = getattr(per_type, "additions", None) or getattr(per_type, "additions_index_to_member", None)
    if isinstance(additions, dict):
        additions = additions.values()
    for addition in additions or ():
        members.extend(getattr(addition, "root_members", [addition]))   # an addition group is a SEQUENCE
    return members


def integer_fields(per_type, value, found: list) -> list:
    """Every INTEGER in ``value`` (a decoded raw value of ``per_type``) as (holder, key, minimum,
    maximum): the places a structure-aware mutation can set to any value its type allows."""
    kind = type(per_type).__name__
    if kind in ("Sequence", "Set") and isinstance(value, dict):
        for member in _members(per_type):
            if member.name in value:
                child = value[member.name]
                if type(member).__name__ == "Integer" and member.minimum is not None:
                    found.append((value, member.name, member.minimum, member.maximum))
                else:
                    integer_fields(member, child, found)
    elif kind in ("SequenceOf", "SetOf") and isinstance(value, list):
        for index, child in enumerate(value):
            if type(per_type.element_type).__name__ == "Integer" and per_type.element_type.minimum is not None:
                found.append((value, index, per_type.element_type.minimum, per_type.element_type.maximum))
            else:
                integer_fields(per_type.element_type, child, found)
    elif kind == "Choice" and isinstance(value, tuple):   # an INTEGER alternative is left alone (tuples)
        member = next((m for m in _members(per_type) if m.name == value[0]), None)
        if member is not None:
            integer_fields(member, value[1], found)
    elif kind == "Recursive":
        integer_fields(per_type.inner, value, found)
    return found


def mutable_integer_fields(type_name: str, value: dict) -> list:
    """:func:`integer_fields` of a decoded J2735 message, its BSM Part II extensions included, less
    the ``partII-Id`` that selects how a Part II value is encoded."""
    spec = codec.compiled_modules()
    fields = [f for f in integer_fields(spec.types[type_name].type, value, []) if f[1] != "partII-Id"]
    for part in value.get("partII", []):
        if isinstance(part["partII-Value"], dict):
            integer_fields(spec.types["VehicleSafetyExtensions"].type, part["partII-Value"], fields)
    return fields


def field_mutation(packet: bytes, rng: np.random.Generator) -> bytes:
    """``packet`` with one constrained INTEGER set to a value drawn uniformly from its whole range,
    then re-encoded: a valid frame whose values reach the SI conversions' corners (the range ends,
    the 'unavailable' codes and everything between), which byte-level mutations seldom hit."""
    type_name, value = codec.decode_frame_raw(packet)
    fields = mutable_integer_fields(type_name, value)
    holder, key, minimum, maximum = fields[int(rng.integers(0, len(fields)))]
    holder[key] = int(rng.integers(minimum, maximum + 1))
    return codec.encode_frame_raw(type_name, value)


def mutate(packet: bytes, kind: str, rng: np.random.Generator) -> bytes:
    """One mutated packet of ``kind`` (see MUTATIONS) derived from ``packet``."""
    if kind == "field":
        return field_mutation(packet, rng)
    data = bytearray(packet)
    if kind == "bitflip":
        for _ in range(int(rng.integers(1, 9))):
            bit = int(rng.integers(0, 8 * len(data)))
            data[bit // 8] ^= 0x80 >> (bit % 8)
    elif kind == "truncate":
        del data[int(rng.integers(0, len(data))):]
    elif kind == "extend":
        data += rng.bytes(int(rng.integers(1, 17)))
    elif kind == "splice":
        start = int(rng.integers(0, len(data)))
        stop = int(rng.integers(start, len(data) + 1))
        data[start:stop] = rng.bytes(int(rng.integers(0, 2 * (stop - start) + 2)))
    else:
        data = bytearray(rng.bytes(int(rng.integers(0, 257))))
    return bytes(data)


def outcome(packet: bytes) -> str:
    """``decoded``, ``V2xDecodeError`` or the name of any other exception raised."""
    try:
        codec.decode_frame(packet, origin=ORIGIN, now=15.0)
    except codec.V2xDecodeError:
        return "V2xDecodeError"
    except Exception as exc:   # the failure this script hunts for
        return f"OTHER:{type(exc).__name__}"
    return "decoded"


def run(count: int, seed: int) -> tuple[collections.Counter, float]:
    """Decode ``count`` mutated packets; return outcome counts by (kind, outcome) and the
    per-packet decode time of the mutated packets relative to the valid corpus."""
    rng = np.random.default_rng(seed)
    corpus = build_corpus()
    start = time.perf_counter()
    repeats = max(1, min(200, count // 50))
    for _ in range(repeats):
        for packet in corpus:
            outcome(packet)
    baseline = (time.perf_counter() - start) / (repeats * len(corpus))
    counts: collections.Counter = collections.Counter()
    decoding = 0.0
    for _ in range(count):
        kind = MUTATIONS[int(rng.integers(0, len(MUTATIONS)))]
        packet = mutate(corpus[int(rng.integers(0, len(corpus)))], kind, rng)
        start = time.perf_counter()
        counts[(kind, outcome(packet))] += 1
        decoding += time.perf_counter() - start
    per_packet = decoding / max(count, 1)
    return counts, per_packet / baseline


RECEIVE_KINDS = ("valid", "insider_mutated_payload", "mutated_envelope", "random")
FRAMES_PER_TICK = 50
TICK = 0.05


def restamped(packet: bytes, now: float) -> bytes:
    """``packet`` with its secMark set to ``now`` [s] (BSM, manoeuvre), so it is fresh at ``now``."""
    type_name, value = codec.decode_frame_raw(packet)
    holder = value["coreData"] if "coreData" in value else value
    if "secMark" not in holder:
        return packet
    holder["secMark"] = round(now * 1000.0) % 60000
    return codec.encode_frame_raw(type_name, value)


class _FrameFeeder:
    """Feeds the V2X node under test: every tick an ego state, sensor tracks (one of them where the
    corpus BSM claims to be) and ``FRAMES_PER_TICK`` fuzzed frames; records each frame's kind."""

    node_name = "fuzz_feeder"

    def __init__(self, count: int, seed: int):
        from cav_stack.core.params import load_node_params
        from cav_stack.nodes.v2x_node import V2xNode
        from cav_stack.core.share import share_path
        from cav_stack.v2x.pki import SeededPki
        from cav_stack.v2x.security import MessageSigner
        from cav_stack.v2x.trust_params import load_trust_params

        self.node_params = load_node_params(share_path("v2x", "v2x_node.yaml"), "v2x_node", V2xNode.params_type)
        trust = load_trust_params(share_path("v2x", "security.yaml"))
        pki = SeededPki(trust.seeded_pki, self.node_params.pki_seed)
        self.vehicles = [MessageSigner(trust.security, pki.pseudonyms(100 + k)) for k in range(20)]
        self.rsu = MessageSigner(trust.security, [pki.roadside(0)])
        self.origin = self.node_params.generation.origin()
        self.rng = np.random.default_rng(seed)
        self.remaining = count
        self.kinds: dict[bytes, str] = {}
        report = V2xVehicleReport(header=Header(0.0, "map"), station_id=0x1234ABCD, msg_count=1,
                                  x=30.0, y=0.0, yaw=0.0, speed=20.0, accel=0.0, yaw_rate=0.0, position_sigma=1.0)
        self.corpus = build_corpus() + [codec.encode_bsm(report, origin=self.origin)]

    def frames(self, now: float) -> list[bytes]:
        from cav_stack.v2x.permissions import PSID_OF_MESSAGE

        batch = []
        for _ in range(min(FRAMES_PER_TICK, self.remaining)):
            kind = RECEIVE_KINDS[int(self.rng.integers(0, len(RECEIVE_KINDS)))]
            packet = restamped(self.corpus[int(self.rng.integers(0, len(self.corpus)))], now)
            message_type = codec.message_type_of(packet)
            signer = self.rsu if message_type in ("SPAT", "MAP", "RSA") else \
                self.vehicles[int(self.rng.integers(0, len(self.vehicles)))]
            if kind == "valid":
                frame = signer.sign(packet, PSID_OF_MESSAGE[message_type], now)
            elif kind == "insider_mutated_payload":
                mutation = MUTATIONS[int(self.rng.integers(0, len(MUTATIONS) - 1))]   # random bytes below
                frame = signer.sign(mutate(packet, mutation, self.rng), PSID_OF_MESSAGE[message_type], now)
            elif kind == "mutated_envelope":
                mutation = BYTE_MUTATIONS[int(self.rng.integers(0, len(BYTE_MUTATIONS) - 1))]
                frame = mutate(signer.sign(packet, PSID_OF_MESSAGE[message_type], now), mutation, self.rng)
            else:
                frame = mutate(packet, "random", self.rng)
            self.kinds[frame] = kind
            batch.append(frame)
        self.remaining -= len(batch)
        return batch


def run_receive_path(count: int, seed: int) -> tuple[collections.Counter, collections.Counter]:
    """Feed ``count`` fuzzed frames to a V2X node; return its outcome counts by (kind, outcome)
    and the exceptions its callbacks raised by (node, exception type)."""
    import logging

    from cav_stack.core.messages import EgoState, TrackedObject, TrackList, V2xFrame
    from cav_stack.nodes.v2x_node import V2xNode
    from cav_stack.runtime.executor import InProcessExecutor
    from cav_stack.runtime.node import Node

    feeder = _FrameFeeder(count, seed)
    raised: collections.Counter = collections.Counter()

    class Raised(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            key = (record.args[0], record.exc_info[0].__name__)
            if key not in raised:    # the first traceback of each kind, to find the bug
                print("".join(traceback.format_exception(*record.exc_info)), file=sys.stderr)
            raised[key] += 1

    class Feeder(Node):
        node_name = feeder.node_name

        def __init__(self, context):
            super().__init__(context)
            self.ego = self.create_publisher(EgoState, "/fuzz/ego")
            self.tracks = self.create_publisher(TrackList, "/fuzz/tracks")
            self.out = self.create_publisher(V2xFrame, "/fuzz/frames")
            self.create_timer(TICK, self.tick)

        def tick(self) -> None:
            now = self.now()
            self.ego.publish(EgoState(Header(now, "map"), 0.0, 0.0, 0.0, 20.0))
            self.tracks.publish(TrackList(Header(now, "map"), (TrackedObject(1, 31.5, 0.0, 0.0, 20.0, 4.5, 1.8),)))
            for frame in feeder.frames(now):
                self.out.publish(V2xFrame(Header(now, "map"), 7, frame, "unknown"))

    handler = Raised()
    guard_log = logging.getLogger("cav_stack.runtime.callback_guard")
    guard_log.addHandler(handler)
    guard_log.propagate = False
    try:
        executor = InProcessExecutor(seed)
        executor.add_node(Feeder)
        node = executor.add_node(V2xNode, namespace="cav_0", params=feeder.node_params,
                                 remappings={"input/frames": "/fuzz/frames", "input/ego_state": "/fuzz/ego",
                                             "input/sensor_objects": "/fuzz/tracks"})
        counts: collections.Counter = collections.Counter()
        node.acceptance_observers.append(lambda frame, received: counts.update(
            [(feeder.kinds.get(frame, "?"), f"accepted {received.message_type}")]))
        while feeder.remaining > 0:
            executor.spin_until(executor.now() + TICK)
    finally:
        guard_log.removeHandler(handler)
        guard_log.propagate = True
    counts.update({("all kinds", f"refused {reason}"): n for reason, n in node.refusals.items()})
    return counts, raised


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("decode", "receive"), default="decode",
                        help="the decoder alone, or a V2X node's whole receive path")
    parser.add_argument("--count", type=int, default=100_000, help="packets to decode / frames to receive")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args()
    if args.count < 1:
        print("v2x_fuzz: --count must be >= 1")
        return 2
    if args.target == "receive":
        start = time.perf_counter()
        counts, raised = run_receive_path(args.count, args.seed)
        for (kind, result), n in sorted(counts.items()):
            print(f"{kind:24s} {result:32s} {n:8d}")
        for (node, exception), n in sorted(raised.items()):
            print(f"UNHANDLED {exception} in {node}: {n}")
        print(f"{args.count} frames through the receive path in {time.perf_counter() - start:.0f} s; "
              f"unhandled exceptions: {sum(raised.values())}")
        return 1 if raised else 0
    counts, ratio = run(args.count, args.seed)
    by_outcome: collections.Counter = collections.Counter()
    print(f"{'mutation':10s} {'outcome':24s} {'count':>8s}")
    for (kind, result), n in sorted(counts.items()):
        print(f"{kind:10s} {result:24s} {n:8d}")
        by_outcome[result] += n
    for result, n in sorted(by_outcome.items()):
        print(f"total {result}: {n}")
    print(f"decode time per mutated packet / per valid packet: {ratio:.2f}")
    return 1 if any(result.startswith("OTHER") for result in by_outcome) else 0


if __name__ == "__main__":
    raise SystemExit(main())
