"""The radio medium of one scenario: what the sim bridge calls every tick.

Stations are identified by integer IDs chosen by the caller; payloads are opaque bytes.
``step`` first advances the air interface to ``now`` (frames queued at earlier ticks are
contended for, sent and received) and then queues this tick's outbox, generated at ``now``.
A frame queued at tick k is therefore delivered at the earliest by the step of tick k + 1;
each :class:`Delivery` carries the frame's real hand-over + access + air latency.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping, Sequence

import numpy as np

from cav_stack.v2x.radio.channel import Channel
from cav_stack.v2x.radio.cv2x import Cv2xMode4
from cav_stack.v2x.radio.dsrc import Dsrc
from cav_stack.v2x.radio.outcomes import Outcome, TxReport
from cav_stack.v2x.radio.profile import RadioProfile, load_radio_profile


@dataclass(frozen=True)
class Delivery:
    """A payload received by ``receiver_id`` from ``sender_id``.

    latency: time from the tick the payload was queued at to the end of its reception [s]
    (the sender's clock phase, hand-over jitter, channel access and air time).
    """

    receiver_id: int
    sender_id: int
    payload: bytes
    latency: float


class RadioMedium:
    """Shared air interface of all stations of a scenario (DSRC or C-V2X per the profile).

    obstacles: building footprints, (m, 2) vertex arrays in ``map`` [m]; links crossing one
    use the NLOS path loss.
    """

    def __init__(self, profile: RadioProfile, obstacles: Sequence[np.ndarray] = ()):
        self.profile = profile
        channel = Channel(profile.channel, obstacles)
        n = profile.max_stations
        # RadioProfile guarantees the parameters of its technology are set
        if profile.technology == "cv2x":
            assert profile.cv2x is not None
            self._model: Cv2xMode4 | Dsrc = Cv2xMode4(profile.cv2x, channel, n)
        else:
            assert profile.dsrc is not None
            self._model = Dsrc(profile.dsrc, channel, n)
        self._slot_of: dict[int, int] = {}
        self._station_at = np.full(n, -1, dtype=np.int64)
        self._positions = np.zeros((n, 2))
        self._active = np.zeros(n, dtype=bool)
        self._packets: dict[int, tuple[int, bytes, float]] = {}
        self._next_packet = 0
        self._link_loss: dict[tuple[int, int], float] = {}
        self._clock_phase: dict[int, float] = {}     # station -> its clock's phase after the tick [s]
        self._origin: float | None = None
        self._last_now = -math.inf

    @classmethod
    def from_yaml(cls, path: str | Path, obstacles: Sequence[np.ndarray] = ()) -> RadioMedium:
        """Build the medium from a radio profile YAML (``v2x/radio_<tech>.yaml``)."""
        return cls(load_radio_profile(path), obstacles)

    @property
    def dropped_packets(self) -> int:
        """Packets discarded because a station's transmit queue was full."""
        return self._model.queues.dropped

    def set_link_loss(self, sender_id: int, receiver_id: int, probability: float) -> None:
        """Drop frames from ``sender_id`` to ``receiver_id`` with ``probability`` [0..1] on top of
        the radio model (scripted degradation); 0 removes the override."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"link loss probability must be in [0, 1], got {probability}")
        if probability == 0.0:
            self._link_loss.pop((sender_id, receiver_id), None)
        else:
            self._link_loss[(sender_id, receiver_id)] = probability

    def channel_busy_ratio(self, station_id: int) -> float:
        """Channel busy ratio [0..1] measured by ``station_id`` (802.11p: busy time over the CBR
        window; C-V2X: share of sub-channels above the S-RSSI threshold over the last period)."""
        if station_id not in self._slot_of:
            raise ValueError(f"unknown station {station_id}")
        return self._model.channel_busy_ratio(self._slot_of[station_id])

    def step(self, now: float, positions: Mapping[int, tuple[float, float]],
             outbox: Sequence[tuple[int, bytes]], rng: np.random.Generator) -> list[Delivery]:
        """Advance the air interface to ``now`` [s] and queue ``outbox`` generated at ``now``.

        positions: ``map`` position (x, y) [m] of every station present; stations missing from
        it have left (their queued frames are discarded). outbox: (sender_id, payload) pairs,
        each sender must be in ``positions``. Returns the deliveries completed since the last step.
        """
        if not math.isfinite(now) or now < self._last_now:
            raise ValueError(f"now must be finite and non-decreasing, got {now} after {self._last_now}")
        for sender, payload in outbox:
            if sender not in positions:
                raise ValueError(f"outbox sender {sender} has no position")
            if not isinstance(payload, (bytes, bytearray)):
                raise ValueError(f"payload of sender {sender} must be bytes, got {type(payload).__name__}")
        if self._origin is None:
            self._origin = now
        self._last_now = now
        self._update_stations(positions)
        reports = self._model.advance(now - self._origin, self._positions, self._active, rng)
        deliveries = self._deliveries(reports, rng)
        for sender, payload in outbox:
            packet = self._next_packet
            self._next_packet += 1
            self._packets[packet] = (sender, bytes(payload), now - self._origin)
            phase = self._clock_phase.get(sender)
            if phase is None:
                phase = self._clock_phase[sender] = float(rng.uniform(0.0, self.profile.clock_phase_spread))
            handover = phase + rng.uniform(0.0, self.profile.access_jitter)
            dropped = self._model.enqueue(self._slot_of[sender], now - self._origin + handover,
                                          packet, len(payload))
            if dropped is not None:
                del self._packets[dropped]
        return deliveries

    def _update_stations(self, positions: Mapping[int, tuple[float, float]]) -> None:
        for station in [s for s in self._slot_of if s not in positions]:
            gone = self._slot_of.pop(station)
            self._clock_phase.pop(station, None)
            for packet in self._model.reset_slot(gone):
                del self._packets[packet]
            self._station_at[gone] = -1
            self._active[gone] = False
        free = iter(np.flatnonzero(self._station_at < 0).tolist())
        for station, xy in positions.items():
            x, y = (float(v) for v in xy)
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError(f"position of station {station} must be finite, got {xy}")
            slot = self._slot_of.get(station)
            if slot is None:
                free_slot = next(free, None)
                if free_slot is None:
                    raise ValueError(f"more than max_stations = {self.profile.max_stations} stations")
                slot = self._slot_of[station] = free_slot
                self._station_at[slot] = station
                self._active[slot] = True
            self._positions[slot] = (x, y)

    def _deliveries(self, reports: list[TxReport], rng: np.random.Generator) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for report in reports:
            sender, payload, queued = self._packets.pop(report.packet)
            latency = float(report.end - queued)
            for slot in np.flatnonzero(report.outcome == Outcome.DELIVERED):
                receiver = int(self._station_at[slot])
                if receiver < 0 or receiver == sender:
                    continue
                loss = self._link_loss.get((sender, receiver))
                if loss is not None and rng.random() < loss:
                    continue
                deliveries.append(Delivery(receiver, sender, payload, latency))
        return deliveries
