"""Insider attackers on the simulated air: vehicles that sign false messages with their own
genuine certificates (:class:`cav_stack.world.scenario.InsiderAttackEvent`).

Each attacker builds its false messages from ground truth (its own state, the signals, the
victim's temporary ID as heard on the air) and signs them with credentials of its own pseudonym
pool. The PSID is the one the forged message type travels under, except where the attack is
to slip a message under the attacker's own permissions (RoadSideAlert under the vehicle PSID):
either way, receivers must refuse it for want of permission. Times [s] on the stack clock,
positions in ``map``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cav_stack.core.messages import MAP_FRAME, Header, V2xVehicleReport
from cav_stack.core.path import Polyline
from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.world.scenario import InsiderAttackEvent
from cav_stack.world.road_map import RoadMap
from cav_stack.v2x.codec import encode_bsm, encode_road_alert, encode_spat
from cav_stack.v2x.generation import spat_from_signal
from cav_stack.v2x.geodesy import GeodeticOrigin
from cav_stack.v2x.messages import (ITIS_CLOSED_TO_TRAFFIC, ITIS_INCIDENT, MovementEvent, MovementPhase, RoadAlert,
                                    SpatMessage)
from cav_stack.v2x.permissions import PSID_INTERSECTION, PSID_V2V
from cav_stack.v2x.security import MessageSigner

ATTACK_PERIOD = 0.1
"""Attackers transmit at 10 Hz [s], like the messages they imitate."""
FORGED_GREEN_S = 60.0
"""A forged SPaT announces green for this long [s]."""


@dataclass(frozen=True)
class AttackContext:
    """What an attacker can know: the geodetic origin of ``map``, the road map, the signalised
    junctions as (traffic light ID, J2735 intersection ID) and the temporary station ID each CAV
    last used on the air."""

    origin: GeodeticOrigin
    road_map: RoadMap
    intersections: tuple[tuple[str, int], ...]
    heard_station_ids: dict[str, int]


class InsiderAttacker:
    """The transmitter of one :class:`InsiderAttackEvent`: ``signers`` are MessageSigners over the
    attacker's own pseudonym certificates (one per Sybil identity, one otherwise); ``rng`` draws
    its temporary IDs."""

    def __init__(self, event: InsiderAttackEvent, signers: list[MessageSigner], rng: np.random.Generator):
        self.event = event
        self._signers = signers
        self._station_ids = [int(rng.integers(1, 2 ** 32)) for _ in signers]
        self._count = 0
        self._next = event.time

    @property
    def station_ids(self) -> tuple[int, ...]:
        """The temporary IDs it uses as itself (not the victim's it borrows)."""
        return tuple(self._station_ids)

    def packets(self, now: float, truth: WorldTruth, context: AttackContext) -> list[bytes]:
        """The signed frames due at ``now`` (empty when idle or its vehicle is not on the road)."""
        event = self.event
        active = event.time <= now + 1e-9 and (event.duration is None or now < event.time + event.duration)
        attacker = truth.vehicle(event.attacker)
        if not active or attacker is None or now + 1e-9 < self._next:
            return []
        self._next = now + ATTACK_PERIOD
        self._count = (self._count + 1) % 128
        if event.kind == "spat_forgery":
            return [self._signers[0].sign(encode_spat(self._forged_spat(now, truth, context)), PSID_INTERSECTION, now)]
        if event.kind == "rsa_closure":
            alert = self._closure(now, context)
            return [self._signers[0].sign(encode_road_alert(alert, origin=context.origin), PSID_V2V, now)]
        if event.kind == "id_spoofing":
            assert event.victim is not None       # required for id_spoofing (InsiderAttackEvent checks)
            victim_id = context.heard_station_ids.get(event.victim)
            if victim_id is None:
                return []
            return [self._signed_bsm(0, victim_id, attacker, now, now, context)]
        if event.kind == "future_dated_bsm":
            return [self._signed_bsm(0, self._station_ids[0], attacker, now + event.lead, now, context)]
        return [self._signed_bsm(k, self._station_ids[k], attacker, now, now, context)
                for k in range(len(self._signers))]

    def _signed_bsm(self, index: int, station_id: int, attacker: VehicleTruth, stamp: float, now: float,
                    context: AttackContext) -> bytes:
        """A BSM of the ``index``-th false vehicle under ``station_id``, stamped ``stamp`` [s] and signed at ``now``."""
        x, y, yaw, speed = self.event.claimed_state(attacker.x, attacker.y, attacker.yaw, attacker.speed, index)
        report = V2xVehicleReport(Header(stamp, MAP_FRAME), station_id, self._count, x, y, yaw, speed,
                                  0.0, 0.0, attacker.length, attacker.width, 1.0)
        return self._signers[index].sign(encode_bsm(report, origin=context.origin), PSID_V2V, now)

    def _forged_spat(self, now: float, truth: WorldTruth, context: AttackContext) -> SpatMessage:
        """The true SPaT of every junction with every group green for :data:`FORGED_GREEN_S`."""
        signals = {s.tls_id: s for s in truth.signals}
        intersections = []
        for tls_id, intersection_id in context.intersections:
            if tls_id not in signals:
                continue
            true = spat_from_signal(signals[tls_id], now=now, intersection_id=intersection_id)
            for state in true.intersections:
                green = MovementEvent(MovementPhase.PROTECTED_MOVEMENT_ALLOWED, now + FORGED_GREEN_S,
                                      likely_time=now + FORGED_GREEN_S)
                intersections.append(replace(state, groups=tuple(replace(g, events=(green,)) for g in state.groups)))
        return SpatMessage(Header(now, MAP_FRAME), tuple(intersections))

    def _closure(self, now: float, context: AttackContext) -> RoadAlert:
        """An ITIS incident closing the event's edge, at its middle on the first lane."""
        assert self.event.edge is not None        # required for rsa_closure (InsiderAttackEvent checks)
        lane = Polyline(context.road_map.lane_centerline(context.road_map.lane_id(self.event.edge, 0)))
        x, y, yaw = lane.sample(0.5 * lane.length)
        return RoadAlert(Header(now, MAP_FRAME), self._count, ITIS_INCIDENT, x, y, yaw, (ITIS_CLOSED_TO_TRAFFIC,))


def forged_sender_count(event: InsiderAttackEvent) -> int:
    """How many certificates the attack signs with at once."""
    return event.pseudonyms if event.kind == "sybil_pseudonyms" else 1
