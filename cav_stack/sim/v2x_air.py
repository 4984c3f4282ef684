"""The simulated air interface: CAV radios, roadside units and the radio medium of a scenario.

Each tick the bridge hands over the frames the CAVs' V2X nodes sent; roadside units (one per
SUMO traffic light) add their signed SPaT; the radio model (DSRC or C-V2X, ``v2x/radio_*.yaml``)
decides who receives what and when; scripted link degradation (per sender/receiver loss
probability over time) is applied on top. Radio station IDs are stable per radio (CAV i: i,
RSU k: ``RSU_STATION_BASE + k``), independent of the temporary IDs inside the payloads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from cav_stack.core.messages import MAP_FRAME, Header, V2xFrame, V2xTechnology
from cav_stack.core.truth import WorldTruth
from cav_stack.v2x.codec import encode_spat
from cav_stack.v2x.generation import spat_from_signal
from cav_stack.v2x.pki import SeededPki
from cav_stack.v2x.radio.medium import RadioMedium
from cav_stack.v2x.security import MessageSigner
from cav_stack.v2x.trust_params import V2xTrustParams

RSU_STATION_BASE = 1000
SPAT_PERIOD = 0.1
"""RSUs broadcast SPaT at 10 Hz [s]."""
PSID_INFRASTRUCTURE = 0x82


@dataclass(frozen=True)
class RoadsideUnit:
    """An RSU at a signalised junction: its traffic light, J2735 intersection ID, position [m, map]
    and the light's fixed-time program as (state, duration [s]) per phase."""

    tls_id: str
    intersection_id: int
    x: float
    y: float
    program: tuple[tuple[str, float], ...]


LinkLossSchedule = Callable[[float], dict[tuple[int, int], float]]
"""Scripted loss: time [s] -> {(sender radio, receiver radio): extra loss probability}."""


class V2xAirInterface:
    """Carries V2X frames between CAVs and RSUs through a radio model (see module docstring)."""

    def __init__(self, medium: RadioMedium, cav_ids: tuple[str, ...], rsus: tuple[RoadsideUnit, ...],
                 trust: V2xTrustParams | None, pki_seed: int, link_loss: LinkLossSchedule | None = None):
        self._medium = medium
        self._radio_of = {cav_id: index for index, cav_id in enumerate(cav_ids)}
        self._cav_of = {index: cav_id for cav_id, index in self._radio_of.items()}
        self._rsus = rsus
        self._link_loss = link_loss
        self._applied_losses: set[tuple[int, int]] = set()
        self._next_spat = 0.0
        self._message_types: dict[bytes, str] = {}
        self.technology = V2xTechnology(medium.profile.technology)
        self._signers: dict[str, MessageSigner] = {}
        if trust is not None:
            pki = SeededPki(trust.seeded_pki, pki_seed)
            self._signers = {rsu.tls_id: MessageSigner(trust.security, pki.pseudonyms(RSU_STATION_BASE + k))
                             for k, rsu in enumerate(rsus)}
        self.sent = 0
        self.delivered = 0

    def radio_id(self, cav_id: str) -> int:
        return self._radio_of[cav_id]

    def step(self, now: float, truth: WorldTruth, outbox: list[tuple[str, V2xFrame]],
             rng: np.random.Generator) -> dict[str, list[V2xFrame]]:
        """Advance the air to ``now`` [s]; return the frames each CAV received since the last step."""
        packets = [(self._radio_of[cav_id], frame.payload) for cav_id, frame in outbox]
        for _, frame in outbox:
            self._message_types[frame.payload] = frame.message_type
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
                    payload = signer.sign(payload, PSID_INFRASTRUCTURE, now)
                self._message_types[payload] = "SPAT"
                packets.append((RSU_STATION_BASE + k, payload))
        positions = {self._radio_of[v.vehicle_id]: (v.x, v.y) for v in truth.vehicles if v.vehicle_id in self._radio_of}
        positions.update({RSU_STATION_BASE + k: (rsu.x, rsu.y) for k, rsu in enumerate(self._rsus)})
        packets = [(sender, payload) for sender, payload in packets if sender in positions]
        self._apply_link_loss(now)
        self.sent += len(packets)
        received: dict[str, list[V2xFrame]] = {}
        for delivery in self._medium.step(now, positions, packets, rng):
            cav_id = self._cav_of.get(delivery.receiver_id)
            if cav_id is None:
                continue
            self.delivered += 1
            received.setdefault(cav_id, []).append(V2xFrame(
                Header(now, MAP_FRAME), delivery.sender_id, delivery.payload,
                self._message_types.get(delivery.payload, "unknown"), self.technology, latency=delivery.latency))
        if len(self._message_types) > 10_000:
            self._message_types.clear()
        return received

    def _apply_link_loss(self, now: float) -> None:
        if self._link_loss is None:
            return
        losses = self._link_loss(now)
        for link in self._applied_losses - set(losses):
            self._medium.set_link_loss(*link, 0.0)
        for (sender, receiver), probability in losses.items():
            self._medium.set_link_loss(sender, receiver, probability)
        self._applied_losses = set(losses)
