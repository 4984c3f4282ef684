"""1609.2-style certificates: issuing, parsing, and a seeded CA chain for tests and simulation.

Chain shape (as in the US SCMS, simplified): a self-signed root CA issues a pseudonym CA, which
issues each vehicle's pool of pseudonym certificates (BSM / manoeuvre permissions only), an RSU
CA, which issues each roadside unit's application certificate (SPaT / MAP / RoadSideAlert
permissions), and a CRL signer (explicit certificates, region-free; permissions as PSID + SSP,
see :mod:`cav_stack.v2x.permissions`). Keys of the seeded chain are derived from an integer seed and signatures use
RFC 6979 nonces, so the same seed gives the same certificates byte for byte.
Times are TAI seconds since 2004-01-01 (Time32 in certificates; see ieee1609dot2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric import ec

from cav_stack.v2x import ieee1609dot2 as d2
from cav_stack.v2x.permissions import (MESSAGE_TYPES_OF_PSID, PSID_CRL, crl_permissions, roadside_permissions,
                                       vehicle_permissions)

#: SHA-256 of the empty string: the signer input of self-signed certificates (1609.2 clause 6.4).
_EMPTY_HASH = d2.sha256(b"")


class CertificateError(ValueError):
    """A certificate is not usable: unsupported form, bad key, or an issuing rule broken."""


@dataclass(frozen=True, eq=False)
class Certificate:
    """A parsed certificate with everything verification needs.

    encoding: UPER encoding of the whole Certificate (hash input); digest: its HashedId8;
    encoding_hash: SHA-256 of ``encoding`` (signer input for what this certificate signs);
    tbs_encoding: encoding of its ToBeSignedCertificate; issuer_digest: HashedId8 of the
    issuer, None when self-signed; valid_from, valid_until: validity period [TAI-2004 s];
    app_permissions: PSID -> SSP (None: no SSP) it may sign messages for; issue_psids: PSIDs it may issue certificates
    for (None: not a CA; ``all_psids`` True: any PSID); public_key: verification key;
    signature: the decoded Signature CHOICE by the issuer.
    """

    encoding: bytes
    digest: bytes
    encoding_hash: bytes
    tbs_encoding: bytes
    issuer_digest: bytes | None
    valid_from: float
    valid_until: float
    app_permissions: Mapping[int, bytes | None]
    issue_psids: frozenset[int] | None
    all_psids: bool
    public_key: ec.EllipticCurvePublicKey
    signature: tuple[str, dict[str, Any]]

    @property
    def app_psids(self) -> frozenset[int]:
        """PSIDs it may sign messages for."""
        return frozenset(self.app_permissions)

    def valid_at(self, tai2004: float) -> bool:
        """True when ``tai2004`` [TAI-2004 s] lies in [valid_from, valid_until)."""
        return self.valid_from <= tai2004 < self.valid_until

    def may_issue(self, psids: frozenset[int]) -> bool:
        """True when this certificate is a CA allowed to issue certificates for all ``psids``."""
        if self.all_psids:
            return True
        if self.issue_psids is None:
            return False
        return psids <= self.issue_psids


@dataclass(frozen=True, eq=False)
class Credential:
    """A certificate with its private key (what a signer holds)."""

    certificate: Certificate
    private_key: ec.EllipticCurvePrivateKey


def parse_certificate(value: dict[str, Any], encodings: tuple[bytes, bytes] | None = None) -> Certificate:
    """Parse a decoded Certificate value (from ``spec().decode('Certificate', ...)``).

    ``encodings``: the certificate's received (encoding, ToBeSignedCertificate encoding), as
    :func:`cav_stack.v2x.ieee1609dot2.decode_envelope` cuts them; without them the value is
    re-encoded. Raises CertificateError for a version other than 3, implicit certificates, a
    missing signature, an unsupported issuer/key/permission alternative, a key that is not a
    P-256 point, or content this module cannot re-encode (unknown extension additions).
    """
    if value["version"] != d2.CERTIFICATE_VERSION:
        raise CertificateError(f"certificate version {value['version']} is not 3")
    if value["type"] != "explicit":
        raise CertificateError("only explicit certificates are supported")
    if "signature" not in value:
        raise CertificateError("certificate carries no signature")
    tbs = value["toBeSigned"]
    issuer_kind, issuer_value = value["issuer"]
    if issuer_kind == "sha256AndDigest":
        issuer_digest = issuer_value
    elif issuer_kind == "self" and issuer_value == "sha256":
        issuer_digest = None
    else:
        raise CertificateError(f"unsupported issuer identifier {issuer_kind!r}")
    key_kind, key_value = tbs["verifyKeyIndicator"]
    if key_kind != "verificationKey" or key_value[0] != "ecdsaNistP256":
        raise CertificateError(f"unsupported verification key {key_kind!r}")
    try:
        public_key = d2.decode_public_key(key_value[1])
    except d2.SecurityFormatError as exc:
        raise CertificateError(str(exc)) from exc
    issue_psids: frozenset[int] | None = None
    all_psids = False
    if "certIssuePermissions" in tbs:
        explicit: set[int] = set()
        for group in tbs["certIssuePermissions"]:
            kind, psids = group["subjectPermissions"]
            if kind == "all":
                all_psids = True
            elif kind == "explicit":
                explicit.update(psids)
            else:
                raise CertificateError(f"unsupported subject permissions {kind!r}")
        issue_psids = frozenset(explicit)
    if encodings is not None:
        encoding, tbs_encoding = encodings
    else:
        compiled = d2.spec()
        try:
            encoding = compiled.encode("Certificate", value, check_types=False)   # decoded values: types hold
            tbs_encoding = compiled.encode("ToBeSignedCertificate", tbs, check_types=False)
        except d2.DECODE_ERRORS as exc:  # e.g. extension additions this module does not define
            raise CertificateError(f"certificate cannot be re-encoded: {exc}") from exc
    start = float(tbs["validityPeriod"]["start"])
    return Certificate(
        encoding=encoding,
        digest=d2.hashed_id8(encoding),
        encoding_hash=d2.sha256(encoding),
        tbs_encoding=tbs_encoding,
        issuer_digest=issuer_digest,
        valid_from=start,
        valid_until=start + d2.duration_seconds(tbs["validityPeriod"]["duration"]),
        app_permissions={entry["psid"]: _ssp_bytes(entry) for entry in tbs.get("appPermissions", ())},
        issue_psids=issue_psids,
        all_psids=all_psids,
        public_key=public_key,
        signature=value["signature"],
    )


def _ssp_bytes(entry: dict[str, Any]) -> bytes | None:
    """The opaque SSP of a decoded PsidSsp (None when absent)."""
    if "ssp" not in entry:
        return None
    kind, value = entry["ssp"]
    if kind != "opaque":
        raise CertificateError(f"unsupported SSP alternative {kind!r}")
    return bytes(value)


def decode_certificate(encoding: bytes) -> Certificate:
    """Decode and parse a UPER-encoded Certificate; raises CertificateError on any problem."""
    try:
        value = d2.spec().decode("Certificate", encoding)
    except d2.DECODE_ERRORS as exc:
        raise CertificateError(f"undecodable certificate: {exc}") from exc
    return parse_certificate(value)


def certificate_value(certificate: Certificate) -> dict[str, Any]:
    """The decoded ASN.1 value of a certificate (to embed it in a SignerIdentifier)."""
    value: dict[str, Any] = d2.spec().decode("Certificate", certificate.encoding)
    return value


def derive_private_key(seed: int, label: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key determined by ``seed`` and ``label`` (scalar from SHA-256, in [1, n-1])."""
    material = d2.sha256(f"cav_stack.pki/{seed}/{label}".encode())
    scalar = int.from_bytes(material, "big") % (d2.P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _certificate(subject_key: ec.EllipticCurvePublicKey, issuer: Credential | None,
                 signing_key: ec.EllipticCurvePrivateKey, valid_from: int, validity_hours: int,
                 name: str | None, app_permissions: Mapping[int, bytes | None],
                 issue_psids: tuple[int, ...] | None) -> Certificate:
    if not 1 <= validity_hours <= 65535:
        raise CertificateError(f"validity_hours must be in 1..65535, got {validity_hours}")
    tbs: dict[str, Any] = {
        "id": ("name", name) if name is not None else ("none", None),
        "cracaId": b"\x00\x00\x00",
        "crlSeries": 0,
        "validityPeriod": {"start": valid_from, "duration": ("hours", validity_hours)},
        "verifyKeyIndicator": ("verificationKey", ("ecdsaNistP256", d2.encode_public_key(subject_key))),
    }
    if app_permissions:
        tbs["appPermissions"] = [{"psid": psid} if ssp is None else {"psid": psid, "ssp": ("opaque", ssp)}
                                 for psid, ssp in sorted(app_permissions.items())]
    if issue_psids is not None:
        tbs["certIssuePermissions"] = [{"subjectPermissions": ("explicit", list(issue_psids))}]
    tbs_encoding = d2.spec().encode("ToBeSignedCertificate", tbs)
    if issuer is None:
        issuer_id: tuple[str, Any] = ("self", "sha256")
        signer_hash = _EMPTY_HASH
    else:
        issuer_id = ("sha256AndDigest", issuer.certificate.digest)
        signer_hash = issuer.certificate.encoding_hash
    value = {
        "version": d2.CERTIFICATE_VERSION,
        "type": "explicit",
        "issuer": issuer_id,
        "toBeSigned": tbs,
        "signature": d2.ecdsa_sign(signing_key, d2.signing_digest(tbs_encoding, signer_hash)),
    }
    return parse_certificate(value)


def self_signed_certificate(key: ec.EllipticCurvePrivateKey, valid_from: int, validity_hours: int, name: str,
                            issue_psids: tuple[int, ...]) -> Certificate:
    """A self-signed root CA certificate for ``key``.

    valid_from: validity start [TAI-2004 s, integer]; validity_hours: duration [h] (1..65535);
    name: certificate id; issue_psids: PSIDs the root may issue certificates for.
    """
    return _certificate(key.public_key(), None, key, valid_from, validity_hours, name, {}, issue_psids)


def issue_certificate(subject_key: ec.EllipticCurvePublicKey, issuer: Credential, valid_from: int,
                      validity_hours: int, name: str | None = None,
                      app_permissions: Mapping[int, bytes | None] | None = None,
                      issue_psids: tuple[int, ...] | None = None) -> Certificate:
    """Issue an explicit certificate for ``subject_key`` signed by the CA ``issuer``.

    valid_from: validity start [TAI-2004 s, integer]; validity_hours: duration [h] (1..65535);
    name: certificate id (None: ``none``, as for pseudonyms); app_permissions: PSID -> SSP (None:
    no SSP) the holder may sign for; issue_psids: PSIDs it may issue certificates for (None: not a CA).
    Raises CertificateError when the issuer is not a CA for these PSIDs or the validity does not
    fit inside the issuer's (1609.2 chain consistency).
    """
    issuer_cert = issuer.certificate
    app_permissions = dict(app_permissions or {})
    if not issuer_cert.may_issue(frozenset(app_permissions) | frozenset(issue_psids or ())):
        raise CertificateError("issuer is not a CA for the requested PSIDs")
    if valid_from < issuer_cert.valid_from or valid_from + validity_hours * 3600.0 > issuer_cert.valid_until:
        raise CertificateError("validity period does not fit inside the issuer's")
    return _certificate(subject_key, issuer, issuer.private_key, valid_from, validity_hours, name,
                        app_permissions, issue_psids)


def verify_certificate_signature(certificate: Certificate, issuer: Certificate | None) -> bool:
    """True when ``certificate`` is validly signed by ``issuer`` (None: self-signed)."""
    if issuer is None:
        key, signer_hash = certificate.public_key, _EMPTY_HASH
    else:
        key, signer_hash = issuer.public_key, issuer.encoding_hash
    return d2.ecdsa_verify(key, d2.signing_digest(certificate.tbs_encoding, signer_hash), certificate.signature)


#: PSIDs the seeded root may issue certificates for (every role's).
ROOT_PSIDS = tuple(sorted(MESSAGE_TYPES_OF_PSID)) + (PSID_CRL,)


@dataclass(frozen=True)
class SeededPkiParams:
    """Shape of the seeded test chain.

    valid_from: start of every certificate's validity [TAI-2004 s, integer];
    ca_validity_hours: validity of the root, the pseudonym CA, the RSU CA and the CRL signer [h];
    pseudonym_validity_hours: validity of each vehicle pseudonym certificate [h];
    roadside_validity_hours: validity of each RSU application certificate [h];
    pseudonyms_per_station: pool size per vehicle.
    """

    valid_from: int
    ca_validity_hours: int
    pseudonym_validity_hours: int
    roadside_validity_hours: int
    pseudonyms_per_station: int

    def __post_init__(self) -> None:
        if max(self.pseudonym_validity_hours, self.roadside_validity_hours) > self.ca_validity_hours:
            raise ValueError("pseudonym_validity_hours and roadside_validity_hours must not exceed ca_validity_hours")
        if self.pseudonyms_per_station < 1:
            raise ValueError("pseudonyms_per_station must be >= 1")


class SeededPki:
    """Root CA -> {pseudonym CA -> vehicle pseudonyms, RSU CA -> RSU certificates, CRL signer},
    all derived from ``seed``."""

    def __init__(self, params: SeededPkiParams, seed: int):
        self.params = params
        self.seed = seed
        root_key = derive_private_key(seed, "root-ca")
        root_cert = self_signed_certificate(root_key, params.valid_from, params.ca_validity_hours,
                                            "root-ca", ROOT_PSIDS)
        self.root = Credential(root_cert, root_key)
        self.pseudonym_ca = self._issued("pseudonym-ca", issue_psids=tuple(vehicle_permissions()))
        self.rsu_ca = self._issued("rsu-ca", issue_psids=tuple(roadside_permissions()))
        self.crl_signer = self._issued("crl-signer", app_permissions=crl_permissions())

    def _issued(self, name: str, *, app_permissions: Mapping[int, bytes | None] | None = None,
                issue_psids: tuple[int, ...] | None = None) -> Credential:
        key = derive_private_key(self.seed, name)
        cert = issue_certificate(key.public_key(), self.root, self.params.valid_from, self.params.ca_validity_hours,
                                 name=name, app_permissions=app_permissions, issue_psids=issue_psids)
        return Credential(cert, key)

    @property
    def ca_certificates(self) -> tuple[Certificate, ...]:
        """The intermediate CA certificates receivers know in advance (pseudonym CA, RSU CA)."""
        return (self.pseudonym_ca.certificate, self.rsu_ca.certificate)

    def pseudonyms(self, station: int) -> tuple[Credential, ...]:
        """The pool of pseudonym credentials of vehicle ``station`` (same for the same seed)."""
        pool = []
        for index in range(self.params.pseudonyms_per_station):
            key = derive_private_key(self.seed, f"pseudonym/{station}/{index}")
            cert = issue_certificate(key.public_key(), self.pseudonym_ca, self.params.valid_from,
                                     self.params.pseudonym_validity_hours, app_permissions=vehicle_permissions())
            pool.append(Credential(cert, key))
        return tuple(pool)

    def roadside(self, unit: int) -> Credential:
        """The application credential of roadside unit ``unit`` (same for the same seed)."""
        key = derive_private_key(self.seed, f"rsu/{unit}")
        cert = issue_certificate(key.public_key(), self.rsu_ca, self.params.valid_from,
                                 self.params.roadside_validity_hours, app_permissions=roadside_permissions())
        return Credential(cert, key)
