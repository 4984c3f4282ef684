"""Signed envelopes around encoded V2X payloads (IEEE 1609.2 style): signing and verification.

Envelope: ``Ieee1609Dot2Data { protocolVersion 3, content signedData }`` (1609.2 6.3, SignedData 6.3.4)
whose ToBeSignedData holds the payload as ``unsecuredData`` and a HeaderInfo with the PSID and
the generation time (Time64); the signer is the HashedId8 of the pseudonym
certificate, or the certificate itself (once after every pseudonym change and then at least
every ``full_certificate_interval``, the SAE J2945/1 practice); the signature is ECDSA P-256
over ``H(H(tbsData) || H(signer certificate))`` (5.3.1.2.2), r as x-only, s.

Verification order (cheap checks first, one ECDSA verification per message in steady state):
decode -> relevance (generation time vs ``now``, 5.2.5.2) -> signer certificate resolution and
chain to a trusted root (cached per HashedId8 after the first full check) -> validity at the
generation time -> PSID permission -> revocation -> replay -> signature. Whether the signer's
SSP permits the payload's message type is the receiver's check, after decoding
(:func:`cav_stack.v2x.permissions.permits` on :attr:`Accepted.ssp`).
Times: ``now`` and generation times are on the stack clock [s]; see ieee1609dot2 for the
mapping to TAI-2004.
"""
from __future__ import annotations

import collections
import enum
import functools
import heapq
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from cav_stack.core.params import validate_positive
from cav_stack.v2x import ieee1609dot2 as d2
from cav_stack.v2x.pki import Certificate, CertificateError, Credential, certificate_value, parse_certificate, \
    verify_certificate_signature


@dataclass(frozen=True)
class SecurityParams:
    """Signing and verification settings (``security`` section of ``v2x/security.yaml``).

    tai2004_offset: TAI seconds since 2004-01-01 at stack time 0 [s];
    max_age: oldest generation time accepted, relative to ``now`` [s] (older: stale);
    max_future: newest generation time accepted ahead of ``now`` (clock skew) [s];
    full_certificate_interval: longest time between envelopes carrying the full certificate [s];
    pseudonym_change_interval: time each pseudonym is used before changing [s];
    certificate_cache_size: verified certificates kept (least recently used dropped);
    max_envelope_bytes: longer envelopes are refused as malformed without decoding;
    max_chain_length: most certificates between a signer and its trusted root, inclusive.
    """

    tai2004_offset: float
    max_age: float
    max_future: float
    full_certificate_interval: float
    pseudonym_change_interval: float
    certificate_cache_size: int
    max_envelope_bytes: int
    max_chain_length: int

    def __post_init__(self) -> None:
        validate_positive(max_age=self.max_age, max_future=self.max_future,
                          pseudonym_change_interval=self.pseudonym_change_interval,
                          certificate_cache_size=self.certificate_cache_size,
                          max_envelope_bytes=self.max_envelope_bytes, max_chain_length=self.max_chain_length)
        if self.tai2004_offset < 0.0 or self.full_certificate_interval < 0.0:
            raise ValueError("tai2004_offset and full_certificate_interval must be >= 0")


class SecurityError(RuntimeError):
    """The signer cannot sign (no pseudonym certificate valid at the requested time)."""


class RefusalReason(enum.Enum):
    """Why a received envelope was refused (the value is the counter name)."""

    MALFORMED = "malformed"
    STALE = "stale"
    FUTURE = "future"
    UNKNOWN_CERTIFICATE = "unknown_certificate"
    EXPIRED_CERTIFICATE = "expired_certificate"
    PERMISSION = "permission"
    REVOKED = "revoked"
    REPLAY = "replay"
    BAD_SIGNATURE = "bad_signature"


@dataclass(frozen=True)
class Accepted:
    """A verified envelope: its payload (opaque bytes), PSID, generation time [s, stack clock],
    the HashedId8 of the signing certificate and that certificate's SSP for the PSID (None: none)."""

    payload: bytes
    psid: int
    generation_time: float
    signer_id: bytes
    ssp: bytes | None


@dataclass(frozen=True)
class Refused:
    """A refused envelope: the reason and a human-readable detail; unknown_digest: it was signed
    with the digest of a certificate this receiver has not learned yet (its sender is new here, and
    this station is likely new to it: ETSI TS 103 097 has it send its own certificate next)."""

    reason: RefusalReason
    detail: str
    unknown_digest: bool = False


def _signed_data(payload: bytes, psid: int, generation_time: int, signer: tuple[str, Any],
                 signature: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "protocolVersion": d2.PROTOCOL_VERSION,
        "content": ("signedData", {
            "hashId": "sha256",
            "tbsData": _tbs_data(payload, psid, generation_time),
            "signer": signer,
            "signature": signature,
        }),
    }


def _tbs_data(payload: bytes, psid: int, generation_time: int) -> dict[str, Any]:
    return {
        "payload": {"data": {"protocolVersion": d2.PROTOCOL_VERSION, "content": ("unsecuredData", payload)}},
        "headerInfo": {"psid": psid, "generationTime": generation_time},
    }


# Process-wide memos of the pure parts of verification. In a simulation every receiver in range
# verifies the same broadcast bytes in one process; decoding the envelope (which also cuts out
# its signed parts' encodings), checking its form, hashing its payload and checking the ECDSA
# signature under one certificate depend on those bytes (and the certificate) only, so each runs
# once per frame. The checks that depend on the receiver -- relevance at its clock, its
# certificate store and trust chain, revocation, replay -- still run per receiver. The decoded
# values are shared read-only.
_MEMO_SIZE = 8192


@dataclass(frozen=True)
class _Envelope:
    """What verification reads from a well-formed signed envelope, all fixed by its bytes: the
    SignedData value, the payload and its SHA-256 (part of the replay key), the signed parts'
    encodings, the PSID, and the generation and expiry times (Time64 [us]; expiry None: absent)."""

    signed: dict[str, Any]
    payload: bytes
    payload_hash: bytes
    encodings: d2.SignedEncodings
    psid: int
    generation_time: int
    expiry_time: int | None


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _parse_envelope(envelope: bytes) -> _Envelope | str:
    """The content of ``envelope``, or why it is malformed (the refusal's detail); raises one of
    :data:`~cav_stack.v2x.ieee1609dot2.DECODE_ERRORS` when it does not decode."""
    data, length, encodings = d2.decode_envelope(envelope)
    if length != len(envelope):
        return "bytes after the end of the envelope"
    kind, signed = data["content"]
    if kind != "signedData" or encodings is None:
        return f"content is {kind}, not signedData"
    if signed["hashId"] != "sha256":
        return f"hash algorithm {signed['hashId']} not supported"
    inner = signed["tbsData"]["payload"].get("data")
    if inner is None or inner["content"][0] != "unsecuredData":
        return "payload is not unsecured data"
    header = signed["tbsData"]["headerInfo"]
    if "generationTime" not in header:
        return "header carries no generation time"
    payload = inner["content"][1]
    return _Envelope(signed, payload, d2.sha256(payload), encodings, header["psid"], header["generationTime"],
                     header.get("expiryTime"))


K = TypeVar("K")
V = TypeVar("V")

_SIGNATURE_MEMO: collections.OrderedDict[tuple[bytes, bytes], bool] = collections.OrderedDict()
_CERTIFICATE_MEMO: collections.OrderedDict[tuple[bytes, bytes], Certificate] = collections.OrderedDict()


def _memoised(memo: collections.OrderedDict[K, V], key: K, compute: Callable[[], V]) -> V:
    """``memo[key]``, computed by ``compute()`` on a miss; least recently used entries beyond
    ``_MEMO_SIZE`` are dropped."""
    if key in memo:
        memo.move_to_end(key)
        return memo[key]
    value = memo[key] = compute()
    if len(memo) > _MEMO_SIZE:
        memo.popitem(last=False)
    return value


def _signature_valid(envelope: bytes, certificate: Certificate, tbs_encoding: bytes,
                     signature: tuple[str, dict[str, Any]]) -> bool:
    """ECDSA check of the envelope's signature under ``certificate``'s key (1609.2 5.3.1.2.2)."""
    def check() -> bool:
        digest = d2.signing_digest(tbs_encoding, certificate.encoding_hash)
        return d2.ecdsa_verify(certificate.public_key, digest, signature)
    return _memoised(_SIGNATURE_MEMO, (bytes(envelope), certificate.digest), check)


def _parsed_certificate(value: dict[str, Any], encodings: tuple[bytes, bytes]) -> Certificate:
    """:func:`parse_certificate` of a certificate cut from a received envelope, memoised on its
    received encodings (which ``value`` was decoded from, so they determine it): a certificate a
    broadcast carries is parsed once per process, not once per receiver. Parsing checks only the
    certificate's form; whether it chains to a receiver's trust anchors is checked per receiver.
    A certificate that cannot be parsed raises each time and is not kept."""
    return _memoised(_CERTIFICATE_MEMO, encodings, lambda: parse_certificate(value, encodings))


class MessageSigner:
    """Signs payloads for one station with a pool of pseudonym credentials.

    The pseudonym in use at ``now`` is the ``floor(now / pseudonym_change_interval)``-th (modulo
    the pool) of those valid at ``now``; callers watch :meth:`pseudonym_id` to change their
    temporary station ID and message counter together with it. An envelope carries the full
    certificate at least every ``full_certificate_interval``, on a pseudonym change, and once
    after :meth:`include_certificate_next` (a new neighbour; otherwise the digest).
    """

    def __init__(self, params: SecurityParams, pseudonyms: Sequence[Credential]):
        if not pseudonyms:
            raise ValueError("a signer needs at least one pseudonym credential")
        self.params = params
        self._pool = tuple(pseudonyms)
        self._last_credential: Credential | None = None
        self._last_full_certificate = float("-inf")
        self._certificate_wanted = False

    def include_certificate_next(self) -> None:
        """Carry the full certificate in the next envelope: a neighbour that has not learned it
        yet (one just heard for the first time, or one signing with a digest unknown here) cannot
        verify the digest-signed ones (the CAM security profile of ETSI TS 103 097; its test purpose
        TP_SEC_ITSS_SND_CAM_06_01_BV of ETSI TS 103 096-2)."""
        self._certificate_wanted = True

    def _tai2004(self, now: float) -> float:
        return now + self.params.tai2004_offset

    def active_credential(self, now: float) -> Credential:
        """The pseudonym credential used at ``now`` [s]; raises SecurityError if none is valid."""
        tai = self._tai2004(now)
        valid = [c for c in self._pool if c.certificate.valid_at(tai)]
        if not valid:
            raise SecurityError(f"no pseudonym certificate is valid at stack time {now} s")
        epoch = int(now // self.params.pseudonym_change_interval)
        return valid[epoch % len(valid)]

    def pseudonym_id(self, now: float) -> bytes:
        """HashedId8 of the pseudonym certificate used at ``now`` [s]."""
        return self.active_credential(now).certificate.digest

    def sign(self, payload: bytes, psid: int, now: float) -> bytes:
        """Wrap ``payload`` (opaque encoded bytes) for ``psid`` generated at ``now`` [s]; the envelope."""
        credential = self.active_credential(now)
        full = (credential is not self._last_credential or self._certificate_wanted
                or now - self._last_full_certificate >= self.params.full_certificate_interval)
        if full:
            signer: tuple[str, Any] = ("certificate", [certificate_value(credential.certificate)])
            self._last_full_certificate = now
            self._certificate_wanted = False
        else:
            signer = ("digest", credential.certificate.digest)
        self._last_credential = credential
        generation_time = d2.stack_to_time64(now, self.params.tai2004_offset)
        compiled = d2.spec()
        tbs_encoding = compiled.encode("ToBeSignedData", _tbs_data(payload, psid, generation_time))
        digest = d2.signing_digest(tbs_encoding, credential.certificate.encoding_hash)
        signature = d2.ecdsa_sign(credential.private_key, digest)
        envelope: bytes = compiled.encode("Ieee1609Dot2Data",
                                          _signed_data(payload, psid, generation_time, signer, signature))
        return envelope


@dataclass(frozen=True, eq=False)
class _TrustedSigner:
    """A certificate whose chain to a trusted root was verified, with the chain's intersection of
    validity [TAI-2004 s]."""

    certificate: Certificate
    valid_from: float
    valid_until: float


class _Refusal(Exception):
    def __init__(self, reason: RefusalReason, detail: str, unknown_digest: bool = False):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.unknown_digest = unknown_digest


class MessageVerifier:
    """Verifies signed envelopes against trusted root certificates and counts refusals.

    trust_anchors: self-signed root certificates (their signatures are checked here);
    ca_certificates: intermediate CA certificates known in advance (pseudonym and RSU CAs), whose
    chain to an anchor is verified once, on construction (a CA whose chain fails is never
    trusted); reverify_chain_each_message: do the full chain check, up to the anchor, for every
    message instead of using verified certificates and CAs (a reference for tests).
    """

    def __init__(self, params: SecurityParams, trust_anchors: Sequence[Certificate],
                 ca_certificates: Sequence[Certificate] = (), *, reverify_chain_each_message: bool = False):
        if not trust_anchors:
            raise ValueError("a verifier needs at least one trust anchor")
        self.params = params
        self._anchors: dict[bytes, Certificate] = {}
        for anchor in trust_anchors:
            if anchor.issuer_digest is not None or not verify_certificate_signature(anchor, None):
                raise CertificateError("trust anchors must be validly self-signed root certificates")
            self._anchors[anchor.digest] = anchor
        self._cas = {c.digest: c for c in ca_certificates}
        self._reverify = reverify_chain_each_message
        self._verified_cas: dict[bytes, _TrustedSigner] = {}
        for ca in ca_certificates:      # the trust store's CAs are checked once, here
            try:
                self._verified_cas[ca.digest] = self._walk(ca, {})
            except _Refusal:
                continue               # not chained to an anchor: never trusted
        self._trusted: collections.OrderedDict[bytes, _TrustedSigner] = collections.OrderedDict()
        self._learned: collections.OrderedDict[bytes, Certificate] = collections.OrderedDict()
        self._replay_keys: set[tuple[bytes, int, bytes]] = set()
        self._replay_expiry: list[tuple[float, tuple[bytes, int, bytes]]] = []
        self._refusals = collections.Counter({reason: 0 for reason in RefusalReason})
        self._revoked: set[bytes] = set()
        self.accepted_count = 0
        #: Signer resolutions served from the verified-certificate cache, and those that checked a chain.
        self.certificate_cache_hits = 0
        self.certificate_cache_misses = 0

    def revoke(self, digests: Iterable[bytes]) -> None:
        """Refuse, from now on, every envelope signed by a certificate of HashedId8 in ``digests``
        (a hash-based revocation list, 1609.2 clause 7.3)."""
        self._revoked.update(bytes(d) for d in digests)

    def refusal_counts(self) -> dict[str, int]:
        """Refused envelopes so far, by reason name (every reason present, zeros included)."""
        return {reason.value: count for reason, count in self._refusals.items()}

    def verify(self, envelope: bytes, now: float) -> Accepted | Refused:
        """Verify one received envelope at stack time ``now`` [s]; never raises for bad input."""
        try:
            result = self._verify(envelope, now)
        except _Refusal as refusal:
            self._refusals[refusal.reason] += 1
            return Refused(refusal.reason, refusal.detail, refusal.unknown_digest)
        self.accepted_count += 1
        return result

    def _verify(self, envelope: bytes, now: float) -> Accepted:
        parsed = self._decode(envelope)
        psid = parsed.psid
        generation_time = d2.time64_to_stack(parsed.generation_time, self.params.tai2004_offset)
        generation_tai = generation_time + self.params.tai2004_offset
        if now - generation_time > self.params.max_age:
            raise _Refusal(RefusalReason.STALE, f"generated {now - generation_time:.3f} s before now")
        if generation_time - now > self.params.max_future:
            raise _Refusal(RefusalReason.FUTURE, f"generated {generation_time - now:.3f} s after now")
        if (parsed.expiry_time is not None
                and d2.time64_to_stack(parsed.expiry_time, self.params.tai2004_offset) <= now):
            raise _Refusal(RefusalReason.STALE, "past its expiry time")
        signer = self._resolve_signer(parsed.signed["signer"], parsed.encodings.certificates)
        if not signer.valid_from <= generation_tai < signer.valid_until:
            raise _Refusal(RefusalReason.EXPIRED_CERTIFICATE,
                           "generation time outside the validity of the signer's certificate chain")
        certificate = signer.certificate
        if psid not in certificate.app_permissions:
            raise _Refusal(RefusalReason.PERMISSION, f"certificate does not permit PSID {psid}")
        if certificate.digest in self._revoked:
            raise _Refusal(RefusalReason.REVOKED, f"certificate {certificate.digest.hex()} is revoked")
        replay_key = (certificate.digest, parsed.generation_time, parsed.payload_hash)
        self._forget_replays(now)
        if replay_key in self._replay_keys:
            raise _Refusal(RefusalReason.REPLAY, "same signer, generation time and payload seen before")
        if not _signature_valid(envelope, certificate, parsed.encodings.tbs_data, parsed.signed["signature"]):
            raise _Refusal(RefusalReason.BAD_SIGNATURE, "signature does not verify")
        self._replay_keys.add(replay_key)
        heapq.heappush(self._replay_expiry, (generation_time + self.params.max_age, replay_key))
        return Accepted(parsed.payload, psid, generation_time, certificate.digest, certificate.app_permissions[psid])

    def _decode(self, envelope: bytes) -> _Envelope:
        if len(envelope) > self.params.max_envelope_bytes:
            raise _Refusal(RefusalReason.MALFORMED, f"envelope of {len(envelope)} bytes exceeds the limit")
        try:
            parsed = _parse_envelope(bytes(envelope))
        except d2.DECODE_ERRORS as exc:
            raise _Refusal(RefusalReason.MALFORMED, f"undecodable: {type(exc).__name__}") from exc
        if isinstance(parsed, str):
            raise _Refusal(RefusalReason.MALFORMED, parsed)
        return parsed

    def _forget_replays(self, now: float) -> None:
        """Drop replay keys of messages that would now be refused as stale anyway."""
        while self._replay_expiry and self._replay_expiry[0][0] < now:
            _, key = heapq.heappop(self._replay_expiry)
            self._replay_keys.discard(key)

    def _resolve_signer(self, signer: tuple[str, Any],
                        certificate_encodings: tuple[tuple[bytes, bytes], ...]) -> _TrustedSigner:
        kind, value = signer
        if kind == "digest":
            trusted = self._trusted.get(value)
            if trusted is not None and not self._reverify:
                self._trusted.move_to_end(value)
                self.certificate_cache_hits += 1
                return trusted
            learned = self._learned.get(value)
            if learned is None:
                raise _Refusal(RefusalReason.UNKNOWN_CERTIFICATE, f"no certificate known for digest {value.hex()}",
                               unknown_digest=True)
            return self._verify_chain(learned, {})
        if kind == "certificate":
            if not value or len(value) > self.params.max_chain_length:
                raise _Refusal(RefusalReason.MALFORMED, f"certificate list of length {len(value)}")
            try:
                chain = [_parsed_certificate(v, e) for v, e in zip(value, certificate_encodings, strict=True)]
            except CertificateError as exc:
                raise _Refusal(RefusalReason.MALFORMED, f"bad certificate: {exc}") from exc
            trusted = self._trusted.get(chain[0].digest)
            if trusted is not None and not self._reverify:
                self._trusted.move_to_end(chain[0].digest)
                self.certificate_cache_hits += 1
                return trusted
            return self._verify_chain(chain[0], {c.digest: c for c in chain[1:]})
        raise _Refusal(RefusalReason.UNKNOWN_CERTIFICATE, f"signer identifier {kind!r} is not trusted")

    def _verify_chain(self, leaf: Certificate, supplied: dict[bytes, Certificate]) -> _TrustedSigner:
        """Check ``leaf``'s chain (:meth:`_walk`) and remember it as trusted."""
        self.certificate_cache_misses += 1
        trusted = self._walk(leaf, supplied)
        self._remember(self._learned, leaf.digest, leaf)
        self._remember(self._trusted, leaf.digest, trusted)
        return trusted

    def _walk(self, leaf: Certificate, supplied: dict[bytes, Certificate]) -> _TrustedSigner:
        """Walk from ``leaf`` up to a trust anchor, checking issuing rights and signatures; the walk
        ends early at a CA of the trust store already verified (unless every chain is re-checked)."""
        chain = [leaf]
        verified_ca: _TrustedSigner | None = None
        while chain[-1].digest not in self._anchors:
            current = chain[-1]
            if current.issuer_digest is None:
                raise _Refusal(RefusalReason.UNKNOWN_CERTIFICATE, "self-signed certificate is not a trust anchor")
            if len(chain) >= self.params.max_chain_length:
                raise _Refusal(RefusalReason.UNKNOWN_CERTIFICATE, "chain longer than max_chain_length")
            issuer = (self._anchors.get(current.issuer_digest) or self._cas.get(current.issuer_digest)
                      or supplied.get(current.issuer_digest))
            if issuer is None:
                raise _Refusal(RefusalReason.UNKNOWN_CERTIFICATE,
                               f"issuer {current.issuer_digest.hex()} is not known")
            if not issuer.may_issue(current.app_psids | (current.issue_psids or frozenset())):
                raise _Refusal(RefusalReason.UNKNOWN_CERTIFICATE, "issuer may not issue these permissions")
            if not verify_certificate_signature(current, issuer):
                raise _Refusal(RefusalReason.UNKNOWN_CERTIFICATE, "certificate signature does not verify")
            chain.append(issuer)
            verified_ca = None if self._reverify else self._verified_cas.get(issuer.digest)
            if verified_ca is not None:
                break
        valid_from = max(c.valid_from for c in chain)
        valid_until = min(c.valid_until for c in chain)
        if verified_ca is not None:
            valid_from, valid_until = max(valid_from, verified_ca.valid_from), min(valid_until, verified_ca.valid_until)
        return _TrustedSigner(leaf, valid_from, valid_until)

    def _remember(self, cache: collections.OrderedDict[bytes, V], key: bytes, value: V) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > self.params.certificate_cache_size:
            cache.popitem(last=False)
