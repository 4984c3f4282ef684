"""V2X packet delivery ratio and age of information between the CAVs of a run, from ground truth.

:class:`V2xLinkMetrics` observes the air (``V2xAirInterface.link_observers``): every air step it is
given the CAVs' true ``map`` positions, the frames the CAVs handed to the radio (sender, payload,
generation time) and the frames the radio delivered to a CAV from another CAV. Nothing here is
what a receiver believed: the distances are the true ones, the generation times the senders'.

- PDR: every frame a CAV sends has as intended receivers the other CAVs present at its sending
  step; it is delivered to a receiver if the radio ever hands it to that receiver. PDR is
  delivered / intended over receivers within ``PDR_RANGE`` [m] of the sender when it was sent
  (``v2x_pdr``), and binned by that distance to the nearest ``DISTANCE_STEP`` up to
  ``MAX_DISTANCE`` (``v2x_pdr_by_distance``, the campaign's PDR-against-distance plot). Frames
  sent within ``SETTLE_S`` of the last air step are left out (their deliveries may be pending).
- Age of information of receiver j about sender i at time t: Δ(t) = t - u(t), u(t) the
  generation time of the newest frame from i that j has received (Kaul, Yates & Gruteser,
  "Real-time status: how often should one update?", IEEE INFOCOM 2012). Sampled at every air
  step for each ordered CAV pair within ``AOI_RANGE`` [m] once j has received anything from i;
  ``v2x_mean_aoi_s`` is the mean of the samples (the time average, steps being uniform),
  ``v2x_max_aoi_s`` the largest (the worst peak age).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

PDR_RANGE = 300.0
"""Sender-receiver distance [m] within which the run's PDR is counted."""
AOI_RANGE = 300.0
"""Sender-receiver distance [m] within which age of information is sampled."""
DISTANCE_STEP = 25.0
"""Width [m] of the distance bins of ``v2x_pdr_by_distance``."""
MAX_DISTANCE = 500.0
"""Largest distance bin [m]."""
SETTLE_S = 1.0
"""Frames sent this close [s] to the end of the run are not counted in the PDR."""


@dataclass
class _Frame:
    sent_at: float
    generated_at: float
    receivers: dict[str, float]
    """Intended receiver -> distance [m] at sending."""
    delivered: set[str] = field(default_factory=set)


class V2xLinkMetrics:
    """Ground-truth PDR and age of information between CAVs; ``summary()`` for the report."""

    def __init__(self) -> None:
        self._frames: dict[tuple[str, bytes], _Frame] = {}
        self._newest: dict[tuple[str, str], float] = {}
        self._aoi: list[float] = []
        self._last_now: float | None = None

    def __call__(self, now: float, positions: Mapping[str, tuple[float, float]],
                 sent: Sequence[tuple[str, bytes, float]], delivered: Sequence[tuple[str, str, bytes]]) -> None:
        """One air step at ``now`` [s]: CAV positions [m, map]; ``sent``: (sender CAV, payload,
        generation time [s]); ``delivered``: (sender CAV, receiver CAV, payload)."""
        if self._last_now is not None and now < self._last_now:
            raise ValueError(f"air steps must not go back in time: {now} after {self._last_now}")
        self._last_now = now
        for sender, payload, generated_at in sent:
            if sender not in positions:
                raise ValueError(f"sender {sender} has no position")
            sx, sy = positions[sender]
            receivers = {cav: math.hypot(x - sx, y - sy) for cav, (x, y) in positions.items() if cav != sender}
            self._frames[(sender, bytes(payload))] = _Frame(now, generated_at, receivers)
        for sender, receiver, payload in delivered:
            frame = self._frames.get((sender, bytes(payload)))
            if frame is None:
                continue  # sent before this observer was attached
            frame.delivered.add(receiver)
            pair = (sender, receiver)
            self._newest[pair] = max(self._newest.get(pair, -math.inf), frame.generated_at)
        for (sender, receiver), newest in self._newest.items():
            if sender in positions and receiver in positions:
                (sx, sy), (rx, ry) = positions[sender], positions[receiver]
                if math.hypot(rx - sx, ry - sy) <= AOI_RANGE:
                    self._aoi.append(now - newest)

    def summary(self) -> dict:
        """``v2x_pdr`` (0..1), ``v2x_pdr_samples`` (frame-receiver pairs within PDR_RANGE),
        ``v2x_pdr_by_distance`` ({"distance_m", "pdr", "samples"}), ``v2x_mean_aoi_s``,
        ``v2x_max_aoi_s`` [s]; None where undefined (no CAV-to-CAV traffic)."""
        edges = np.arange(0.0, MAX_DISTANCE + DISTANCE_STEP, DISTANCE_STEP)
        intended = np.zeros(edges.size, dtype=int)
        received = np.zeros(edges.size, dtype=int)
        in_range = delivered_in_range = 0
        cutoff = (self._last_now if self._last_now is not None else 0.0) - SETTLE_S
        for frame in self._frames.values():
            if frame.sent_at > cutoff:
                continue
            for receiver, distance in frame.receivers.items():
                hit = receiver in frame.delivered
                if distance <= PDR_RANGE:
                    in_range += 1
                    delivered_in_range += hit
                k = int(round(distance / DISTANCE_STEP))
                if k < edges.size:
                    intended[k] += 1
                    received[k] += hit
        has = intended > 0
        return {
            "v2x_pdr": delivered_in_range / in_range if in_range else None,
            "v2x_pdr_samples": in_range,
            "v2x_pdr_by_distance": {"distance_m": edges[has].tolist(),
                                    "pdr": (received[has] / intended[has]).tolist(),
                                    "samples": intended[has].tolist()} if has.any() else None,
            "v2x_mean_aoi_s": float(np.mean(self._aoi)) if self._aoi else None,
            "v2x_max_aoi_s": float(np.max(self._aoi)) if self._aoi else None,
        }
