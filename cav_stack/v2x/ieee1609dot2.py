"""IEEE Std 1609.2 primitives: ASN.1 spec, time base, hashes and ECDSA P-256 signatures.

The structures are the compact subset in ``v2x/asn1/Ieee1609Dot2Compact.asn`` (UPER-encoded,
see the deviations listed there). Clause numbers refer to IEEE Std 1609.2-2016/2022.

Time: 1609.2 Time32/Time64 count TAI seconds/microseconds since 2004-01-01 00:00:00 UTC.
The stack runs on its own clock (seconds); ``tai2004_offset`` [s] is the TAI-2004 time of stack
time 0, so ``tai2004 = stack_time + tai2004_offset``.
"""
from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asn1tools
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cav_stack.core.share import share_path


#: Ieee1609Dot2Data.protocolVersion (1609.2 clause 6.3).
PROTOCOL_VERSION = 3
#: Certificate.version (1609.2 clause 6.4).
CERTIFICATE_VERSION = 3

_CURVE = ec.SECP256R1()
_ECDSA_PREHASHED = ec.ECDSA(utils.Prehashed(hashes.SHA256()))
#: Deterministic nonces (RFC 6979): the same key and digest always give the same signature, so
#: seeded certificates and envelopes are reproducible byte for byte.
_ECDSA_DETERMINISTIC = ec.ECDSA(utils.Prehashed(hashes.SHA256()), deterministic_signing=True)
#: Order n of the P-256 group (FIPS 186-4 D.1.2.3).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

#: Seconds per unit of each Duration alternative (1609.2 base types: a year is 31556952 s).
DURATION_UNIT_S: dict[str, float] = {
    "microseconds": 1e-6,
    "milliseconds": 1e-3,
    "seconds": 1.0,
    "minutes": 60.0,
    "hours": 3600.0,
    "sixtyHours": 216000.0,
    "years": 31556952.0,
}

#: Exceptions asn1tools raises on arbitrary bytes (decoding) or odd decoded values (re-encoding):
#: its own errors, and on some inputs ValueError/NotImplementedError/IndexError from its bit
#: reader, RecursionError on deep nesting of the recursive Ieee1609Dot2Data.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    asn1tools.Error, ValueError, NotImplementedError, IndexError, RecursionError, OverflowError,
)


class SecurityFormatError(ValueError):
    """A 1609.2 structure is well-formed ASN.1 but not acceptable here (documented per call)."""


@functools.cache
def spec(path: Path | None = None) -> asn1tools.compiler.Specification:
    """The compiled UPER specification of the compact 1609.2 module (compiled once per path;
    default: ``v2x/asn1/Ieee1609Dot2Compact.asn`` of the package's data folders)."""
    return asn1tools.compile_files(str(path or share_path("v2x", "asn1", "Ieee1609Dot2Compact.asn")), "uper")


@dataclass(frozen=True)
class SignedEncodings:
    """The received encodings of an envelope's signed parts, cut from its bits while decoding.

    ``tbs_data``: the SignedData's ToBeSignedData (the bytes the message signature covers);
    ``certificates``: per certificate of a SignerIdentifier ``certificate`` list, in order,
    (the Certificate's encoding, its ToBeSignedCertificate's encoding). Each is the part's own
    UPER encoding: unaligned PER encodes a nested value with the same bits as standalone, which
    then pads them with zero bits to whole octets.
    """

    tbs_data: bytes
    certificates: tuple[tuple[bytes, bytes], ...]


def _member(per_type: Any, name: str) -> Any:
    members = getattr(per_type, "root_members", None) or per_type.root_index_to_member.values()
    return next(member for member in members if member.name == name)


def _padded(bits: str) -> bytes:
    """Bits ('0'/'1' characters) as bytes, zero-padded at the end to whole octets."""
    size = max(1, (len(bits) + 7) // 8)
    return int(bits.ljust(8 * size, "0"), 2).to_bytes(size, "big")


#: Per thread: the (part, start bit, end bit) spans recorded by the running decode_envelope, or None.
_SPANS = threading.local()


def _recording(key: str, decode: Any) -> Any:
    def recorded(decoder: Any) -> Any:
        start = decoder.number_of_read_bits()
        value = decode(decoder)
        spans = getattr(_SPANS, "spans", None)
        if spans is not None:
            spans.append((key, start, decoder.number_of_read_bits()))
        return value
    return recorded


@functools.cache
def _record_spans() -> None:
    """Wrap, once per process, the ``decode`` of three types inside the compiled Ieee1609Dot2Data
    (the SignedData's ToBeSignedData, a signer Certificate and its ToBeSignedCertificate) so that
    each decode's bit span is recorded while :func:`decode_envelope` runs."""
    root = spec().types["Ieee1609Dot2Data"].type
    signed = _member(_member(root, "content"), "signedData")
    certificate = _member(_member(signed, "signer"), "certificate").element_type
    for key, per_type in (("tbs_data", _member(signed, "tbsData")), ("certificate", certificate),
                          ("certificate_tbs", _member(certificate, "toBeSigned"))):
        per_type.decode = _recording(key, per_type.decode)


def decode_envelope(data: bytes) -> tuple[dict[str, Any], int, SignedEncodings | None]:
    """Decode ``data`` as a UPER Ieee1609Dot2Data: (value, bytes its encoding takes up, the
    encodings of its signed parts, None unless it is signedData).

    UPER carries no overall length and asn1tools ignores bytes after the value, so its bit reader
    (``asn1tools.codecs.uper.Decoder``) is driven here and its count of bits read gives the end;
    the same counts give the signed parts' encodings, so nothing is re-encoded to verify. Raises
    one of :data:`DECODE_ERRORS`.
    """
    _record_spans()
    decoder = asn1tools.codecs.uper.Decoder(bytearray(data))
    spans: list[tuple[str, int, int]] = []
    _SPANS.spans = spans
    try:
        value: dict[str, Any] = spec().types["Ieee1609Dot2Data"].type.decode(decoder)
    finally:
        _SPANS.spans = None
    length = (decoder.number_of_read_bits() + 7) // 8
    if value["content"][0] != "signedData":
        return value, length, None
    bits = decoder.value
    # the outermost ToBeSignedData starts first; a nested envelope in its payload lies inside it
    tbs_start, tbs_end = min((start, end) for key, start, end in spans if key == "tbs_data")
    certificates = sorted((start, end) for key, start, end in spans if key == "certificate" and start >= tbs_end)
    tbs_of_certificates = sorted((start, end) for key, start, end in spans
                                 if key == "certificate_tbs" and start >= tbs_end)
    return value, length, SignedEncodings(
        tbs_data=_padded(bits[tbs_start:tbs_end]),
        certificates=tuple((_padded(bits[c_start:c_end]), _padded(bits[t_start:t_end]))
                           for (c_start, c_end), (t_start, t_end) in zip(certificates, tbs_of_certificates,
                                                                          strict=True)))


def sha256(data: bytes) -> bytes:
    """SHA-256 digest of ``data`` (32 bytes)."""
    return hashlib.sha256(data).digest()


def hashed_id8(encoding: bytes) -> bytes:
    """HashedId8 of an encoded structure: the low-order (last) 8 bytes of its SHA-256 hash."""
    return sha256(encoding)[-8:]


def signing_digest(tbs_encoding: bytes, signer_encoding_hash: bytes) -> bytes:
    """The 32-byte value ECDSA signs, 1609.2 5.3.1.2.2: ``H(H(data input) || H(signer input))``.

    tbs_encoding: encoding of the ToBeSignedData or ToBeSignedCertificate (the data input);
    signer_encoding_hash: SHA-256 of the signer's encoded certificate, or of the empty string
    for self-signed structures (1609.2 6.3.4 SignedData, 6.4 certificates).
    """
    return sha256(sha256(tbs_encoding) + signer_encoding_hash)


def stack_to_time64(stack_time: float, tai2004_offset: float) -> int:
    """Stack time [s] to Time64 [µs since the 2004 epoch], exact to the microsecond.

    Raises SecurityFormatError for times before the epoch.
    """
    microseconds = round(tai2004_offset * 1e6) + round(stack_time * 1e6)
    if microseconds < 0:
        raise SecurityFormatError(f"stack time {stack_time} s is before the 1609.2 epoch (2004-01-01)")
    return microseconds


def time64_to_stack(time64: int, tai2004_offset: float) -> float:
    """Time64 [µs since the 2004 epoch] to stack time [s] (inverse of :func:`stack_to_time64`)."""
    return (time64 - round(tai2004_offset * 1e6)) * 1e-6


def duration_seconds(duration: tuple[str, int]) -> float:
    """Length of a decoded Duration CHOICE ``(unit, count)`` in seconds."""
    unit, count = duration
    return DURATION_UNIT_S[unit] * count


def encode_public_key(public_key: ec.EllipticCurvePublicKey) -> tuple[str, bytes]:
    """A P-256 public key as the compressed EccP256CurvePoint CHOICE (1609.2 canonical form)."""
    point = public_key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    return ("compressed-y-0" if point[0] == 2 else "compressed-y-1", point[1:])


def decode_public_key(point: tuple[str, Any]) -> ec.EllipticCurvePublicKey:
    """Load an EccP256CurvePoint CHOICE as a public key.

    Raises SecurityFormatError for x-only/fill (not a key) and for points not on P-256.
    """
    kind, value = point
    if kind == "compressed-y-0":
        encoded = b"\x02" + value
    elif kind == "compressed-y-1":
        encoded = b"\x03" + value
    elif kind == "uncompressedP256":
        encoded = b"\x04" + value["x"] + value["y"]
    else:
        raise SecurityFormatError(f"curve point of kind {kind!r} is not a public key")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, encoded)
    except ValueError as exc:
        raise SecurityFormatError(f"not a P-256 point: {exc}") from exc


def ecdsa_sign(private_key: ec.EllipticCurvePrivateKey, digest: bytes) -> tuple[str, dict[str, Any]]:
    """Sign a 32-byte digest (RFC 6979 nonce); the Signature CHOICE with r as x-only and s."""
    r, s = utils.decode_dss_signature(private_key.sign(digest, _ECDSA_DETERMINISTIC))
    return ("ecdsaNistP256Signature",
            {"rSig": ("x-only", r.to_bytes(32, "big")), "sSig": s.to_bytes(32, "big")})


def ecdsa_verify(public_key: ec.EllipticCurvePublicKey, digest: bytes, signature: tuple[str, dict[str, Any]]) -> bool:
    """True when ``signature`` (a decoded Signature CHOICE) is valid for ``digest`` under the key.

    rSig may be given as any curve-point alternative carrying an x coordinate;
    r and s must lie in [1, n-1].
    """
    kind, value = signature
    if kind != "ecdsaNistP256Signature":
        return False
    r_kind, r_value = value["rSig"]
    if r_kind == "fill":
        return False
    r_bytes = r_value["x"] if r_kind == "uncompressedP256" else r_value
    r = int.from_bytes(r_bytes, "big")
    s = int.from_bytes(value["sSig"], "big")
    if not (0 < r < P256_ORDER and 0 < s < P256_ORDER):
        return False
    try:
        public_key.verify(utils.encode_dss_signature(r, s), digest, _ECDSA_PREHASHED)
    except InvalidSignature:
        return False
    return True
