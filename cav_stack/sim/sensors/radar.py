"""Automotive radar model: range, azimuth, range rate and RCS of visible vehicles, with misses
and false alarms.

A target inside the field of view and range, with at least ``min_visible_fraction`` of it
unoccluded, is detected with probability ``detection_probability`` scaled by its visible fraction.
A detected target returns 1 + Poisson(``extra_points_mean``) reflections drawn from its visible
surface; clutter is Poisson(``false_alarms_mean``) detections uniform over the field of view.
"""
from __future__ import annotations

import math

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.core.messages import Header, RadarDetection, RadarFrame
from cav_stack.core.truth import WorldTruth
from cav_stack.world.sensor_rig import RadarParams
from cav_stack.sim.sensors.ego import EgoMotion, check_inputs, other_vehicles, sensor_pose
from cav_stack.sim.sensors.raycast import Boxes
from cav_stack.sim.sensors.visibility import probe_visibility

#: Mean radar cross-section [dBsm] by SUMO vehicle class at 77 GHz (order of magnitude values
#: as reported e.g. in Kamel et al., "RCS modeling and measurements for automotive radar", 2017).
MEAN_RCS_DBSM = {"passenger": 10.0, "truck": 20.0, "trailer": 20.0, "bus": 20.0, "delivery": 15.0,
                 "motorcycle": 5.0, "bicycle": 0.0, "pedestrian": -5.0}
DEFAULT_RCS_DBSM = 10.0
CLUTTER_RCS_DBSM = -5.0


class RadarModel:
    """Radar with the field of view, noise and detection statistics of ``params``."""

    def __init__(self, params: RadarParams):
        self.params = params
        self.rate = params.rate
        self.latency = params.latency

    def measure(self, truth: WorldTruth, ego: EgoMotion, now: float, rng: np.random.Generator) -> RadarFrame:
        """One scan at ``now`` [s]; detections in the radar frame (order shuffled)."""
        check_inputs(truth, ego, now)
        p = self.params
        pose = sensor_pose(ego, p.mounting)
        vehicles = other_vehicles(truth, ego, p.max_range + math.hypot(p.mounting.x, p.mounting.y))
        boxes = Boxes.from_vehicles(vehicles)
        vis = probe_visibility(pose.origin, boxes)
        sensor_velocity = ego.velocity_at(pose.x, pose.y)
        detections: list[RadarDetection] = []
        for b, vehicle in enumerate(vehicles):
            pts = vis.hit_points[b]
            if vis.fraction[b] < p.min_visible_fraction or pts.shape[0] == 0:
                continue
            if rng.random() >= p.detection_probability * vis.fraction[b] ** 0.5:
                continue
            n_points = min(1 + rng.poisson(p.extra_points_mean), pts.shape[0])
            target_velocity = vehicle.speed * np.array([math.cos(vehicle.yaw), math.sin(vehicle.yaw)])
            for point in pts[rng.choice(pts.shape[0], n_points, replace=False)]:
                rel = point[:2] - np.array([pose.x, pose.y])
                rng_true = float(np.hypot(*rel))
                azimuth = wrap_angle(math.atan2(rel[1], rel[0]) - pose.yaw)
                if not (p.min_range <= rng_true <= p.max_range and abs(azimuth) <= 0.5 * p.fov):
                    continue
                range_rate = float((target_velocity - sensor_velocity) @ (rel / rng_true))
                detections.append(RadarDetection(
                    range_m=rng_true + rng.normal(0.0, p.range_sigma),
                    azimuth=float(azimuth + rng.normal(0.0, p.azimuth_sigma)),
                    range_rate=range_rate + rng.normal(0.0, p.range_rate_sigma),
                    rcs_dbsm=MEAN_RCS_DBSM.get(vehicle.vehicle_class, DEFAULT_RCS_DBSM)
                    + rng.normal(0.0, p.rcs_sigma)))
        for _ in range(rng.poisson(p.false_alarms_mean)):
            azimuth = rng.uniform(-0.5 * p.fov, 0.5 * p.fov)
            ground_speed = -float(sensor_velocity @ np.array([math.cos(pose.yaw + azimuth),
                                                                 math.sin(pose.yaw + azimuth)]))
            detections.append(RadarDetection(
                range_m=rng.uniform(p.min_range, p.max_range), azimuth=azimuth,
                range_rate=ground_speed + rng.normal(0.0, p.range_rate_sigma),
                rcs_dbsm=CLUTTER_RCS_DBSM + rng.normal(0.0, p.rcs_sigma)))
        order = rng.permutation(len(detections))
        return RadarFrame(Header(now, p.frame_id), tuple(detections[i] for i in order))
