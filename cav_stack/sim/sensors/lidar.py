"""Spinning LiDAR model: ray casting against vehicle boxes and the ground, with noise and dropout.

The scan is treated as instantaneous at ``now`` (no motion distortion). Points are returned in
the LiDAR frame (level, at the mounting pose) with intensity 0.1 on the ground and 0.6 on vehicles.
"""
from __future__ import annotations

import math

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.core.messages import Header, PointCloud
from cav_stack.core.truth import WorldTruth
from cav_stack.world.sensor_rig import LidarParams
from cav_stack.sim.sensors.ego import EgoMotion, check_inputs, other_vehicles, sensor_pose
from cav_stack.sim.sensors.raycast import Boxes, cast_rays

GROUND_INTENSITY = 0.1
VEHICLE_INTENSITY = 0.6


class LidarModel:
    """LiDAR with ``params.beams`` lasers and ``params.azimuth_steps`` firings per revolution."""

    def __init__(self, params: LidarParams):
        self.params = params
        self.rate = params.rate
        self.latency = params.latency
        azimuths = -math.pi + (np.arange(params.azimuth_steps) + 0.5) * (2.0 * math.pi / params.azimuth_steps)
        elevations = np.linspace(params.elevation_min, params.elevation_max, params.beams)
        az, el = np.meshgrid(azimuths, elevations, indexing="ij")
        self._azimuths = az.ravel()
        self._dirs_sensor = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)],
                                     axis=-1).reshape(-1, 3)

    def measure(self, truth: WorldTruth, ego: EgoMotion, now: float, rng: np.random.Generator) -> PointCloud:
        """One scan at ``now`` [s]: float32 (N, 4) points (x, y, z [m], intensity) in the LiDAR frame."""
        check_inputs(truth, ego, now)
        p = self.params
        pose = sensor_pose(ego, p.mounting)
        reach = p.max_range + math.hypot(p.mounting.x, p.mounting.y)
        boxes = Boxes.from_vehicles(other_vehicles(truth, ego, reach))
        c, s = math.cos(pose.yaw), math.sin(pose.yaw)
        d = self._dirs_sensor
        dirs_map = np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1], d[:, 2]], axis=1)
        # Rotating the grid by the sensor yaw shifts every azimuth by it; keep them sorted for culling.
        az_map = wrap_angle(self._azimuths + pose.yaw)
        order = np.argsort(az_map, kind="stable")
        dist, owner = cast_rays(pose.origin, dirs_map[order], boxes, ground=True, sorted_azimuths=az_map[order])
        keep = np.isfinite(dist) & (dist >= p.min_range) & (dist <= p.max_range)
        keep &= rng.random(dist.shape[0]) >= p.dropout_probability
        rays = order[keep]
        ranges = dist[keep] + rng.normal(0.0, p.range_sigma, rays.shape[0])
        points = np.empty((rays.shape[0], 4), dtype=np.float32)
        points[:, :3] = ranges[:, None] * d[rays]
        points[:, 3] = np.where(owner[keep] >= 0, VEHICLE_INTENSITY, GROUND_INTENSITY)
        return PointCloud(Header(now, p.frame_id), points)
