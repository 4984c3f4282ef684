"""IEEE 802.11p broadcast: event-driven EDCA channel access and frame reception over node slots.

Channel access (IEEE 802.11-2012 Sec. 9.3.4 / 9.19.2, broadcast: no ACK, no retransmission):
a frame reaching an idle medium is sent once the medium has been idle for AIFS; otherwise the
station draws a backoff in [0, CW_min] slots, counts it down while the medium is idle (after
AIFS) and freezes it while busy. After a transmission a queued frame always backs off. The
medium is busy at a station while it transmits or while a frame it detected (received power
>= carrier-sense threshold) is on the air. A frame starting less than one slot before a
station's own scheduled start is not yet detected, so both transmit (same-slot collision).

Reception (outcomes in the order of Sepulcre et al. 2022): sensing if the frame's power is
below the carrier-sense threshold; receiver busy if the receiver is transmitting, starts to
transmit, or is locked on another frame (a frame arriving within one slot of the locked one and
stronger takes the receiver over); otherwise the receiver locks on it and, at its end, a uniform
draw u gives propagation if u < FER(Eb/N0 from SNR) and collision if u < FER(Eb/N0 from SINR),
the interference being the sum of all frames overlapping it at the receiver;
Eb/N0 = SINR + 10 log10(BW / R). Shadowing is drawn per link and per frame.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from cav_stack.v2x.radio.channel import Channel, dbm_to_mw, noise_power_dbm
from cav_stack.v2x.radio.error_curves import error_curve
from cav_stack.v2x.radio.outcomes import Outcome, TxReport
from cav_stack.v2x.radio.profile import DsrcParams
from cav_stack.v2x.radio.queues import PacketQueues


@dataclass(eq=False)
class _Frame:
    sender: int
    packet: int
    generated: float
    start: float
    end: float
    power_mw: np.ndarray
    outcome: np.ndarray


class Dsrc:
    """802.11p access and reception for ``n_slots`` stations.

    Positions are ``map`` coordinates [m] per slot; times are seconds on the simulation clock.
    Drive it with :meth:`enqueue` and :meth:`advance`.
    """

    def __init__(self, params: DsrcParams, channel: Channel, n_slots: int):
        if n_slots < 1:
            raise ValueError(f"n_slots must be >= 1, got {n_slots}")
        self.params = params
        self.channel = channel
        self.n_slots = n_slots
        self.noise_mw = float(dbm_to_mw(noise_power_dbm(channel.params, params.bandwidth)))
        self.ebno_offset_db = 10.0 * math.log10(params.bandwidth / params.data_rate)
        self.fer = error_curve(params.fer_curve)
        self.queues = PacketQueues(n_slots, params.queue_length)
        self.scheduled = np.full(n_slots, np.inf)        # start time of the next own frame [s]
        self.backoff = np.full(n_slots, -1, dtype=np.int64)  # remaining slots, -1: none drawn
        self.countdown_start = np.zeros(n_slots)          # when the backoff countdown (re)starts
        self.idle_from = np.zeros(n_slots)                 # medium idle at the station from [s]
        self.tx_end = np.full(n_slots, -np.inf)
        self.lock_frame = np.full(n_slots, -1, dtype=np.int64)
        self.lock_start = np.zeros(n_slots)
        self.lock_power_mw = np.zeros(n_slots)
        self.lock_interference_mw = np.zeros(n_slots)
        self.on_air_mw = np.zeros(n_slots)
        self.busy_time = np.zeros(n_slots)
        self._busy_mark = np.zeros(n_slots)
        self._cbr_mark_time = 0.0
        self._cbr = np.zeros(n_slots)
        self._frames: dict[int, _Frame] = {}
        self._ends: list[tuple[float, int]] = []
        self._arrivals: list[tuple[float, int, int]] = []
        self._next_frame = 0
        self._arrival_seq = 0

    def enqueue(self, slot: int, generated: float, packet: int, size_bytes: int) -> int | None:
        """Queue ``packet`` of ``size_bytes`` payload generated at ``generated`` [s] at ``slot``.
        Returns the reference of a packet dropped from a full queue, if any."""
        heapq.heappush(self._arrivals, (generated, self._arrival_seq, slot))
        self._arrival_seq += 1
        return self.queues.push(slot, generated, packet, size_bytes)

    def reset_slot(self, slot: int) -> list[int]:
        """Forget the queue and access state of ``slot`` (station left; the slot may be reused);
        return the references of the packets it still had queued. Its frames on the air finish
        normally; the frame it was receiving is not delivered to the slot."""
        discarded = self.queues.clear(slot)
        self.scheduled[slot] = np.inf
        self.backoff[slot] = -1
        if self.lock_frame[slot] >= 0:
            self._frames[int(self.lock_frame[slot])].outcome[slot] = Outcome.NOT_ADDRESSED
            self.lock_frame[slot] = -1
        return discarded

    def channel_busy_ratio(self, slot: int) -> float:
        """Share of time the medium was busy at ``slot`` over the last complete CBR window."""
        return float(self._cbr[slot])

    def advance(self, t_end: float, positions: np.ndarray, active: np.ndarray,
                rng: np.random.Generator) -> list[TxReport]:
        """Process every event up to ``t_end`` [s]; return the frames that ended.

        positions: (n_slots, 2) ``map`` positions [m]; active: (n_slots,) bool, inactive slots
        neither send nor receive.
        """
        positions = np.asarray(positions, dtype=float)
        active = np.asarray(active, dtype=bool)
        if positions.shape != (self.n_slots, 2) or active.shape != (self.n_slots,):
            raise ValueError(f"positions must be ({self.n_slots}, 2) and active ({self.n_slots},)")
        reports: list[TxReport] = []
        inactive = np.flatnonzero(~active)
        while True:
            slot = int(np.argmin(self.scheduled))
            t_start = self.scheduled[slot]
            t_fin = self._ends[0][0] if self._ends else np.inf
            t_arr = self._arrivals[0][0] if self._arrivals else np.inf
            t = min(t_start, t_fin, t_arr)
            if t > t_end:
                break
            if t_fin <= t:
                self._end_frame(heapq.heappop(self._ends)[1], inactive, rng, reports)
            elif t_arr <= t:
                self._arrival(heapq.heappop(self._arrivals)[2], t, rng)
            elif active[slot]:
                self._start_frame(slot, t, positions, inactive, rng)
            else:
                self.scheduled[slot] = np.inf
        if t_end - self._cbr_mark_time >= self.params.cbr_window:
            self._cbr = np.clip((self.busy_time - self._busy_mark) / (t_end - self._cbr_mark_time), 0, 1)
            self._busy_mark = self.busy_time.copy()
            self._cbr_mark_time = t_end
        return reports

    # -- internals -------------------------------------------------------------------------

    def _draw_backoff(self, rng: np.random.Generator) -> int:
        return int(rng.integers(0, self.params.cw_min + 1))

    def _contend(self, slot: int, t: float, rng: np.random.Generator, after_own_frame: bool = False) -> None:
        """Start channel access at ``t`` for the packet at the head of ``slot``'s queue."""
        p = self.params
        if not after_own_frame and self.idle_from[slot] <= t and self.tx_end[slot] <= t:
            self.backoff[slot] = -1
            self.scheduled[slot] = max(t, self.idle_from[slot] + p.aifs)
        else:
            self.backoff[slot] = self._draw_backoff(rng)
            self.countdown_start[slot] = max(self.idle_from[slot], self.tx_end[slot]) + p.aifs
            self.scheduled[slot] = self.countdown_start[slot] + self.backoff[slot] * p.slot_time

    def _arrival(self, slot: int, t: float, rng: np.random.Generator) -> None:
        if np.isinf(self.scheduled[slot]) and self.tx_end[slot] <= t and self.queues.head_time[slot] <= t:
            self._contend(slot, t, rng)

    def _start_frame(self, v: int, ts: float, positions: np.ndarray, inactive: np.ndarray,
                     rng: np.random.Generator) -> None:
        p = self.params
        generated, packet, size = self.queues.pop(v)
        self.scheduled[v] = np.inf
        self.backoff[v] = -1
        te = ts + p.airtime(size)
        fid = self._next_frame
        self._next_frame += 1
        if self.lock_frame[v] >= 0:
            self._frames[int(self.lock_frame[v])].outcome[v] = Outcome.RECEIVER_BUSY
            self.lock_frame[v] = -1
        self.busy_time[v] += max(0.0, te - max(ts, self.idle_from[v]))
        self.idle_from[v] = max(self.idle_from[v], te)

        power_dbm = self.channel.received_power_dbm(p.tx_power_dbm, positions[v:v + 1], positions, rng)[0]
        power_mw = dbm_to_mw(power_dbm)
        power_mw[v] = 0.0
        power_mw[inactive] = 0.0
        detect = power_dbm >= p.carrier_sense_threshold_dbm
        detect[inactive] = False
        detect[v] = False
        transmitting = self.tx_end > ts
        transmitting[v] = False
        locked = self.lock_frame >= 0
        capture = locked & detect & (self.lock_start > ts - p.slot_time)
        if capture.any():
            capture &= power_mw > self.lock_power_mw
            for u in np.flatnonzero(capture):
                self._frames[int(self.lock_frame[u])].outcome[u] = Outcome.RECEIVER_BUSY
        lock_new = detect & ~transmitting & (~locked | capture)
        still_locked = locked & ~lock_new
        self.lock_interference_mw[still_locked] += power_mw[still_locked]
        self.lock_frame[lock_new] = fid
        self.lock_start[lock_new] = ts
        self.lock_power_mw[lock_new] = power_mw[lock_new]
        self.lock_interference_mw[lock_new] = self.on_air_mw[lock_new]
        self.on_air_mw += power_mw

        outcome = np.full(self.n_slots, Outcome.DELIVERED, dtype=np.int8)
        outcome[detect & ~lock_new] = Outcome.RECEIVER_BUSY
        outcome[~detect] = Outcome.SENSING
        outcome[inactive] = Outcome.NOT_ADDRESSED
        outcome[v] = Outcome.NOT_ADDRESSED

        # Carrier sense at the detecting stations: busy time, backoff freeze.
        det = np.flatnonzero(detect)
        self.busy_time[det] += np.maximum(0.0, te - np.maximum(ts, self.idle_from[det]))
        sched = self.scheduled[det]
        freeze = det[np.isfinite(sched) & (sched >= ts + p.slot_time)]
        self.idle_from[det] = np.maximum(self.idle_from[det], te)
        if len(freeze):
            b = self.backoff[freeze]
            elapsed = np.floor(np.maximum(ts - self.countdown_start[freeze], 0.0) / p.slot_time)
            fresh = b < 0
            b = np.maximum(b - elapsed.astype(np.int64), 0)
            b[fresh] = rng.integers(0, p.cw_min + 1, int(fresh.sum()))
            self.backoff[freeze] = b
            self.countdown_start[freeze] = self.idle_from[freeze] + p.aifs
            self.scheduled[freeze] = self.countdown_start[freeze] + b * p.slot_time

        self.tx_end[v] = te
        self._frames[fid] = _Frame(v, packet, generated, ts, te, power_mw, outcome)
        heapq.heappush(self._ends, (te, fid))

    def _end_frame(self, fid: int, inactive: np.ndarray, rng: np.random.Generator, reports: list[TxReport]) -> None:
        frame = self._frames.pop(fid)
        np.subtract(self.on_air_mw, frame.power_mw, out=self.on_air_mw)
        np.maximum(self.on_air_mw, 0.0, out=self.on_air_mw)
        rx = np.flatnonzero(self.lock_frame == fid)
        if len(rx):
            signal = self.lock_power_mw[rx]
            snr = 10.0 * np.log10(signal / self.noise_mw) + self.ebno_offset_db
            sinr = 10.0 * np.log10(signal / (self.noise_mw + self.lock_interference_mw[rx])) \
                + self.ebno_offset_db
            draw = rng.random(len(rx))
            result = np.full(len(rx), Outcome.DELIVERED, dtype=np.int8)
            result[draw < self.fer(sinr)] = Outcome.COLLISION
            result[draw < self.fer(snr)] = Outcome.PROPAGATION
            frame.outcome[rx] = result
            self.lock_frame[rx] = -1
        frame.outcome[inactive] = Outcome.NOT_ADDRESSED
        reports.append(TxReport(frame.sender, frame.packet, frame.generated, frame.start, frame.end,
                                frame.outcome))
        v = frame.sender
        if np.isinf(self.scheduled[v]) and self.queues.head_time[v] <= frame.end:
            self._contend(v, frame.end, rng, after_own_frame=True)
