"""Fuzz the J2735 decoder: mutated and random packets must only ever raise V2xDecodeError.

Runs N packets (default 100000) through ``cav_stack.v2x.codec.decode_frame`` and prints the
count of each outcome per mutation kind, and the decode time per mutated packet as a ratio
to the decode time of the valid corpus measured in the same process.

    .venv/bin/python benchmarks/v2x_fuzz.py [--count N] [--seed S]

Exit status 1 when any packet raised something other than V2xDecodeError.
"""
from __future__ import annotations

import argparse
import collections
import math
import time
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
MUTATIONS = ("bitflip", "truncate", "extend", "splice", "random")


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


def mutate(packet: bytes, kind: str, rng: np.random.Generator) -> bytes:
    """One mutated packet of ``kind`` (see MUTATIONS) derived from ``packet``."""
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
    start = time.perf_counter()
    for _ in range(count):
        kind = MUTATIONS[int(rng.integers(0, len(MUTATIONS)))]
        packet = mutate(corpus[int(rng.integers(0, len(corpus)))], kind, rng)
        counts[(kind, outcome(packet))] += 1
    per_packet = (time.perf_counter() - start) / max(count, 1)
    return counts, per_packet / baseline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="packets to decode")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args()
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
