"""CLEAR-MOT of each CAV's perception during a closed-loop run, against ground truth.

:class:`ClosedLoopTracking` is both a world observer (:meth:`observe_world`, keeps the truth of the
last ``KEEP_STEPS`` world steps) and an executor tap (:meth:`on_message`) on every
``<cav>/perception/objects`` track list. Each list is compared with the ground truth of the world
step it was perceived at (the latest step not after its stamp): the vehicles within
``MAX_DISTANCE`` of the CAV's true position, the CAV itself excluded, a track matching a vehicle
when their centres are closer than ``MATCH_THRESHOLD``
(:class:`cav_stack.perception.metrics.TrackingMetrics`, py-motmetrics; the range and threshold of
the perception evaluation). MOTA = 1 - (misses + false positives + ID switches) / truth objects
(Bernardin & Stiefelhagen, "Evaluating multiple object tracking performance: the CLEAR MOT
metrics", EURASIP J. Image and Video Processing, 2008).
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any

from cav_stack.core.messages import TrackList
from cav_stack.core.truth import WorldTruth
from cav_stack.perception.metrics import TrackingMetrics

TRACKS_TOPIC_SUFFIX = "/perception/objects"
MAX_DISTANCE = 100.0
"""Range [m] around the CAV within which vehicles must be tracked."""
MATCH_THRESHOLD = 2.0
"""Largest centre distance [m] of a track and the vehicle it tracks."""
KEEP_STEPS = 40
"""World steps of truth kept for track lists stamped in the past."""


class ClosedLoopTracking:
    """Per-CAV tracking metrics of a run; ``summary()`` for the report."""

    def __init__(self) -> None:
        self._truths: deque[WorldTruth] = deque(maxlen=KEEP_STEPS)
        self._metrics: dict[str, TrackingMetrics] = {}

    def observe_world(self, truth: WorldTruth, commands: dict) -> None:
        """World observer: keep the step's truth (``commands`` is unused)."""
        del commands
        self._truths.append(truth)

    def on_message(self, topic: str, msg: Any, now: float) -> None:
        """Executor tap: score a CAV's published track list against the truth at its stamp."""
        del now
        if not (isinstance(msg, TrackList) and topic.endswith(TRACKS_TOPIC_SUFFIX)):
            return
        cav_id = topic[: -len(TRACKS_TOPIC_SUFFIX)].strip("/")
        truth = next((t for t in reversed(self._truths) if t.stamp <= msg.header.stamp + 1e-9), None)
        ego = truth.vehicle(cav_id) if truth is not None else None
        if truth is None or ego is None:
            return
        metrics = self._metrics.setdefault(cav_id, TrackingMetrics(MAX_DISTANCE, MATCH_THRESHOLD))
        others = [v for v in truth.vehicles if v.vehicle_id != cav_id]
        metrics.add_frame(ego.x, ego.y, others, msg)

    def summary(self) -> dict:
        """``perception_mota`` (the lowest over the CAVs), ``perception_position_rmse_m`` (the
        highest) and ``perception`` (per CAV: the full CLEAR-MOT figures); None without tracks."""
        if not self._metrics:
            return {"perception_mota": None, "perception_position_rmse_m": None, "perception": None}
        per_cav = {cav_id: m.summary() for cav_id, m in sorted(self._metrics.items())}
        motas = [s["mota"] for s in per_cav.values() if math.isfinite(s["mota"])]
        rmses = [s["position_rmse"] for s in per_cav.values() if math.isfinite(s["position_rmse"])]
        json_ready = {cav_id: {k: (v if not (isinstance(v, float) and not math.isfinite(v)) else None)
                               for k, v in s.items()} for cav_id, s in per_cav.items()}
        return {"perception_mota": min(motas) if motas else None,
                "perception_position_rmse_m": max(rmses) if rmses else None,
                "perception": json_ready}
