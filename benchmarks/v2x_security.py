"""Throughput of V2X envelope verification on one core, without and with the certificate cache.

- uncached: every envelope a distinct message from a distinct signer (its own pseudonym
  certificate, sent in full): decode, relevance, the signer's certificate parsed and its
  signature checked against the pseudonym CA of the trust store, PSID, replay, message
  signature; no envelope, certificate or signature is seen twice, so no cache or memo can hit
  (the certificate cache's hit count is checked to be 0).
- broadcast: one receiver among ``--neighbours`` stations broadcasting at 10 Hz for ``--seconds``
  (full certificate once per second, digest otherwise, SAE J2945/1), each envelope verified
  once, the certificate cache on: the rate and the share of signer look-ups served by the cache.
Signing is timed separately (the stream is built before timing verification). For machines
shared with other work, ``ecdsa_verify_per_s`` is a bare P-256 verification (cryptography /
OpenSSL) timed in the same run: ``uncached_per_ecdsa`` (uncached rate over it) does not depend
on the load.

    python benchmarks/v2x_security.py [--json] [--messages 3000] [--neighbours 300] [--seconds 3]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

from cav_stack.v2x.permissions import PSID_V2V
from cav_stack.v2x.pki import SeededPki
from cav_stack.v2x.security import Accepted, MessageSigner, MessageVerifier
from cav_stack.v2x.trust_params import load_trust_params

PARAMS_PATH = Path(__file__).resolve().parents[1] / "v2x" / "security.yaml"
PAYLOAD_BYTES = 40  # BSM core data of a J2735 MessageFrame, UPER


def payload(station: int, step: int) -> bytes:
    """A BSM-sized payload distinct for every (station, step)."""
    return (station.to_bytes(4, "big") + step.to_bytes(4, "big")) * (PAYLOAD_BYTES // 8)


def verify_all(verifier: MessageVerifier, stream: list[tuple[bytes, float]]) -> float:
    """Verifications per second of ``stream`` (envelope, generation time [s]); raises if one is refused."""
    start = time.perf_counter()
    results = [verifier.verify(envelope, now + 0.001) for envelope, now in stream]
    elapsed = time.perf_counter() - start
    if not all(isinstance(r, Accepted) for r in results):
        raise RuntimeError(f"honest envelopes refused: {verifier.refusal_counts()}")
    return len(stream) / elapsed


def uncached_rate(params, messages: int) -> tuple[float, float]:
    """(verifications/s, signatures/s) over ``messages`` envelopes from as many signers."""
    pki = SeededPki(dataclasses.replace(params.seeded_pki, pseudonyms_per_station=1), seed=1)
    signers = [MessageSigner(params.security, pki.pseudonyms(station)) for station in range(messages)]
    start = time.perf_counter()
    stream = [(signer.sign(payload(station, 0), PSID_V2V, 0.0), 0.0) for station, signer in enumerate(signers)]
    sign_rate = messages / (time.perf_counter() - start)
    verifier = MessageVerifier(params.security, [pki.root.certificate], pki.ca_certificates)
    rate = verify_all(verifier, stream)
    if verifier.certificate_cache_hits:
        raise RuntimeError(f"{verifier.certificate_cache_hits} certificate cache hits in the uncached stream")
    return rate, sign_rate


def broadcast(params, neighbours: int, seconds: float) -> tuple[float, float, int]:
    """(verifications/s, certificate cache hit rate, envelopes) for one receiver among ``neighbours``."""
    pki = SeededPki(dataclasses.replace(params.seeded_pki, pseudonyms_per_station=1), seed=2)
    signers = [MessageSigner(params.security, pki.pseudonyms(station)) for station in range(neighbours)]
    stream = []
    for step in range(round(seconds * 10)):
        for station, signer in enumerate(signers):
            now = 0.1 * step + 0.1 * station / neighbours   # stations' clocks spread over the period
            stream.append((signer.sign(payload(station, step), PSID_V2V, now), now))
    verifier = MessageVerifier(params.security, [pki.root.certificate], pki.ca_certificates)
    rate = verify_all(verifier, stream)
    lookups = verifier.certificate_cache_hits + verifier.certificate_cache_misses
    return rate, verifier.certificate_cache_hits / lookups, len(stream)


def ecdsa_rate(seconds: float = 0.5) -> float:
    """Bare ECDSA P-256 verifications per second (the load reference)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.derive_private_key(12345, ec.SECP256R1())
    digest = bytes(32)
    signature = key.sign(digest, ec.ECDSA(hashes.SHA256()))
    public, count, start = key.public_key(), 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        public.verify(signature, digest, ec.ECDSA(hashes.SHA256()))
        count += 1
    return count / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    parser.add_argument("--messages", type=int, default=3000, help="distinct messages/signers, uncached")
    parser.add_argument("--neighbours", type=int, default=300, help="broadcasting stations around the receiver")
    parser.add_argument("--seconds", type=float, default=3.0, help="broadcast duration [s]")
    args = parser.parse_args()
    if args.messages < 1 or args.neighbours < 1 or not args.seconds > 0.0:
        print("v2x_security: --messages and --neighbours must be >= 1, --seconds > 0")
        return 2
    params = load_trust_params(PARAMS_PATH)
    reference = ecdsa_rate()
    uncached, sign_rate = uncached_rate(params, args.messages)
    cached, hit_rate, envelopes = broadcast(params, args.neighbours, args.seconds)
    reference = 0.5 * (reference + ecdsa_rate())
    result = {"verify_per_s_uncached": round(uncached), "uncached_messages": args.messages,
              "broadcast_neighbours": args.neighbours, "broadcast_envelopes": envelopes,
              "verify_per_s_broadcast": round(cached), "certificate_cache_hit_rate": round(hit_rate, 4),
              "sign_per_s": round(sign_rate), "ecdsa_verify_per_s": round(reference),
              "uncached_per_ecdsa": round(uncached / reference, 4),
              "cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"verify, distinct messages and signers, chain every message: {uncached:8.0f} /s (goal >= 2000 /s)")
    print(f"verify, {args.neighbours} neighbours at 10 Hz, certificate cache: {cached:8.0f} /s, "
          f"cache hit rate {hit_rate:.3f} ({envelopes} envelopes)")
    print(f"sign: {sign_rate:8.0f} /s; bare ECDSA verify {reference:8.0f} /s "
          f"(cpus {result['cpus']}, 1-min load {result['load_1min']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
