"""The simulated air interface: CAV radios, roadside units and the radio medium of a scenario.

Each tick the bridge hands over the frames the CAVs' V2X nodes sent; roadside units (one per
SUMO traffic light) add their signed SPaT; alerting roadside units (the road operator's RSUs at
the junctions around an incident, :func:`incident_alerting_units`) add their signed RoadSideAlert
once a second from the incident on; equipped background vehicles (connected traffic,
:mod:`cav_stack.sim.connected_traffic`) add their signed BSMs; the radio model (DSRC or C-V2X,
``v2x/radio_*.yaml``) decides who receives what and when; scripted link degradation (per
sender/receiver loss probability over time) is applied on top; insider attackers
(:mod:`cav_stack.sim.v2x_attacks`, and the ghost-vehicle attack) add their signed false messages,
every one of which is remembered for the attack accounting (ground truth, for the metrics only);
revocation lists signed by the CRL signer reach every CAV at their scenario time (distributed
over the backhaul, not the 5.9 GHz channel). RSUs sign with RSU certificates, vehicles with their
pseudonyms (:mod:`cav_stack.v2x.permissions`). Radio station IDs are stable per
radio (CAV i: i, RSU k: ``RSU_STATION_BASE + k``, alerting RSU j: ``RSU_STATION_BASE + len(rsus) + j``,
attacker k: ``ATTACKER_STATION_BASE + k``, connected background vehicle k in order of first
transmission: ``CONNECTED_STATION_BASE + k``),
independent of the temporary IDs inside the payloads.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from collections.abc import Callable, Sequence

import numpy as np

from cav_stack.core.messages import MAP_FRAME, Header, V2xFrame, V2xTechnology, V2xVehicleReport
from cav_stack.core.truth import WorldTruth
from cav_stack.core.path import Polyline
from cav_stack.world.scenario import GhostVehicleEvent, IncidentEvent, InsiderAttackEvent, RevocationEvent
from cav_stack.world.road_map import RoadMap
from cav_stack.sim.connected_traffic import ConnectedTraffic
from cav_stack.sim.v2x_attacks import AttackContext, InsiderAttacker, forged_sender_count
from cav_stack.v2x.codec import encode_bsm, encode_road_alert, encode_spat
from cav_stack.v2x.generation import spat_from_signal
from cav_stack.v2x.geodesy import GeodeticOrigin
from cav_stack.v2x.messages import ITIS_CLOSED_TO_TRAFFIC, ITIS_INCIDENT, RoadAlert
from cav_stack.v2x.permissions import PSID_CRL, PSID_OF_MESSAGE
from cav_stack.v2x.pki import SeededPki
from cav_stack.v2x.revocation import encode_revocation_list
from cav_stack.v2x.radio.medium import RadioMedium
from cav_stack.v2x.security import MessageSigner
from cav_stack.v2x.trust_params import V2xTrustParams

RSU_STATION_BASE = 1000
ATTACKER_STATION_BASE = 2000
"""Radio IDs of non-CAV vehicles that transmit in attack scenarios."""
CONNECTED_STATION_BASE = 3000
"""Radio IDs of V2X-equipped background vehicles."""
SPAT_PERIOD = 0.1
"""RSUs broadcast SPaT at 10 Hz [s]."""
ALERT_PERIOD = 1.0
"""Alerting RSUs repeat their RoadSideAlert every second [s]."""
INCIDENT_ALERT_RADIUS = 300.0
"""The road operator's RSUs at junctions within this distance [m] of an incident broadcast its alert."""


@dataclass(frozen=True)
class RoadsideUnit:
    """An RSU at a signalised junction: its traffic light, J2735 intersection ID, position [m, map]
    and the light's fixed-time program as (state, duration [s]) per phase."""

    tls_id: str
    intersection_id: int
    x: float
    y: float
    program: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class AlertingUnit:
    """An RSU at (x, y) [m, map] that broadcasts ``alert`` every :data:`ALERT_PERIOD` from ``start``
    [s] on (each transmission carries its own generation time and message count)."""

    x: float
    y: float
    start: float
    alert: RoadAlert


def incident_alerting_units(event: IncidentEvent, road_map: RoadMap,
                            junctions: Sequence[tuple[float, float]],
                            radius: float = INCIDENT_ALERT_RADIUS) -> tuple[AlertingUnit, ...]:
    """The RSUs that report ``event``: one at each junction [m, map] within ``radius`` [m] of the
    incident, from the incident's time on. The alert is an ITIS incident at the blocking vehicle's
    position on the edge's first lane, for the edge's direction of travel there, closed to traffic
    when the event closes the edge. Raises ValueError when no junction is within ``radius``."""
    lane = Polyline(road_map.lane_centerline(road_map.lane_id(event.edge, 0)))
    x, y, yaw = lane.sample(min(event.position, lane.length))
    alert = RoadAlert(Header(event.time, MAP_FRAME), 0, ITIS_INCIDENT, x, y, yaw,
                      (ITIS_CLOSED_TO_TRAFFIC,) if event.closes else ())
    units = tuple(AlertingUnit(jx, jy, event.time, alert) for jx, jy in junctions
                  if math.hypot(jx - x, jy - y) <= radius)
    if not units:
        raise ValueError(f"no junction within {radius} m of the incident on edge {event.edge}: nobody reports it")
    return units


#: Message type of each insider attack's frames (the others forge BSMs).
FORGED_TYPE = {"spat_forgery": "SPAT", "rsa_closure": "RSA"}

LinkLossSchedule = Callable[[float], dict[tuple[int, int], float]]
"""Scripted loss: time [s] -> {(sender radio, receiver radio): extra loss probability}."""
GhostSchedule = Callable[[float], tuple[GhostVehicleEvent, ...]]
"""Scripted attacks: time [s] -> ghost-vehicle events under way."""
GHOST_PERIOD = 0.1
"""A ghost's BSM period [s] (the attacker imitates a cooperative vehicle at 10 Hz)."""


class V2xAirInterface:
    """Carries V2X frames between CAVs and RSUs through a radio model (see module docstring)."""

    def __init__(self, medium: RadioMedium, cav_ids: tuple[str, ...], rsus: tuple[RoadsideUnit, ...],
                 trust: V2xTrustParams | None, pki_seed: int, link_loss: LinkLossSchedule | None = None,
                 ghosts: GhostSchedule | None = None, origin: GeodeticOrigin | None = None,
                 connected: ConnectedTraffic | None = None, alerting: tuple[AlertingUnit, ...] = (),
                 attacks: tuple[InsiderAttackEvent, ...] = (), revocations: tuple[RevocationEvent, ...] = (),
                 road_map: RoadMap | None = None, attack_seed: int = 0, entering: tuple[str, ...] = ()):
        """ghosts: scripted ghost-vehicle attacks, sent from the attacker's radio with the attacker's
        own valid credentials (an insider); origin: geodetic origin of ``map`` for their BSMs and
        those of ``connected``: the V2X-equipped background vehicles, each sending from its own
        radio with its own credentials of the simulated PKI; alerting: RSUs that broadcast road
        alerts (RoadSideAlert, needs ``origin``), each with its own credentials; attacks: insider
        attacks (need ``trust``, ``origin`` and ``road_map``; ``attack_seed`` seeds the attackers'
        temporary IDs); revocations: revocation lists published during the run (need ``trust``);
        entering: CAVs of flows with a CAV share, radios numbered after ``cav_ids``' (they sign in their
        own V2X nodes; scripted attacks name only ``cav_ids`` or named vehicles, so the air holds no
        credentials of theirs)."""
        self._medium = medium
        self._radio_of = {cav_id: index for index, cav_id in enumerate(cav_ids + entering)}
        self._cav_of = {index: cav_id for cav_id, index in self._radio_of.items()}
        self._rsus = rsus
        self._link_loss = link_loss
        self._applied_losses: set[tuple[int, int]] = set()
        self._next_spat = 0.0
        if alerting and origin is None:
            raise ValueError("alerting RSUs need the geodetic origin of map for their RoadSideAlerts")
        self._alerting = alerting
        self._alert_radio = {j: RSU_STATION_BASE + len(rsus) + j for j in range(len(alerting))}
        self._next_alert = [unit.start for unit in alerting]
        self._alert_count = [0] * len(alerting)
        self._message_types: dict[bytes, str] = {}
        self.technology = V2xTechnology(medium.profile.technology)
        self._signers: dict[str, MessageSigner] = {}
        self._alert_signers: dict[int, MessageSigner] = {}
        if trust is not None:
            pki = SeededPki(trust.seeded_pki, pki_seed)
            self._signers = {rsu.tls_id: MessageSigner(trust.security, [pki.roadside(k)])
                             for k, rsu in enumerate(rsus)}
            self._signers.update({cav_id: MessageSigner(trust.security, pki.pseudonyms(i))
                                  for i, cav_id in enumerate(cav_ids)})
            self._alert_signers = {j: MessageSigner(trust.security, [pki.roadside(len(rsus) + j)])
                                   for j in self._alert_radio}
        self._ghosts = ghosts
        self._origin = origin
        self._pki = pki if trust is not None else None
        self._trust = trust
        self._attacker_radio: dict[str, int] = {}
        self._next_ghost = 0.0
        self._ghost_ids: dict[GhostVehicleEvent, tuple[int, list[int]]] = {}
        self._connected = connected
        self._connected_radio: dict[str, int] = {}
        #: Station IDs of ghost vehicles -> time of their first message [s] (for the metrics only).
        self.ghost_stations: dict[int, float] = {}
        #: Every attack frame put on the air (ghosts' and insiders'), for the metrics only.
        self.attack_payloads: set[bytes] = set()
        self.attack_sent = 0
        if (attacks or revocations) and trust is None:
            raise ValueError("insider attacks and revocations need the security settings (signed V2X)")
        if attacks and (origin is None or road_map is None):
            raise ValueError("insider attacks need the geodetic origin of map and the road map")
        self._road_map = road_map
        self._revocations = sorted(revocations, key=lambda e: e.time)
        self._heard: dict[str, int] = {}
        rng = np.random.default_rng(attack_seed)
        self._insiders = [InsiderAttacker(event, self._attack_signers(event), rng) for event in attacks]
        self.sent = 0
        self.delivered = 0
        #: Ground-truth observers of CAV-to-CAV traffic (metrics only), called every step with
        #: (now [s], CAV positions {id: (x, y)} [m, map], sent [(sender, payload, generation time [s])],
        #: delivered [(sender, receiver, payload)]).
        self.link_observers: list[Callable[[float, dict, list, list], None]] = []

    def radio_id(self, cav_id: str) -> int:
        return self._radio_of[cav_id]

    def step(self, now: float, truth: WorldTruth, outbox: list[tuple[str, V2xFrame]],
             rng: np.random.Generator) -> dict[str, list[V2xFrame]]:
        """Advance the air to ``now`` [s]; return the frames each CAV received since the last step."""
        packets = [(self._radio_of[cav_id], frame.payload) for cav_id, frame in outbox]
        for cav_id, frame in outbox:
            self._message_types[frame.payload] = frame.message_type
            if frame.message_type == "BSM":
                self._heard[cav_id] = frame.sender_id
        if self._rsus and now + 1e-9 >= self._next_spat:
            self._next_spat = now + SPAT_PERIOD
            signals = {s.tls_id: s for s in truth.signals}
            for k, rsu in enumerate(self._rsus):
                signal = signals.get(rsu.tls_id)
                if signal is None:
                    continue
                payload = encode_spat(spat_from_signal(signal, now=now, intersection_id=rsu.intersection_id,
                                                       program=rsu.program or None))
                signer = self._signers.get(rsu.tls_id)
                if signer is not None:
                    payload = signer.sign(payload, PSID_OF_MESSAGE["SPAT"], now)
                self._message_types[payload] = "SPAT"
                packets.append((RSU_STATION_BASE + k, payload))
        packets += self._alert_packets(now)
        packets += self._attack_packets(self._ghost_packets(now, truth, rng) + self._insider_packets(now, truth))
        connected_positions, connected_packets = self._connected_packets(now, truth)
        packets += connected_packets
        positions = {self._radio_of[v.vehicle_id]: (v.x, v.y) for v in truth.vehicles if v.vehicle_id in self._radio_of}
        positions.update({RSU_STATION_BASE + k: (rsu.x, rsu.y) for k, rsu in enumerate(self._rsus)})
        positions.update({self._alert_radio[j]: (unit.x, unit.y) for j, unit in enumerate(self._alerting)
                          if now + 1e-9 >= unit.start})
        positions.update({radio: (v.x, v.y) for vehicle_id, radio in self._attacker_radio.items()
                          if (v := truth.vehicle(vehicle_id)) is not None})
        positions.update(connected_positions)
        packets = [(sender, payload) for sender, payload in packets if sender in positions]
        self.attack_sent += sum(1 for _, payload in packets if payload in self.attack_payloads)
        self._apply_link_loss(now)
        self.sent += len(packets)
        received: dict[str, list[V2xFrame]] = {}
        between_cavs: list[tuple[str, str, bytes]] = []
        header = Header(now, MAP_FRAME)        # every frame delivered in this step carries it
        for delivery in self._medium.step(now, positions, packets, rng):
            receiver = self._cav_of.get(delivery.receiver_id)
            if receiver is None:
                continue
            self.delivered += 1
            if delivery.sender_id in self._cav_of:
                between_cavs.append((self._cav_of[delivery.sender_id], receiver, delivery.payload))
            received.setdefault(receiver, []).append(V2xFrame(
                header, delivery.sender_id, delivery.payload,
                self._message_types.get(delivery.payload, "unknown"), self.technology, latency=delivery.latency))
        self._deliver_revocations(now, received)
        if self.link_observers:
            cav_positions = {v.vehicle_id: (v.x, v.y) for v in truth.vehicles if v.vehicle_id in self._radio_of}
            sent = [(cav_id, frame.payload, frame.header.stamp) for cav_id, frame in outbox if cav_id in cav_positions]
            for observer in self.link_observers:
                observer(now, cav_positions, sent, between_cavs)
        if len(self._message_types) > 10_000:
            self._message_types.clear()
        return received

    def _alert_packets(self, now: float) -> list[tuple[int, bytes]]:
        """The signed RoadSideAlerts of the alerting RSUs due now."""
        packets = []
        for j, unit in enumerate(self._alerting):
            if now + 1e-9 < self._next_alert[j]:
                continue
            self._next_alert[j] = now + ALERT_PERIOD
            alert = replace(unit.alert, header=Header(now, MAP_FRAME), msg_count=self._alert_count[j])
            self._alert_count[j] = (self._alert_count[j] + 1) % 128
            payload = encode_road_alert(alert, origin=self._geodetic_origin())
            signer = self._alert_signers.get(j)
            if signer is not None:
                payload = signer.sign(payload, PSID_OF_MESSAGE["RSA"], now)
            self._message_types[payload] = "RSA"
            packets.append((self._alert_radio[j], payload))
        return packets

    def _ghost_packets(self, now: float, truth: WorldTruth, rng: np.random.Generator) -> list[tuple[int, bytes]]:
        if self._ghosts is None or now + 1e-9 < self._next_ghost:
            return []
        self._next_ghost = now + GHOST_PERIOD
        packets = []
        for event in self._ghosts(now):
            attacker = truth.vehicle(event.attacker)
            if attacker is None:
                continue
            if event not in self._ghost_ids:
                station = int(rng.integers(1, 2 ** 32))
                self._ghost_ids[event] = (station, [0])
                self.ghost_stations[station] = now
            station, count = self._ghost_ids[event]
            x, y, yaw, speed = event.ghost_state(attacker.x, attacker.y, attacker.yaw, attacker.speed)
            report = V2xVehicleReport(Header(now, MAP_FRAME), station, count[0], x, y, yaw, speed,
                                      attacker.accel, 0.0, attacker.length, attacker.width, 1.0)
            count[0] = (count[0] + 1) % 128
            payload = encode_bsm(report, origin=self._geodetic_origin())
            signer = self._signers.get(event.attacker)
            if signer is not None:
                payload = signer.sign(payload, PSID_OF_MESSAGE["BSM"], now)
            self._message_types[payload] = "BSM"
            packets.append((self._radio_for(event.attacker), payload))
        return packets

    def _attack_signers(self, event: InsiderAttackEvent) -> list[MessageSigner]:
        """Signers over the attacker's own pseudonyms: its usual one, or one per Sybil identity."""
        radio = self._radio_for(event.attacker)
        count = forged_sender_count(event)
        if count == 1:
            return [self._signers[event.attacker]]
        assert self._pki is not None and self._trust is not None   # __init__: attacks need the security settings
        pool = self._pki.pseudonyms(radio)
        if count > len(pool):
            raise ValueError(f"{count} Sybil identities need as many pseudonyms; the pool holds {len(pool)}")
        return [MessageSigner(self._trust.security, [credential]) for credential in pool[:count]]

    def _insider_packets(self, now: float, truth: WorldTruth) -> list[tuple[int, bytes]]:
        if not self._insiders:
            return []
        assert self._origin is not None and self._road_map is not None   # __init__: attacks need both
        context = AttackContext(self._origin, self._road_map,
                                tuple((rsu.tls_id, rsu.intersection_id) for rsu in self._rsus), dict(self._heard))
        packets = []
        for attacker in self._insiders:
            for payload in attacker.packets(now, truth, context):
                self._message_types[payload] = FORGED_TYPE.get(attacker.event.kind, "BSM")
                packets.append((self._radio_for(attacker.event.attacker), payload))
        return packets

    def _attack_packets(self, packets: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        """Remember attack frames (ground truth for the attack accounting) and pass them on."""
        self.attack_payloads.update(payload for _, payload in packets)
        return packets

    def attacker_keys(self) -> set:
        """Sender keys of every attacker (HashedId8 hex of each of its pseudonyms; the temporary
        IDs it claims as itself): verdicts against any other sender are false alarms."""
        keys: set = set(self.ghost_stations)
        for attacker in self._insiders:
            keys.update(attacker.station_ids)
        if self._pki is not None:
            for radio in self._attacker_radio.values():
                keys.update(c.certificate.digest.hex() for c in self._pki.pseudonyms(radio))
            for event in self._ghost_ids:
                if event.attacker in self._radio_of:
                    pool = self._pki.pseudonyms(self._radio_of[event.attacker])
                    keys.update(c.certificate.digest.hex() for c in pool)
        return keys

    def _deliver_revocations(self, now: float, received: dict[str, list[V2xFrame]]) -> None:
        """Hand each revocation list due by ``now`` to every CAV (signed by the CRL signer)."""
        while self._revocations and self._revocations[0].time <= now + 1e-9:
            event = self._revocations.pop(0)
            assert self._pki is not None and self._trust is not None   # __init__: revocations need them
            radio = self._radio_of.get(event.vehicle)
            pool = self._pki.pseudonyms(radio if radio is not None else self._radio_for(event.vehicle))
            signer = MessageSigner(self._trust.security, [self._pki.crl_signer])
            payload = signer.sign(encode_revocation_list(c.certificate.digest for c in pool), PSID_CRL, now)
            for cav_id in self._radio_of:
                received.setdefault(cav_id, []).append(V2xFrame(Header(now, MAP_FRAME), 0, payload, "CRL",
                                                                self.technology))

    def _connected_packets(self, now: float, truth: WorldTruth
                           ) -> tuple[dict[int, tuple[float, float]], list[tuple[int, bytes]]]:
        """Positions [m, map] of the connected background radios on the air, and their signed BSMs due now."""
        if self._connected is None:
            return {}, []
        cavs = tuple((v.x, v.y) for v in truth.vehicles if v.vehicle_id in self._radio_of)
        vehicles = self._connected.active(now, truth, cavs)
        for vehicle in vehicles:
            if vehicle.vehicle_id not in self._connected_radio:
                radio = CONNECTED_STATION_BASE + len(self._connected_radio)
                self._connected_radio[vehicle.vehicle_id] = radio
                if self._pki is not None:
                    self._signers[vehicle.vehicle_id] = self._pseudonym_signer(radio)
        packets = []
        for vehicle_id, report in self._connected.reports(now, vehicles):
            payload = encode_bsm(report, origin=self._geodetic_origin())
            signer = self._signers.get(vehicle_id)
            if signer is not None:
                payload = signer.sign(payload, PSID_OF_MESSAGE["BSM"], now)
            self._message_types[payload] = "BSM"
            packets.append((self._connected_radio[vehicle_id], payload))
        return {self._connected_radio[v.vehicle_id]: (v.x, v.y) for v in vehicles}, packets

    def _radio_for(self, vehicle_id: str) -> int:
        """The radio of a transmitting vehicle: a CAV's own, or one given to an attacking car."""
        if vehicle_id in self._radio_of:
            return self._radio_of[vehicle_id]
        if vehicle_id not in self._attacker_radio:
            radio = ATTACKER_STATION_BASE + len(self._attacker_radio)
            self._attacker_radio[vehicle_id] = radio
            if self._pki is not None:
                self._signers[vehicle_id] = self._pseudonym_signer(radio)
        return self._attacker_radio[vehicle_id]

    def _pseudonym_signer(self, radio: int) -> MessageSigner:
        """A signer over the pseudonyms of ``radio`` (signed V2X only: the PKI exists)."""
        assert self._pki is not None and self._trust is not None   # __init__ sets both or neither
        return MessageSigner(self._trust.security, self._pki.pseudonyms(radio))

    def _geodetic_origin(self) -> GeodeticOrigin:
        """The geodetic origin of ``map`` (required by every sender that encodes a J2735 message here)."""
        assert self._origin is not None, "encoding V2X messages needs the geodetic origin of map"
        return self._origin

    def _apply_link_loss(self, now: float) -> None:
        if self._link_loss is None:
            return
        losses = self._link_loss(now)
        for link in self._applied_losses - set(losses):
            self._medium.set_link_loss(*link, 0.0)
        for (sender, receiver), probability in losses.items():
            self._medium.set_link_loss(sender, receiver, probability)
        self._applied_losses = set(losses)
