"""Independent construction of 1609.2-style signed envelopes for tests.

``forge_envelope`` builds envelopes directly with asn1tools, hashlib and cryptography,
independently of cav_stack's signer, so tests can craft honest and forged messages alike.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

REPO_ROOT = Path(__file__).resolve().parents[4]
ASN1_PATH = REPO_ROOT / "v2x" / "asn1" / "Ieee1609Dot2Compact.asn"
BSM_PSID = 32


def time64(stack_time: float, offset: float) -> int:
    """Stack time [s] to microseconds since 2004-01-01 given the TAI-2004 offset [s]."""
    return round((offset + stack_time) * 1e6)


def forge_envelope(asn, key: ec.EllipticCurvePrivateKey, certificate_encoding: bytes, payload: bytes,
                   psid: int, generation_time64: int, full_certificate: bool) -> bytes:
    """A signed envelope per 1609.2 5.3.1.2.2, built without cav_stack's signing code."""
    tbs = {"payload": {"data": {"protocolVersion": 3, "content": ("unsecuredData", payload)}},
           "headerInfo": {"psid": psid, "generationTime": generation_time64}}
    cert_hash = hashlib.sha256(certificate_encoding).digest()
    digest = hashlib.sha256(hashlib.sha256(asn.encode("ToBeSignedData", tbs)).digest() + cert_hash).digest()
    r, s = utils.decode_dss_signature(key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
    if full_certificate:
        signer = ("certificate", [asn.decode("Certificate", certificate_encoding)])
    else:
        signer = ("digest", cert_hash[-8:])
    signed = {"hashId": "sha256", "tbsData": tbs, "signer": signer,
              "signature": ("ecdsaNistP256Signature", {"rSig": ("x-only", r.to_bytes(32, "big")),
                                                       "sSig": s.to_bytes(32, "big")})}
    return asn.encode("Ieee1609Dot2Data", {"protocolVersion": 3, "content": ("signedData", signed)})
