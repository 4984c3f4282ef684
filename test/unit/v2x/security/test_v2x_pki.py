"""Certificates and 1609.2 primitives: standard examples, determinism, issuing rules, time base."""
from __future__ import annotations

import dataclasses

import pytest

from cav_stack.v2x import ieee1609dot2 as d2
from cav_stack.v2x.pki import (CertificateError, SeededPki, decode_certificate, derive_private_key,
                               issue_certificate, verify_certificate_signature)

from cav_stack.v2x.permissions import vehicle_permissions

from envelope_forgery import BSM_PSID


def test_hashed_id8_matches_the_standard_example():
    # IEEE 1609.2 base types: SHA-256("") = e3b0...b855, HashedId8 = a495991b7852b855
    assert d2.hashed_id8(b"") == bytes.fromhex("a495991b7852b855")


def test_duration_units_follow_the_standard():
    assert d2.duration_seconds(("years", 1)) == 31556952.0  # 365.2425 days
    assert d2.duration_seconds(("sixtyHours", 2)) == 2 * 60 * 3600.0
    assert d2.duration_seconds(("milliseconds", 1500)) == pytest.approx(1.5)


def test_time64_is_exact_to_the_microsecond_and_refuses_pre_epoch_times():
    offset = 725846400.0  # 2027-01-01 since 2004-01-01: 8401 days
    assert offset == 8401 * 86400
    assert d2.stack_to_time64(0.0, offset) == 725846400 * 10**6
    assert d2.stack_to_time64(1234.567891, offset) == 725846400 * 10**6 + 1234567891
    assert d2.time64_to_stack(d2.stack_to_time64(3.1, offset), offset) == pytest.approx(3.1, abs=1e-9)
    with pytest.raises(d2.SecurityFormatError):
        d2.stack_to_time64(-offset - 1.0, offset)


def test_seeded_chain_is_reproducible_and_seed_dependent(trust_params):
    params = dataclasses.replace(trust_params.seeded_pki, pseudonyms_per_station=2)
    a, b, c = SeededPki(params, 1), SeededPki(params, 1), SeededPki(params, 2)
    assert a.root.certificate.encoding == b.root.certificate.encoding
    assert [p.certificate.encoding for p in a.pseudonyms(4)] == [p.certificate.encoding for p in b.pseudonyms(4)]
    assert a.root.certificate.digest != c.root.certificate.digest
    assert a.pseudonyms(4)[0].certificate.digest != a.pseudonyms(5)[0].certificate.digest


#: A PSID the simulated CA chain does not grant (v2x/security.yaml seeded_pki.psids).
UNLISTED_PSID = 0x99


def test_chain_signatures_and_round_trip(pki):
    pseudonym = pki.pseudonyms(1)[0].certificate
    assert verify_certificate_signature(pki.root.certificate, None)
    assert verify_certificate_signature(pki.pseudonym_ca.certificate, pki.root.certificate)
    assert verify_certificate_signature(pseudonym, pki.pseudonym_ca.certificate)
    assert not verify_certificate_signature(pseudonym, pki.root.certificate)
    decoded = decode_certificate(pseudonym.encoding)
    assert (decoded.digest, decoded.app_permissions, decoded.issuer_digest) == (
        pseudonym.digest, vehicle_permissions(), pki.pseudonym_ca.certificate.digest)
    assert decoded.valid_until - decoded.valid_from == pki.params.pseudonym_validity_hours * 3600.0


def test_issuing_rules(pki):
    key = derive_private_key(3, "subject").public_key()
    pseudonym = pki.pseudonyms(1)[0]
    with pytest.raises(CertificateError, match="not a CA"):
        issue_certificate(key, pseudonym, pki.params.valid_from, 1, app_permissions={BSM_PSID: None})
    with pytest.raises(CertificateError, match="not a CA"):
        issue_certificate(key, pki.pseudonym_ca, pki.params.valid_from, 1, app_permissions={UNLISTED_PSID: None})
    with pytest.raises(CertificateError, match="inside the issuer"):
        issue_certificate(key, pki.pseudonym_ca, pki.params.valid_from - 1, 1, app_permissions={BSM_PSID: None})
    with pytest.raises(CertificateError, match="inside the issuer"):
        issue_certificate(key, pki.pseudonym_ca, pki.params.valid_from, pki.params.ca_validity_hours + 1,
                          app_permissions={BSM_PSID: None})


@pytest.mark.parametrize("blob", [b"", b"\xff" * 10, bytes(200)])
def test_undecodable_certificates_raise_certificate_error(blob):
    with pytest.raises(CertificateError):
        decode_certificate(blob)
