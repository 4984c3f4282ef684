"""The receive path of one station: verify -> decode -> permission -> timing -> identity -> plausibility.

For each received frame (bytes off the air):
1. the 1609.2 envelope is verified (:class:`MessageVerifier`: chain, validity, PSID, revocation,
   replay, signature); a revocation list (PSID 0x100, only the CRL signer holds it) is applied
   to the verifier and goes no further;
2. the J2735 payload is decoded; only the codec's documented :class:`V2xDecodeError` counts as
   a malformed frame, anything else is a bug and propagates;
3. the signer's permissions must cover the message type (PSID and SSP,
   :func:`cav_stack.v2x.permissions.permits`): a vehicle cannot send SPaT, MAP or RoadSideAlert;
4. a vehicle message's own time (BSM secMark, manoeuvre secMark) must lie within
   [generation time - ``max_payload_lag``, generation time + ``max_payload_lead``] of its signed
   envelope (unsigned: of ``now``): a report from the future is refused;
5. its temporary station ID must be bound to its signer (:class:`StationIdBinding`);
6. BSMs go to the misbehaviour detector, keyed on the signer; messages of a flagged signer are
   refused.
A refusal is a :class:`Rejected` with the counter name of its reason. ``now`` [s] is the stack
clock; positions are in ``map``.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Hashable

from cav_stack.core.messages import TrackList
from cav_stack.core.params import validate_positive
from cav_stack.v2x.codec import V2xDecodeError, decode_frame
from cav_stack.v2x.geodesy import GeodeticOrigin
from cav_stack.v2x.messages import DecodedBsm, ManeuverShare, MapMessage, RoadAlert, SpatMessage
from cav_stack.v2x.misbehaviour import MisbehaviourDetector, MisbehaviourVerdict, VisibilityTest
from cav_stack.v2x.permissions import PSID_CRL, permits
from cav_stack.v2x.revocation import RevocationListError, decode_revocation_list
from cav_stack.v2x.security import Accepted, MessageVerifier
from cav_stack.v2x.station_binding import StationIdBinding

#: Decoded message class -> codec short name.
MESSAGE_TYPE_OF = {DecodedBsm: "BSM", SpatMessage: "SPAT", MapMessage: "MAP", RoadAlert: "RSA",
                   ManeuverShare: "MANEUVER"}
#: Short name of a revocation list (not a J2735 message).
CRL = "CRL"


@dataclass(frozen=True)
class ReceptionParams:
    """``reception`` section of ``v2x/security.yaml``.

    max_payload_lead [s] (YAML ``_ms``): how much later than its envelope's generation time a
    vehicle message's own time may be (J2735 millisecond rounding; more: a report from the future);
    max_payload_lag [s] (YAML ``_ms``): how much earlier it may be (state measured before signing);
    id_binding_hold [s]: a station ID stays bound to the certificate that used it until unused this long.
    """

    max_payload_lead: float
    max_payload_lag: float
    id_binding_hold: float

    def __post_init__(self) -> None:
        validate_positive(max_payload_lead=self.max_payload_lead, max_payload_lag=self.max_payload_lag,
                          id_binding_hold=self.id_binding_hold)


@dataclass(frozen=True)
class Received:
    """A frame that passed every check: the decoded message (or the revoked HashedId8s of a
    revocation list), its short type name, its sender (signer HashedId8; station ID when
    unsigned) and the envelope's generation time [s] (None when unsigned)."""

    message: object
    message_type: str
    sender: Hashable
    generation_time: float | None


@dataclass(frozen=True)
class Rejected:
    """A refused frame: the counter name of the reason (a :class:`RefusalReason` value,
    ``undecodable``, ``permission``, ``future_report``, ``stale_report``, ``station_id_conflict``,
    ``misbehaviour``); unknown_signer: refused because it was signed with the digest of a
    certificate not learned yet (a new neighbour)."""

    reason: str
    unknown_signer: bool = False


class ReceivePath:
    """The checks of the module docstring for one station; ``verifier`` None: unsigned frames."""

    def __init__(self, params: ReceptionParams, verifier: MessageVerifier | None, detector: MisbehaviourDetector,
                 origin: GeodeticOrigin):
        self.params = params
        self._verifier = verifier
        self._detector = detector
        self._origin = origin
        self._binding = StationIdBinding(params.id_binding_hold)
        self._flagged: dict[Hashable, float] = {}

    @property
    def flagged(self) -> dict[Hashable, float]:
        """Senders flagged so far: sender -> time first flagged [s]."""
        return dict(self._flagged)

    def is_flagged(self, sender: Hashable) -> bool:
        return sender in self._flagged

    def receive(self, frame: bytes, now: float, own_station: int | None = None) -> Received | Rejected | None:
        """Run ``frame`` through the checks at ``now`` [s]; None for the station's own messages
        (temporary ID ``own_station``), which are ignored."""
        generation_time: float | None = None
        ssp: bytes | None = None
        psid: int | None = None             # set (with ssp) exactly when the frame was verified
        sender: Hashable | None = None
        payload = frame
        if self._verifier is not None:
            verdict = self._verifier.verify(frame, now)
            if not isinstance(verdict, Accepted):
                return Rejected(verdict.reason.value, verdict.unknown_digest)
            if verdict.psid == PSID_CRL:
                return self._apply_revocations(verdict)
            payload, psid, ssp = verdict.payload, verdict.psid, verdict.ssp
            generation_time, sender = verdict.generation_time, verdict.signer_id
        try:
            message = decode_frame(payload, origin=self._origin, now=now)
        except V2xDecodeError:
            return Rejected("undecodable")
        message_type = MESSAGE_TYPE_OF[type(message)]
        if psid is not None and not permits(psid, ssp, message_type):
            return Rejected("permission")
        if not isinstance(message, (DecodedBsm, ManeuverShare)):
            return Received(message, message_type, sender, generation_time)
        carried = message.report if isinstance(message, DecodedBsm) else message
        if carried.station_id == own_station:
            return None
        sender = carried.station_id if sender is None else sender
        lead = carried.header.stamp - (now if generation_time is None else generation_time)
        if lead > self.params.max_payload_lead:
            return Rejected("future_report")
        if -lead > self.params.max_payload_lag:
            return Rejected("stale_report")
        if not self._binding.claim(carried.station_id, sender, now):
            return Rejected("station_id_conflict")
        if isinstance(message, DecodedBsm):
            self._note(self._detector.on_report(message.report, now, sender))
        if sender in self._flagged:
            return Rejected("misbehaviour")
        return Received(message, message_type, sender, generation_time)

    def on_sensor_tracks(self, tracks: TrackList, is_visible: VisibilityTest, now: float) -> None:
        """Cross-check the senders against onboard sensor tracks (see MisbehaviourDetector.on_tracks)."""
        for verdict in self._detector.on_tracks(tracks, is_visible, now):
            self._note(verdict)

    def _note(self, verdict: MisbehaviourVerdict) -> None:
        if verdict.flagged:
            assert verdict.flagged_at is not None     # a flagged verdict carries its time
            self._flagged.setdefault(verdict.sender, verdict.flagged_at)

    def _apply_revocations(self, verdict: Accepted) -> Received | Rejected:
        try:
            revoked = decode_revocation_list(verdict.payload)
        except RevocationListError:
            return Rejected("undecodable")
        assert self._verifier is not None             # only signed frames carry a revocation list
        self._verifier.revoke(revoked)
        return Received(revoked, CRL, verdict.signer_id, verdict.generation_time)
