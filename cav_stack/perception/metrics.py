"""Tracking quality against ground truth: CLEAR-MOT (py-motmetrics) and state RMSE.

Per frame, truth vehicles and tracks within ``max_distance`` of the ego are compared; a track
and a vehicle can match when their centres are closer than ``match_threshold`` [m] (Euclidean,
``map``). A track inside the range that matches a vehicle just outside it (within
``match_threshold`` beyond ``max_distance``) is ignored rather than counted as false.
MOTA = 1 - (misses + false positives + ID switches) / truth objects; MOTP here is the
mean centre distance of matches [m] (Bernardin & Stiefelhagen, "Evaluating Multiple Object
Tracking Performance: The CLEAR MOT Metrics", 2008). Position and velocity RMSE are over matched
pairs; recall is also reported for a caller-given subset of truth IDs (e.g. vehicles occluded
from every onboard sensor).
"""
from __future__ import annotations

import math

import motmetrics
import numpy as np

from cav_stack.core.messages import TrackList
from cav_stack.core.truth import VehicleTruth


class TrackingMetrics:
    """Accumulates frames; :meth:`summary` returns the figures."""

    def __init__(self, max_distance: float, match_threshold: float):
        if not (max_distance > 0.0 and match_threshold > 0.0):
            raise ValueError("max_distance and match_threshold must be > 0")
        self.max_distance = max_distance
        self.match_threshold = match_threshold
        self._acc = motmetrics.MOTAccumulator(auto_id=True)
        self._position_sq: list[float] = []
        self._velocity_sq: list[float] = []
        self._subset_total = 0
        self._subset_found = 0
        self._truth_numbers: dict[str, int] = {}  # motmetrics needs numeric object IDs

    def add_frame(self, ego_x: float, ego_y: float, vehicles: tuple[VehicleTruth, ...] | list[VehicleTruth],
                  tracks: TrackList, subset: frozenset[str] | set[str] = frozenset()) -> None:
        """Compare one frame: truth ``vehicles`` (ego excluded by the caller) with ``tracks`` (map)."""
        if tracks.header.frame_id != "map":
            raise ValueError(f"tracks must be in 'map', got {tracks.header.frame_id!r}")
        distance = [math.hypot(v.x - ego_x, v.y - ego_y) for v in vehicles]
        gt = [v for v, d in zip(vehicles, distance, strict=True) if d <= self.max_distance]
        # "don't care" band: a track of a vehicle just outside the range is neither hit nor false
        outside = [v for v, d in zip(vehicles, distance, strict=True)
                   if self.max_distance < d <= self.max_distance + self.match_threshold]
        hyp = [o for o in tracks.objects if math.hypot(o.x - ego_x, o.y - ego_y) <= self.max_distance
               and not any(math.hypot(o.x - v.x, o.y - v.y) < self.match_threshold for v in outside)]
        gt_xy = np.array([[v.x, v.y] for v in gt]).reshape(-1, 2)
        hyp_xy = np.array([[o.x, o.y] for o in hyp]).reshape(-1, 2)
        dist = np.linalg.norm(gt_xy[:, None, :] - hyp_xy[None, :, :], axis=2)
        dist = np.where(dist < self.match_threshold, dist, np.nan)
        numbers = [self._truth_numbers.setdefault(v.vehicle_id, len(self._truth_numbers)) for v in gt]
        frame = self._acc.update(numbers, [o.track_id for o in hyp], dist)
        # The accumulator's pairings: last_match[oid] is the frame of oid's latest match, m[oid] its track.
        hyp_index = {o.track_id: o for o in hyp}
        found = set()
        for v, number in zip(gt, numbers, strict=True):
            if self._acc.last_match.get(number) != frame:
                continue
            o = hyp_index[self._acc.m[number]]
            found.add(v.vehicle_id)
            self._position_sq.append((o.x - v.x) ** 2 + (o.y - v.y) ** 2)
            dvx = o.speed * math.cos(o.yaw) - v.speed * math.cos(v.yaw)
            dvy = o.speed * math.sin(o.yaw) - v.speed * math.sin(v.yaw)
            self._velocity_sq.append(dvx * dvx + dvy * dvy)
        in_subset = [v.vehicle_id for v in gt if v.vehicle_id in subset]
        self._subset_total += len(in_subset)
        self._subset_found += sum(1 for vid in in_subset if vid in found)

    def summary(self) -> dict[str, float]:
        """mota, motp [m], id_switches, misses, false_positives, truth_objects, precision, recall,
        position_rmse [m], velocity_rmse [m/s], subset_recall (NaN without subset objects), frames."""
        mh = motmetrics.metrics.create()
        names = ["mota", "motp", "num_switches", "num_misses", "num_false_positives", "num_objects",
                 "precision", "recall", "num_frames"]
        row = mh.compute(self._acc, metrics=names, name="all").iloc[0]
        def rmse(values: list[float]) -> float:
            return math.sqrt(sum(values) / len(values)) if values else math.nan
        return {
            "mota": float(row["mota"]), "motp": float(row["motp"]), "id_switches": int(row["num_switches"]),
            "misses": int(row["num_misses"]), "false_positives": int(row["num_false_positives"]),
            "truth_objects": int(row["num_objects"]), "precision": float(row["precision"]),
            "recall": float(row["recall"]), "position_rmse": rmse(self._position_sq),
            "velocity_rmse": rmse(self._velocity_sq),
            "subset_recall": self._subset_found / self._subset_total if self._subset_total else math.nan,
            "subset_objects": self._subset_total, "frames": int(row["num_frames"]),
        }
