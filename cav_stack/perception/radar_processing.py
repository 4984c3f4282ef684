"""Radar object detection: reflections clustered into objects with position and radial speed.

Detections weaker than ``min_rcs_dbsm`` are dropped; the rest are placed in ``map`` and joined
when closer than ``cluster_across`` (plus ``cluster_azimuth_sigmas`` standard deviations of the
pair's across-range difference from azimuth noise) across and ``cluster_along`` along the line of
sight with ground radial speeds within ``cluster_speed_difference`` (connected components). A
cluster may so join unresolved neighbours at one speed: its across variance includes a uniform
spread over that join width. Each cluster gives one POSITION_RADIAL measurement in its radar's
own placement: its mean reflection point moved ``centre_offset`` further along
the line of sight (reflections come from the near surface; the set's ``surface_offset`` records it,
so a tracker that knows the object's box can use the box's own geometry instead), and its mean
ground radial speed (range rate plus the sensor's own velocity along the line of sight).
"""
from __future__ import annotations

import math

import numpy as np

from cav_stack.perception.clustering import line_of_sight_clusters
from cav_stack.core.messages import EgoState, RadarFrame
from cav_stack.perception.detections import Coverage, DetectionSet, MeasurementKind, place_sensor
from cav_stack.perception.params import RadarProcessingParams
from cav_stack.world.sensor_rig import RadarParams

#: 1-sigma lateral uncertainty of a cluster centre from the unknown object width [m].
LATERAL_EXTENT_SIGMA = 0.6


class RadarDetector:
    """Turns scans of one radar into POSITION_RADIAL detections in ``map``."""

    def __init__(self, rig: RadarParams, params: RadarProcessingParams):
        self.rig = rig
        self.params = params

    def detect(self, frame: RadarFrame, ego: EgoState) -> DetectionSet:
        """Detections of ``frame`` placed with the ego estimate (``base_link`` in ``map``) at its stamp."""
        if frame.header.frame_id != self.rig.frame_id:
            raise ValueError(f"radar frame {frame.header.frame_id!r} is not this radar's {self.rig.frame_id!r}")
        p, r = self.params, self.rig
        placement = place_sensor(ego, r.mounting)
        sensor_xy = np.array([placement.x, placement.y])
        sensor_v = np.array([placement.vx, placement.vy])
        coverage = Coverage(placement.x, placement.y, placement.yaw, 0.5 * r.fov, r.max_range)
        raw = np.array([[d.range_m, d.azimuth, d.range_rate] for d in frame.detections
                        if d.rcs_dbsm >= p.min_rcs_dbsm], dtype=float).reshape(-1, 3)
        bearing = placement.yaw + raw[:, 1]
        los = np.stack([np.cos(bearing), np.sin(bearing)], axis=1)
        points = sensor_xy + raw[:, :1] * los
        ground_radial = raw[:, 2] + los @ sensor_v
        # two reflections of one object differ across the line of sight by their azimuth noise too
        across_per_m = p.cluster_azimuth_sigmas * math.sqrt(2.0) * r.azimuth_sigma
        labels, count = line_of_sight_clusters(
            points, sensor_xy, p.cluster_across, math.inf, p.cluster_along,
            lambda a, b: np.abs(ground_radial[a] - ground_radial[b]) < p.cluster_speed_difference,
            across_per_m=across_per_m)
        z = np.zeros((count, 3))
        cov = np.zeros((count, 3, 3))
        for k in range(count):
            members = labels == k
            n = int(members.sum())
            mean_point = points[members].mean(axis=0)
            rel = mean_point - sensor_xy
            dist = float(np.hypot(*rel))
            u = rel / max(dist, 1e-6)
            z[k, :2] = mean_point + p.centre_offset * u
            z[k, 2] = ground_radial[members].mean()
            var_along = r.range_sigma ** 2 / n + p.centre_offset_sigma ** 2
            # a cluster may join reflections of neighbours at one speed within its across limit (they
            # are not resolved): its mean lies anywhere in that width (uniform), besides the object's
            merge_width = p.cluster_across + across_per_m * dist
            var_across = (dist * r.azimuth_sigma) ** 2 / n + LATERAL_EXTENT_SIGMA ** 2 + merge_width ** 2 / 12.0
            t = np.array([-u[1], u[0]])
            cov[k, :2, :2] = var_along * np.outer(u, u) + var_across * np.outer(t, t)
            cov[k, 2, 2] = r.range_rate_sigma ** 2 / n + (math.sin(r.azimuth_sigma) * np.hypot(*sensor_v)) ** 2
        return DetectionSet.build(frame.header.stamp, r.frame_id, MeasurementKind.POSITION_RADIAL, z, cov,
                                  sensor_xy, sensor_v, coverage, p.initiates_tracks,
                                  surface_offset=np.full(count, p.centre_offset))
