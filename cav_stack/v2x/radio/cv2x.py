"""C-V2X PC5 Mode 4: sensing-based semi-persistent scheduling (3GPP Rel-14) over node slots.

Time advances in 1 ms subframes. Every station holds one reserved resource (subframe offset
within the reservation period, sub-channel) and sends one transport block per reservation
occurrence while it has a queued packet. Resource selection follows TS 36.213 Sec. 14.1.1.6:

1. candidates: every (subframe, sub-channel) of the next reservation period (T1 = 1, T2 = 100);
2. exclusion: a candidate is excluded when the latest SCI decoded on it within the sensing
   window (1000 ms) had an RSRP above the threshold; the threshold rises by 3 dB until at
   least 20 % of the candidates remain;
3. the remaining candidates with the lowest S-RSSI, linearly averaged over the sensing window,
   are kept until 20 % of all resources are in the set; one is drawn uniformly.
   With ``candidate_ranking: random`` the 20 % are a uniform random subset of the remaining
   candidates instead, which is what the analytical model of Gonzalez-Martin et al. assumes
   (its eq. 26 treats the candidate sets of two stations as independent random subsets).

A reservation lasts for a counter of 5..15 transmissions; when it expires the resource is kept
with ``keep_probability``, otherwise a new one is selected for the next packet. Simplifications:
one transport block (the configured MCS) per packet whatever its size; SCI decoding uses the
sensing threshold and ignores SCI collisions. Subframes in which the station itself transmitted
during the sensing window were not monitored (half-duplex) and are excluded (step 5).

Reception of a block from transmitter t at receiver r (outcomes in analytical-model order):
half-duplex if r transmits in the same subframe; sensing if the received power is below the
sensing threshold; propagation if a uniform draw u < BLER(SNR); collision if u < BLER(SINR),
the interference being every other block on the same sub-channel in the subframe.
Shadowing is drawn per link and per block.
"""
from __future__ import annotations

import numpy as np

from cav_stack.v2x.radio.channel import Channel, dbm_to_mw, noise_power_dbm
from cav_stack.v2x.radio.error_curves import error_curve
from cav_stack.v2x.radio.outcomes import Outcome, TxReport
from cav_stack.v2x.radio.profile import Cv2xParams
from cav_stack.v2x.radio.queues import PacketQueues

_NO_MEASUREMENT = np.iinfo(np.int64).min // 2


class Cv2xMode4:
    """Semi-persistent scheduling and reception for ``n_slots`` stations.

    Positions are ``map`` coordinates [m] per slot; times are seconds on the simulation clock
    starting at 0. Drive it with :meth:`enqueue` and :meth:`advance`.
    """

    def __init__(self, params: Cv2xParams, channel: Channel, n_slots: int):
        if n_slots < 1:
            raise ValueError(f"n_slots must be >= 1, got {n_slots}")
        self.params = params
        self.channel = channel
        self.n_slots = n_slots
        self.period = params.subframes_per_period
        self.window = max(1, int(round(params.sensing_window / params.reservation_period)))
        s = params.subchannels
        self.noise_dbm = noise_power_dbm(channel.params, params.occupied_bandwidth)
        self.noise_mw = float(dbm_to_mw(self.noise_dbm))
        self.bler = error_curve(params.current_mcs.bler_curve)
        self.queues = PacketQueues(n_slots, params.queue_length)
        self.subframe_index = 0
        self.resource_offset = np.full(n_slots, -1, dtype=np.int64)
        self.resource_subchannel = np.zeros(n_slots, dtype=np.int64)
        self.counter = np.zeros(n_slots, dtype=np.int64)
        self.last_rsrp_dbm = np.full((n_slots, self.period, s), -np.inf, dtype=np.float32)
        self.last_rsrp_subframe = np.full((n_slots, self.period, s), _NO_MEASUREMENT, dtype=np.int64)
        self.rssi_mw = np.full((n_slots, self.window, self.period, s), self.noise_mw, dtype=np.float32)
        self.own_tx_subframe = np.full((n_slots, self.period), _NO_MEASUREMENT, dtype=np.int64)

    def enqueue(self, slot: int, generated: float, packet: int, size_bytes: int) -> int | None:
        """Queue ``packet`` (caller's reference) generated at ``generated`` [s] at ``slot``;
        every packet travels in one transport block of the configured format. Returns the
        reference of a packet dropped from a full queue, if any."""
        return self.queues.push(slot, generated, packet, size_bytes)

    def reset_slot(self, slot: int) -> list[int]:
        """Forget everything about ``slot`` (station left; the slot may be reused); return the
        references of the packets it still had queued."""
        discarded = self.queues.clear(slot)
        self.resource_offset[slot] = -1
        self.counter[slot] = 0
        self.last_rsrp_dbm[slot] = -np.inf
        self.last_rsrp_subframe[slot] = _NO_MEASUREMENT
        self.rssi_mw[slot] = self.noise_mw
        self.own_tx_subframe[slot] = _NO_MEASUREMENT
        return discarded

    def advance(self, t_end: float, positions: np.ndarray, active: np.ndarray,
                rng: np.random.Generator) -> list[TxReport]:
        """Run every subframe ending at or before ``t_end`` [s]; return the blocks sent.

        positions: (n_slots, 2) ``map`` positions [m]; active: (n_slots,) bool, inactive slots
        neither send nor receive.
        """
        positions = np.asarray(positions, dtype=float)
        active = np.asarray(active, dtype=bool)
        if positions.shape != (self.n_slots, 2) or active.shape != (self.n_slots,):
            raise ValueError(f"positions must be ({self.n_slots}, 2) and active ({self.n_slots},)")
        reports: list[TxReport] = []
        sf = self.params.subframe
        while (self.subframe_index + 1) * sf <= t_end + 1e-12:
            self._run_subframe(self.subframe_index, positions, active, rng, reports)
            self.subframe_index += 1
        return reports

    def channel_busy_ratio(self, slot: int) -> float:
        """Share of sub-channels with S-RSSI above the CBR threshold over the last period."""
        last = self.subframe_index - 1
        if last < 0:
            return 0.0
        o = last % self.period
        w = (last // self.period) % self.window
        recent = np.concatenate([self.rssi_mw[slot, w, :o + 1],
                                 self.rssi_mw[slot, (w - 1) % self.window, o + 1:]])
        return float(np.mean(recent > dbm_to_mw(self.params.cbr_rssi_threshold_dbm)))

    # -- internals -------------------------------------------------------------------------

    def _run_subframe(self, k: int, positions: np.ndarray, active: np.ndarray, rng: np.random.Generator,
                      reports: list[TxReport]) -> None:
        o = k % self.period
        w = (k // self.period) % self.window
        now = k * self.params.subframe
        ready = active & (self.queues.head_time <= now + 1e-12)
        tx = np.flatnonzero(ready & (self.resource_offset == o))
        self.rssi_mw[:, w, o, :] = self.noise_mw
        if len(tx):
            self._transmit(k, tx, positions, active, rng, reports)
        # Reselection is triggered by a packet waiting without a reservation (TS 36.321 5.14.1.1)
        waiting = active & (self.queues.head_time <= now + 1e-12) & (self.resource_offset < 0)
        for slot in np.flatnonzero(waiting):
            self._select_resource(int(slot), k, rng)

    def _transmit(self, k: int, tx: np.ndarray, positions: np.ndarray, active: np.ndarray, rng: np.random.Generator,
                  reports: list[TxReport]) -> None:
        p = self.params
        o = k % self.period
        w = (k // self.period) % self.window
        m = len(tx)
        power_dbm = self.channel.received_power_dbm(p.tx_power_dbm, positions[tx], positions, rng)
        power_mw = dbm_to_mw(power_dbm)
        power_mw[np.arange(m), tx] = 0.0
        power_mw[:, ~active] = 0.0
        sub = self.resource_subchannel[tx]
        total = np.zeros((p.subchannels, self.n_slots))
        np.add.at(total, sub, power_mw)
        transmitting = np.zeros(self.n_slots, dtype=bool)
        transmitting[tx] = True

        listening = active & ~transmitting
        self.rssi_mw[listening, w, o, :] = (total[:, listening] + self.noise_mw).T

        interference = total[sub] - power_mw
        with np.errstate(divide="ignore"):
            sinr = 10.0 * np.log10(power_mw / (self.noise_mw + interference))
        snr = power_dbm - self.noise_dbm
        draw = rng.random((m, self.n_slots))
        outcome = np.full((m, self.n_slots), Outcome.DELIVERED, dtype=np.int8)
        outcome[draw < self.bler(sinr)] = Outcome.COLLISION
        outcome[draw < self.bler(snr)] = Outcome.PROPAGATION
        outcome[power_dbm < p.sensing_threshold_dbm] = Outcome.SENSING
        outcome[:, transmitting] = Outcome.HALF_DUPLEX
        outcome[:, ~active] = Outcome.NOT_ADDRESSED
        outcome[np.arange(m), tx] = Outcome.NOT_ADDRESSED

        decoded = (power_dbm >= p.sensing_threshold_dbm) & listening[None, :]
        for j in range(m):
            rx = np.flatnonzero(decoded[j])
            c = sub[j]
            fresh = self.last_rsrp_subframe[rx, o, c] == k
            previous = np.where(fresh, self.last_rsrp_dbm[rx, o, c], -np.inf)
            self.last_rsrp_dbm[rx, o, c] = np.maximum(previous, power_dbm[j, rx])
            self.last_rsrp_subframe[rx, o, c] = k

        start = k * p.subframe
        self.own_tx_subframe[tx, o] = k
        for j, slot in enumerate(tx):
            generated, packet, _ = self.queues.pop(int(slot))
            reports.append(TxReport(int(slot), packet, generated, start, start + p.subframe, outcome[j]))
            self.counter[slot] -= 1
            if self.counter[slot] <= 0:
                if rng.random() < p.keep_probability:
                    self.counter[slot] = self._new_counter(rng)
                else:
                    self.resource_offset[slot] = -1

    def _new_counter(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.params.reselection_counter_min,
                                self.params.reselection_counter_max + 1))

    def _select_resource(self, slot: int, k: int, rng: np.random.Generator) -> None:
        """Sensing-based selection at subframe ``k`` for use from subframe k + 1 on."""
        p = self.params
        total = self.period * p.subchannels
        needed = int(np.ceil(p.candidate_fraction * total))
        window_start = k - self.window * self.period
        valid = self.last_rsrp_subframe[slot] > window_start
        rsrp = np.where(valid, self.last_rsrp_dbm[slot], -np.inf)
        monitored = np.repeat((self.own_tx_subframe[slot] <= window_start)[:, None], p.subchannels, axis=1)
        rsrp, monitored = rsrp.ravel(), monitored.ravel()
        threshold = p.rsrp_threshold_dbm
        available = monitored & (rsrp <= threshold)
        while available.sum() < needed:
            threshold += p.rsrp_threshold_step_db
            available = monitored & (rsrp <= threshold)
        idx = np.flatnonzero(available)
        tie_break = rng.random(len(idx))
        if p.candidate_ranking == "s_rssi":
            order = np.lexsort((tie_break, self.rssi_mw[slot].mean(axis=0).ravel()[idx]))
        else:
            order = np.argsort(tie_break)
        choice = int(idx[order[rng.integers(needed)]])
        self.resource_offset[slot], self.resource_subchannel[slot] = divmod(choice, p.subchannels)
        self.counter[slot] = self._new_counter(rng)
