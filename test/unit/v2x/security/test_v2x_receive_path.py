"""The receive path: role permissions, revocation, report time vs envelope time, station-ID
binding, and misbehaviour state that follows the signer, with real certificates and envelopes."""
from __future__ import annotations

import math

import pytest

from cav_stack.core.messages import MAP_FRAME, Header, V2xVehicleReport
from cav_stack.v2x.codec import encode_bsm, encode_road_alert, encode_spat
from cav_stack.v2x.geodesy import GeodeticOrigin
from cav_stack.v2x.messages import ITIS_CLOSED_TO_TRAFFIC, ITIS_INCIDENT, IntersectionSignalState, MovementEvent, \
    MovementPhase, RoadAlert, SignalGroupState, SpatMessage
from cav_stack.v2x.misbehaviour import MisbehaviourDetector
from cav_stack.v2x.permissions import PSID_CRL, PSID_INTERSECTION, PSID_TRAVELER_INFO, PSID_V2V, permits
from cav_stack.v2x.reception import CRL, ReceivePath, Received, Rejected
from cav_stack.v2x.revocation import encode_revocation_list
from cav_stack.v2x.security import MessageSigner, MessageVerifier

ORIGIN = GeodeticOrigin(math.radians(52.5163), math.radians(13.3777), 34.0)


@pytest.fixture
def path(trust_params, pki) -> ReceivePath:
    verifier = MessageVerifier(trust_params.security, [pki.root.certificate], pki.ca_certificates)
    detector = MisbehaviourDetector(trust_params.misbehaviour, lambda x, y, margin: True)
    return ReceivePath(trust_params.reception, verifier, detector, ORIGIN)


def bsm(station_id: int, t: float, x: float, speed: float = 20.0) -> bytes:
    return encode_bsm(V2xVehicleReport(Header(t, MAP_FRAME), station_id, round(t * 10) % 128, x, 0.0, 0.0, speed,
                                       0.0, 0.0, 4.5, 1.8, 1.0), origin=ORIGIN)


def spat(t: float) -> bytes:
    green = MovementEvent(MovementPhase.PROTECTED_MOVEMENT_ALLOWED, t + 60.0, likely_time=t + 60.0)
    return encode_spat(SpatMessage(Header(t, MAP_FRAME), (IntersectionSignalState(0, 1, (
        SignalGroupState(1, (green,)),)),)))


def closure(t: float) -> bytes:
    return encode_road_alert(RoadAlert(Header(t, MAP_FRAME), 1, ITIS_INCIDENT, 10.0, 0.0, 0.0,
                                       (ITIS_CLOSED_TO_TRAFFIC,)), origin=ORIGIN)


def outcome(result) -> str:
    return result.reason if isinstance(result, Rejected) else result.message_type


def test_ssp_grants_exactly_the_message_types_of_a_role():
    vehicle_ssp = bytes([1, 0b11])
    assert permits(PSID_V2V, vehicle_ssp, "BSM") and permits(PSID_V2V, vehicle_ssp, "MANEUVER")
    assert not permits(PSID_V2V, vehicle_ssp, "SPAT")           # SPaT never travels under the vehicle PSID
    assert not permits(PSID_INTERSECTION, bytes([1, 0b10]), "SPAT")
    assert permits(PSID_INTERSECTION, bytes([1, 1]), "SPAT")
    assert not permits(PSID_V2V, None, "BSM") and not permits(PSID_V2V, bytes([2, 0b11]), "BSM")


def test_only_roadside_certificates_may_send_spat_and_road_alerts(trust_params, pki, path):
    vehicle = MessageSigner(trust_params.security, pki.pseudonyms(1))
    rsu = MessageSigner(trust_params.security, [pki.roadside(0)])
    results = [
        path.receive(rsu.sign(spat(1.0), PSID_INTERSECTION, 1.0), 1.0),
        path.receive(rsu.sign(closure(1.1), PSID_TRAVELER_INFO, 1.1), 1.1),
        path.receive(vehicle.sign(spat(1.2), PSID_INTERSECTION, 1.2), 1.2),     # PSID not in its certificate
        path.receive(vehicle.sign(spat(1.3), PSID_V2V, 1.3), 1.3),              # its PSID, not its SSP's type
        path.receive(vehicle.sign(closure(1.4), PSID_V2V, 1.4), 1.4),
        path.receive(rsu.sign(bsm(5, 1.5, 0.0), PSID_INTERSECTION, 1.5), 1.5),  # an RSU cannot pose as a car
        path.receive(vehicle.sign(bsm(5, 1.6, 0.0), PSID_V2V, 1.6), 1.6),
    ]
    assert [outcome(r) for r in results] == ["SPAT", "RSA", "permission", "permission", "permission",
                                             "permission", "BSM"]


def test_revocation_list_from_the_crl_signer_is_honoured_and_nobody_else_can_revoke(trust_params, pki, path):
    attacker = MessageSigner(trust_params.security, pki.pseudonyms(2))
    honest = MessageSigner(trust_params.security, pki.pseudonyms(3))
    crl = encode_revocation_list(c.certificate.digest for c in pki.pseudonyms(2))
    assert outcome(path.receive(attacker.sign(bsm(9, 1.0, 0.0), PSID_V2V, 1.0), 1.0)) == "BSM"
    forged = MessageSigner(trust_params.security, pki.pseudonyms(3)).sign(
        encode_revocation_list([pki.pseudonyms(3)[0].certificate.digest]), PSID_CRL, 1.05)
    assert outcome(path.receive(forged, 1.05)) == "permission"
    authority = MessageSigner(trust_params.security, [pki.crl_signer])
    assert outcome(path.receive(authority.sign(crl, PSID_CRL, 1.1), 1.1)) == CRL
    assert outcome(path.receive(attacker.sign(bsm(9, 1.2, 0.0), PSID_V2V, 1.2), 1.2)) == "revoked"
    assert outcome(path.receive(honest.sign(bsm(8, 1.3, 0.0), PSID_V2V, 1.3), 1.3)) == "BSM"


@pytest.mark.parametrize("lead, expected", [(0.0, "BSM"), (0.04, "BSM"), (0.2, "future_report"),
                                            (20.0, "future_report"), (-0.3, "BSM"), (-2.0, "stale_report")])
def test_report_time_is_checked_against_the_envelope_generation_time(trust_params, pki, path, lead, expected):
    signer = MessageSigner(trust_params.security, pki.pseudonyms(4))
    assert outcome(path.receive(signer.sign(bsm(11, 5.0 + lead, 0.0), PSID_V2V, 5.0), 5.01)) == expected


def test_station_id_stays_bound_to_its_first_certificate(trust_params, pki, path):
    owner = MessageSigner(trust_params.security, pki.pseudonyms(5))
    spoofer = MessageSigner(trust_params.security, pki.pseudonyms(6))
    hold = trust_params.reception.id_binding_hold
    assert outcome(path.receive(owner.sign(bsm(42, 1.0, 0.0), PSID_V2V, 1.0), 1.0)) == "BSM"
    assert outcome(path.receive(spoofer.sign(bsm(42, 1.1, 500.0), PSID_V2V, 1.1), 1.1)) == "station_id_conflict"
    assert outcome(path.receive(owner.sign(bsm(42, 1.2, 4.0), PSID_V2V, 1.2), 1.2)) == "BSM"
    assert path.flagged == {}                                    # nobody blamed for the spoofer's jump
    later = 1.2 + hold + 0.1                                     # the owner stopped using the ID
    assert outcome(path.receive(spoofer.sign(bsm(42, later, 500.0), PSID_V2V, later), later)) == "BSM"


def test_misbehaviour_follows_the_signer_whatever_id_it_claims(trust_params, pki, path):
    liar = MessageSigner(trust_params.security, pki.pseudonyms(7))
    honest = MessageSigner(trust_params.security, pki.pseudonyms(8))
    outcomes = []
    for k in range(10):                                          # claims 20 m/s but jumps 30 m per 0.1 s
        t = 2.0 + 0.1 * k
        outcomes.append(outcome(path.receive(liar.sign(bsm(100, t, 30.0 * k), PSID_V2V, t), t)))
        outcome(path.receive(honest.sign(bsm(200, t, 2.0 * k), PSID_V2V, t), t))
    assert "misbehaviour" in outcomes
    assert list(path.flagged) == [pki.pseudonyms(7)[0].certificate.digest]
    t = 3.5                                                      # a fresh temporary ID does not shed the verdict
    assert outcome(path.receive(liar.sign(bsm(101, t, 300.0), PSID_V2V, t), t)) == "misbehaviour"
    result = path.receive(honest.sign(bsm(200, t, 30.0), PSID_V2V, t), t)
    assert isinstance(result, Received) and result.sender == pki.pseudonyms(8)[0].certificate.digest
