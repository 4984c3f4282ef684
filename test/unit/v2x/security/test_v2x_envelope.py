"""Signed envelopes: honest messages accepted, every forged/unknown/replayed/stale/future/malformed
message refused with its documented reason, and the certificate cache doing its job."""
from __future__ import annotations

import dataclasses
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cav_stack.v2x import ieee1609dot2 as d2
from cav_stack.v2x.permissions import vehicle_permissions
from cav_stack.v2x.pki import Credential, SeededPki, derive_private_key, issue_certificate, self_signed_certificate
from cav_stack.v2x.security import Accepted, MessageSigner, MessageVerifier, Refused, RefusalReason, SecurityError

from envelope_forgery import BSM_PSID, forge_envelope, time64


def make_verifier(trust_params, pki, **changes) -> MessageVerifier:
    params = dataclasses.replace(trust_params.security, **changes)
    return MessageVerifier(params, [pki.root.certificate], [pki.pseudonym_ca.certificate])


def reason(result) -> RefusalReason | None:
    return result.reason if isinstance(result, Refused) else None


def test_signer_output_verifies_with_an_independent_reference(trust_params, pki, asn):
    credential = pki.pseudonyms(1)[0]
    signer = MessageSigner(trust_params.security, [credential])
    envelope = signer.sign(b"bsm-bytes", BSM_PSID, now=12.345678)
    signed = asn.decode("Ieee1609Dot2Data", envelope)["content"][1]
    assert signed["tbsData"]["headerInfo"] == {
        "psid": BSM_PSID, "generationTime": time64(12.345678, trust_params.security.tai2004_offset)}
    assert signed["tbsData"]["payload"]["data"]["content"] == ("unsecuredData", b"bsm-bytes")
    kind, certificates = signed["signer"]
    assert kind == "certificate"
    cert_encoding = asn.encode("Certificate", certificates[0])
    assert hashlib.sha256(cert_encoding).digest()[-8:] == credential.certificate.digest
    digest = hashlib.sha256(hashlib.sha256(asn.encode("ToBeSignedData", signed["tbsData"])).digest()
                            + hashlib.sha256(cert_encoding).digest()).digest()
    sig = signed["signature"][1]
    der = utils.encode_dss_signature(int.from_bytes(sig["rSig"][1], "big"), int.from_bytes(sig["sSig"], "big"))
    credential.private_key.public_key().verify(der, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))


def test_honest_streams_are_accepted_with_digest_after_the_first_certificate(trust_params, pki, asn):
    signers = {station: MessageSigner(trust_params.security, pki.pseudonyms(station)) for station in (1, 2)}
    verifier = make_verifier(trust_params, pki)
    kinds = []
    for step in range(30):
        now = 100.0 + 0.1 * step
        for station, signer in signers.items():
            payload = f"{station}:{step}".encode()
            envelope = signer.sign(payload, BSM_PSID, now)
            kinds.append(asn.decode("Ieee1609Dot2Data", envelope)["content"][1]["signer"][0])
            result = verifier.verify(envelope, now + 0.002)
            assert result == Accepted(payload, BSM_PSID, pytest.approx(now, abs=1e-9),
                                      signer.pseudonym_id(now), vehicle_permissions()[BSM_PSID])
    # full certificate at 100.0, 101.0, 102.0 for each of the two stations (J2945/1 once per second)
    assert kinds.count("certificate") == 6 and kinds.count("digest") == 54
    assert verifier.accepted_count == 60
    assert set(verifier.refusal_counts().values()) == {0}


def test_envelopes_built_independently_are_accepted(trust_params, pki, asn):
    credential = pki.pseudonyms(3)[1]
    verifier = make_verifier(trust_params, pki)
    offset = trust_params.security.tai2004_offset
    first = forge_envelope(asn, credential.private_key, credential.certificate.encoding, b"a", BSM_PSID,
                           time64(5.0, offset), full_certificate=True)
    second = forge_envelope(asn, credential.private_key, credential.certificate.encoding, b"b", BSM_PSID,
                            time64(5.1, offset), full_certificate=False)
    assert isinstance(verifier.verify(first, 5.01), Accepted)
    assert verifier.verify(second, 5.11).payload == b"b"


def test_every_forged_signature_is_refused(trust_params, pki, asn):
    victim = pki.pseudonyms(4)[0]
    attacker_key = derive_private_key(99, "attacker")
    signer = MessageSigner(trust_params.security, [victim])
    verifier = make_verifier(trust_params, pki)
    offset = trust_params.security.tai2004_offset
    assert isinstance(verifier.verify(signer.sign(b"hello", BSM_PSID, 0.0), 0.0), Accepted)
    forgeries = []
    for i in range(1, 41):
        now = 0.02 * i
        # attacker signs with its own key while naming the victim's certificate
        forgeries.append(forge_envelope(asn, attacker_key, victim.certificate.encoding, b"ghost %d" % i,
                                        BSM_PSID, time64(now, offset), full_certificate=i % 2 == 0))
        # a genuine envelope with its payload, generation time or signature altered
        genuine = asn.decode("Ieee1609Dot2Data", signer.sign(b"real %d" % i, BSM_PSID, now))
        signed = genuine["content"][1]
        variant = i % 4
        if variant == 0:
            signed["tbsData"]["payload"]["data"]["content"] = ("unsecuredData", b"fake %d" % i)
        elif variant == 1:
            signed["tbsData"]["headerInfo"]["generationTime"] += 1
        elif variant == 2:
            sig = signed["signature"][1]
            sig["sSig"] = hashlib.sha256(sig["sSig"]).digest()
        else:
            signed["signature"][1]["rSig"] = ("x-only", bytes(32))
        forgeries.append(asn.encode("Ieee1609Dot2Data", genuine))
    results = [verifier.verify(envelope, 0.8) for envelope in forgeries]
    assert [reason(r) for r in results] == [RefusalReason.BAD_SIGNATURE] * len(forgeries)
    assert verifier.refusal_counts()["bad_signature"] == 80


def test_unknown_and_untrusted_certificates_are_refused(trust_params, pki, asn):
    offset = trust_params.security.tai2004_offset
    verifier = make_verifier(trust_params, pki)
    gen = time64(1.0, offset)
    stranger = pki.pseudonyms(5)[0]
    other_pki = SeededPki(pki.params, seed=7)
    other = other_pki.pseudonyms(5)[0]
    attacker_key = derive_private_key(99, "attacker")
    rogue_root = self_signed_certificate(attacker_key, pki.params.valid_from, 100, "rogue", (BSM_PSID,))
    # a certificate naming the genuine pseudonym CA as issuer but signed with the attacker's key
    fake_pca = Credential(pki.pseudonym_ca.certificate, attacker_key)
    impostor = issue_certificate(attacker_key.public_key(), fake_pca, pki.params.valid_from, 10,
                                 app_permissions={BSM_PSID: None})
    envelopes = [
        forge_envelope(asn, stranger.private_key, stranger.certificate.encoding, b"1", BSM_PSID, gen, False),
        forge_envelope(asn, other.private_key, other.certificate.encoding, b"2", BSM_PSID, gen, True),
        forge_envelope(asn, attacker_key, rogue_root.encoding, b"3", BSM_PSID, gen, True),
        forge_envelope(asn, attacker_key, impostor.encoding, b"4", BSM_PSID, gen, True),
    ]
    # the other PKI's whole chain supplied inline still ends at an untrusted root
    chain = asn.decode("Ieee1609Dot2Data", envelopes[1])
    chain["content"][1]["signer"] = ("certificate", [asn.decode("Certificate", c.certificate.encoding)
                                                     for c in (other, other_pki.pseudonym_ca, other_pki.root)])
    envelopes.append(asn.encode("Ieee1609Dot2Data", chain))
    self_signed = asn.decode("Ieee1609Dot2Data", envelopes[0])
    self_signed["content"][1]["signer"] = ("self", None)
    envelopes.append(asn.encode("Ieee1609Dot2Data", self_signed))
    results = [verifier.verify(envelope, 1.0) for envelope in envelopes]
    assert [reason(r) for r in results] == [RefusalReason.UNKNOWN_CERTIFICATE] * len(envelopes)
    assert verifier.refusal_counts()["unknown_certificate"] == len(envelopes)


def test_replays_are_refused_until_they_go_stale(trust_params, pki, asn):
    signer = MessageSigner(trust_params.security, pki.pseudonyms(6))
    verifier = make_verifier(trust_params, pki)
    max_age = trust_params.security.max_age
    envelopes = [signer.sign(b"m%d" % i, BSM_PSID, 10.0 + 0.1 * i) for i in range(5)]
    for i, envelope in enumerate(envelopes):
        assert isinstance(verifier.verify(envelope, 10.0 + 0.1 * i), Accepted)
    replays = [verifier.verify(envelope, 10.45) for envelope in envelopes]
    assert [reason(r) for r in replays] == [RefusalReason.REPLAY] * 5
    # the same signed content re-wrapped with the certificate instead of its digest is a replay too
    rewrapped = asn.decode("Ieee1609Dot2Data", envelopes[1])
    rewrapped["content"][1]["signer"] = ("certificate", [asn.decode("Certificate", pki.pseudonyms(6)[0]
                                                                    .certificate.encoding)])
    assert reason(verifier.verify(asn.encode("Ieee1609Dot2Data", rewrapped), 10.5)) == RefusalReason.REPLAY
    assert reason(verifier.verify(envelopes[4], 10.4 + max_age + 1e-3)) == RefusalReason.STALE
    assert verifier.refusal_counts()["replay"] == 6


def test_generation_time_window_boundaries(trust_params, pki):
    params = trust_params.security
    signer = MessageSigner(params, pki.pseudonyms(7))
    verifier = make_verifier(trust_params, pki)
    cases = [  # (generation time, reception time, expected reason)
        (20.0, 20.0 + params.max_age, None),
        (21.0, 21.0 + params.max_age + 1e-3, RefusalReason.STALE),
        (22.0, 22.0 + 30.0, RefusalReason.STALE),
        (23.0, 23.0 - params.max_future + 1e-3, None),
        (24.0, 24.0 - params.max_future - 1e-3, RefusalReason.FUTURE),
        (25.0, 25.0 - 60.0, RefusalReason.FUTURE),
    ]
    for generated, received, expected in cases:
        assert reason(verifier.verify(signer.sign(b"x", BSM_PSID, generated), received)) == expected
    counts = verifier.refusal_counts()
    assert counts["stale"] == 2 and counts["future"] == 2 and verifier.accepted_count == 2


def test_certificates_outside_their_validity_are_refused(trust_params, pki, asn):
    params = trust_params.security
    credential = pki.pseudonyms(8)[0]
    verifier = make_verifier(trust_params, pki)
    valid_from = credential.certificate.valid_from - params.tai2004_offset
    valid_until = credential.certificate.valid_until - params.tai2004_offset
    for i, generated in enumerate((valid_from - 10.0, valid_until, valid_until + 3600.0)):
        envelope = forge_envelope(asn, credential.private_key, credential.certificate.encoding, b"%d" % i,
                                  BSM_PSID, time64(generated, params.tai2004_offset), True)
        assert reason(verifier.verify(envelope, generated)) == RefusalReason.EXPIRED_CERTIFICATE
    assert isinstance(verifier.verify(
        forge_envelope(asn, credential.private_key, credential.certificate.encoding, b"ok", BSM_PSID,
                       time64(valid_until - 1.0, params.tai2004_offset), True), valid_until - 1.0), Accepted)
    with pytest.raises(SecurityError, match="no pseudonym certificate"):
        MessageSigner(params, [credential]).sign(b"late", BSM_PSID, valid_until + 1.0)


def test_unauthorized_psid_is_refused(trust_params, pki):
    signer = MessageSigner(trust_params.security, pki.pseudonyms(9))
    verifier = make_verifier(trust_params, pki)
    assert reason(verifier.verify(signer.sign(b"tim?", 0x99, 3.0), 3.0)) == RefusalReason.PERMISSION


def test_documented_malformed_cases(trust_params, pki, asn):
    signer = MessageSigner(trust_params.security, pki.pseudonyms(10))
    verifier = make_verifier(trust_params, pki)
    envelope = signer.sign(b"payload", BSM_PSID, 4.0)
    unsigned = asn.encode("Ieee1609Dot2Data", {"protocolVersion": 3, "content": ("unsecuredData", b"x")})
    nested = asn.decode("Ieee1609Dot2Data", envelope)
    nested["content"][1]["tbsData"]["payload"]["data"] = asn.decode("Ieee1609Dot2Data", envelope)
    cases = [b"", b"\x00", unsigned, asn.encode("Ieee1609Dot2Data", nested),
             envelope + bytes(trust_params.security.max_envelope_bytes),
             envelope + b"\x00", envelope + b"\xff\x01"]   # bytes after the envelope (found by the fuzz)
    cases += [envelope[:n] for n in range(1, len(envelope) - 1)]
    results = [verifier.verify(case, 4.0) for case in cases]
    assert [reason(r) for r in results] == [RefusalReason.MALFORMED] * len(cases)
    assert verifier.refusal_counts()["malformed"] == len(cases)
    assert isinstance(verifier.verify(envelope, 4.0), Accepted)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes_are_refused_never_raise(trust_params, pki, data):
    verifier = make_verifier(trust_params, pki)
    result = verifier.verify(data, 0.0)
    assert isinstance(result, Refused)
    assert sum(verifier.refusal_counts().values()) == 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.integers(min_value=0), min_size=1, max_size=4))
def test_corrupted_envelopes_never_yield_other_content(trust_params, pki, flips):
    signer = MessageSigner(trust_params.security, pki.pseudonyms(11))
    verifier = make_verifier(trust_params, pki)
    original = signer.sign(b"the real payload", BSM_PSID, 6.0)
    corrupted = bytearray(original)
    for flip in flips:
        corrupted[(flip // 8) % len(corrupted)] ^= 1 << (flip % 8)
    result = verifier.verify(bytes(corrupted), 6.0)
    if isinstance(result, Accepted):  # only the UPER padding bits of the last byte are free
        assert (result.payload, result.generation_time) == (b"the real payload", pytest.approx(6.0))
    else:
        assert isinstance(result.reason, RefusalReason)


def test_steady_state_costs_one_ecdsa_verification(trust_params, pki, monkeypatch):
    calls = []
    original = d2.ecdsa_verify
    monkeypatch.setattr(d2, "ecdsa_verify", lambda *args: calls.append(1) or original(*args))
    params = trust_params.security
    for reverify, per_message in ((False, 1), (True, 3)):
        signer = MessageSigner(params, pki.pseudonyms(12))
        verifier = MessageVerifier(params, [pki.root.certificate], [pki.pseudonym_ca.certificate],
                                   reverify_chain_each_message=reverify)
        assert isinstance(verifier.verify(signer.sign(b"first", BSM_PSID, 0.0), 0.0), Accepted)
        calls.clear()
        for i in range(1, 9):
            payload = b"%d/%d" % (reverify, i)  # fresh bytes: a repeated envelope hits the signature memo
            assert isinstance(verifier.verify(signer.sign(payload, BSM_PSID, 0.1 * i), 0.1 * i), Accepted)
        assert len(calls) == 8 * per_message  # signature, plus pseudonym and pseudonym-CA certificates


def test_one_broadcast_costs_one_ecdsa_verification_across_receivers(trust_params, pki, monkeypatch):
    calls = []
    original = d2.ecdsa_verify
    monkeypatch.setattr(d2, "ecdsa_verify", lambda *args: calls.append(1) or original(*args))
    signer = MessageSigner(trust_params.security, pki.pseudonyms(13))
    receivers = [make_verifier(trust_params, pki) for _ in range(5)]
    warm_up = signer.sign(b"certificate goes out first", BSM_PSID, 0.0)
    assert all(isinstance(r.verify(warm_up, 0.0), Accepted) for r in receivers)
    broadcast = signer.sign(b"one broadcast", BSM_PSID, 0.1)
    calls.clear()
    assert all(isinstance(r.verify(broadcast, 0.1), Accepted) for r in receivers)
    assert len(calls) == 1
    # the memo is shared, the receiver-specific checks are not: replay and staleness still refuse
    assert receivers[0].verify(broadcast, 0.2).reason is RefusalReason.REPLAY
    late = make_verifier(trust_params, pki)
    late.verify(warm_up, 0.0)
    assert late.verify(broadcast, 0.1 + trust_params.security.max_age + 0.5).reason is RefusalReason.STALE


def test_a_broadcast_trusted_by_one_receiver_is_not_trusted_by_another_pki_s_receiver(trust_params, pki):
    # the envelope, its certificate and its signature are parsed and checked once per process;
    # trust is not: a receiver anchored in another PKI still refuses the very same bytes
    signer = MessageSigner(trust_params.security, pki.pseudonyms(16))
    trusting = make_verifier(trust_params, pki)
    stranger = make_verifier(trust_params, SeededPki(pki.params, seed=7))
    with_certificate = signer.sign(b"first", BSM_PSID, 0.0)
    with_digest = signer.sign(b"second", BSM_PSID, 0.1)
    assert isinstance(trusting.verify(with_certificate, 0.0), Accepted)
    assert isinstance(trusting.verify(with_digest, 0.1), Accepted)
    assert reason(stranger.verify(with_certificate, 0.0)) is RefusalReason.UNKNOWN_CERTIFICATE
    refused = stranger.verify(with_digest, 0.1)
    assert reason(refused) is RefusalReason.UNKNOWN_CERTIFICATE and refused.unknown_digest


def test_memoised_signature_still_refuses_a_forgery(trust_params, pki):
    signer = MessageSigner(trust_params.security, pki.pseudonyms(14))
    warm_up = signer.sign(b"warm up", BSM_PSID, 0.0)
    first, second = make_verifier(trust_params, pki), make_verifier(trust_params, pki)
    assert isinstance(first.verify(warm_up, 0.0), Accepted) and isinstance(second.verify(warm_up, 0.0), Accepted)
    genuine = signer.sign(b"genuine payload", BSM_PSID, 0.1)
    assert isinstance(first.verify(genuine, 0.1), Accepted)
    forged = bytearray(genuine)
    forged[-5] ^= 0x01  # inside the signature's s: a new envelope, so no memo entry vouches for it
    assert reason(second.verify(bytes(forged), 0.1)) is RefusalReason.BAD_SIGNATURE


def test_evicted_certificates_need_the_certificate_again(trust_params, pki):
    params = dataclasses.replace(trust_params.security, certificate_cache_size=1)
    first, second = MessageSigner(params, pki.pseudonyms(13)), MessageSigner(params, pki.pseudonyms(14))
    verifier = MessageVerifier(params, [pki.root.certificate], [pki.pseudonym_ca.certificate])
    assert isinstance(verifier.verify(first.sign(b"a", BSM_PSID, 0.0), 0.0), Accepted)
    assert isinstance(verifier.verify(second.sign(b"b", BSM_PSID, 0.0), 0.0), Accepted)
    assert reason(verifier.verify(first.sign(b"c", BSM_PSID, 0.1), 0.1)) == RefusalReason.UNKNOWN_CERTIFICATE
    assert isinstance(verifier.verify(first.sign(b"d", BSM_PSID, 1.0), 1.0), Accepted)  # certificate again


def test_pseudonym_changes_on_schedule_and_stays_verifiable(trust_params, pki, asn):
    params = dataclasses.replace(trust_params.security, pseudonym_change_interval=1.0,
                                 full_certificate_interval=10.0)
    pool = pki.pseudonyms(15)
    signer = MessageSigner(params, pool)
    verifier = MessageVerifier(params, [pki.root.certificate], [pki.pseudonym_ca.certificate])
    used, kinds = [], []
    for step in range(40):
        now = 0.1 * step
        envelope = signer.sign(b"%d" % step, BSM_PSID, now)
        kinds.append(asn.decode("Ieee1609Dot2Data", envelope)["content"][1]["signer"][0])
        result = verifier.verify(envelope, now)
        assert isinstance(result, Accepted)
        used.append(result.signer_id)
    expected = [pool[(step // 10) % len(pool)].certificate.digest for step in range(40)]
    assert used == expected
    assert [i for i, k in enumerate(kinds) if k == "certificate"] == [0, 10, 20, 30]


def test_a_new_neighbour_gets_the_certificate_at_once(trust_params, pki, asn):
    """A station that joins after the others' full certificates went out cannot verify their
    digest-signed envelopes (flagged unknown_digest); once they hear it and call
    include_certificate_next, their next envelope carries the certificate and it verifies,
    instead of waiting up to full_certificate_interval."""
    params = dataclasses.replace(trust_params.security, full_certificate_interval=10.0)
    old = MessageSigner(params, pki.pseudonyms(16))
    old.sign(b"first, with the certificate", BSM_PSID, 0.0)
    newcomer = MessageVerifier(params, [pki.root.certificate], [pki.pseudonym_ca.certificate])
    refused = newcomer.verify(old.sign(b"digest only", BSM_PSID, 0.1), 0.1)
    assert reason(refused) is RefusalReason.UNKNOWN_CERTIFICATE and refused.unknown_digest
    stale = newcomer.verify(old.sign(b"old", BSM_PSID, 0.2), 5.0)
    assert reason(stale) is RefusalReason.STALE and not stale.unknown_digest
    old.include_certificate_next()
    answer = old.sign(b"certificate again", BSM_PSID, 0.3)
    assert asn.decode("Ieee1609Dot2Data", answer)["content"][1]["signer"][0] == "certificate"
    assert isinstance(newcomer.verify(answer, 0.3), Accepted)
    assert isinstance(newcomer.verify(old.sign(b"digest again", BSM_PSID, 0.4), 0.4), Accepted)
    kind = asn.decode("Ieee1609Dot2Data", old.sign(b"once only", BSM_PSID, 0.5))["content"][1]["signer"][0]
    assert kind == "digest"
