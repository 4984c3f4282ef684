"""Throughput of V2X envelope signing and verification on one core.

A seeded PKI and a stream of signed BSM-sized envelopes from many 10 Hz senders (full certificate
once per second, digest otherwise, as in SAE J2945/1). The verifier is timed over the whole
receive path (decode, relevance, chain, replay, signature). Baseline in the same process: the
same stream verified with the full certificate chain re-checked for every message (no cache).

    python benchmarks/v2x_security.py [--senders 50] [--seconds 4] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from cav_stack.v2x.pki import SeededPki
from cav_stack.v2x.security import Accepted, MessageSigner, MessageVerifier
from cav_stack.v2x.trust_params import load_trust_params

PARAMS_PATH = Path(__file__).resolve().parents[1] / "v2x" / "security.yaml"
BSM_PSID = 32
PAYLOAD_BYTES = 40  # BSM core data of a J2735 MessageFrame, UPER


def signed_stream(pki: SeededPki, params, senders: int, seconds: float) -> tuple[list[tuple[bytes, float]], float]:
    """Envelopes from ``senders`` stations at 10 Hz for ``seconds`` in time order, and sign time [s]."""
    signers = [MessageSigner(params.security, pki.pseudonyms(station)) for station in range(senders)]
    stream, elapsed = [], 0.0
    for step in range(round(seconds * 10)):
        now = 0.1 * step
        for station, signer in enumerate(signers):
            payload = bytes([station % 256, step % 256]) * (PAYLOAD_BYTES // 2)
            start = time.perf_counter()
            envelope = signer.sign(payload, BSM_PSID, now)
            elapsed += time.perf_counter() - start
            stream.append((envelope, now))
    return stream, elapsed


def verify_rate(pki: SeededPki, params, stream: list[tuple[bytes, float]], reverify: bool, repeats: int) -> float:
    """Best verifications per second over ``repeats`` passes, each with a fresh verifier."""
    best = 0.0
    for _ in range(repeats):
        verifier = MessageVerifier(params.security, [pki.root.certificate], [pki.pseudonym_ca.certificate],
                                   reverify_chain_each_message=reverify)
        start = time.perf_counter()
        results = [verifier.verify(envelope, now + 0.001) for envelope, now in stream]
        elapsed = time.perf_counter() - start
        if not all(isinstance(r, Accepted) for r in results):
            raise RuntimeError(f"honest envelopes refused: {verifier.refusal_counts()}")
        best = max(best, len(stream) / elapsed)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    params = load_trust_params(PARAMS_PATH)
    pki = SeededPki(params.seeded_pki, seed=1)
    stream, sign_time = signed_stream(pki, params, args.senders, args.seconds)
    sizes = sorted(len(envelope) for envelope, _ in stream)
    cached = verify_rate(pki, params, stream, reverify=False, repeats=args.repeats)
    uncached = verify_rate(pki, params, stream, reverify=True, repeats=args.repeats)
    print(f"{len(stream)} envelopes from {args.senders} senders at 10 Hz; "
          f"size {sizes[0]}..{sizes[-1]} bytes (digest..full certificate)")
    print(f"sign:                          {len(stream) / sign_time:9.0f} /s")
    print(f"verify, certificate cache:     {cached:9.0f} /s   (goal >= 2000 /s)")
    print(f"verify, chain every message:   {uncached:9.0f} /s   (baseline)")
    print(f"cached / baseline:             {cached / uncached:9.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
