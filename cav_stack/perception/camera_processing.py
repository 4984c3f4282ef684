"""Camera object detection: bearing, class and a flat-ground range from 2D boxes.

The bearing comes from the box's horizontal centre; the range from its bottom edge, taken as the
object's ground contact on a flat road (depth = fy * camera height / (v_bottom - cy)); the centre
lies half a class-typical length further along the line of sight. Range noise grows with the
square of depth (one pixel at the horizon spans metres), so the camera mostly adds bearing and class.
Boxes touching the image border are dropped (their centre and bottom are cut off).
"""
from __future__ import annotations

import math

import numpy as np

from cav_stack.core.messages import CameraFrame, EgoState
from cav_stack.perception.detections import Coverage, DetectionSet, MeasurementKind, place_sensor
from cav_stack.perception.params import CameraProcessingParams, SizePrior
from cav_stack.world.sensor_rig import CameraParams

BORDER_MARGIN = 2.0  # [px] boxes closer than this to the image border are truncated


class CameraDetector:
    """Turns 2D detections of one camera into POSITION detections (with class) in ``map``."""

    def __init__(self, rig: CameraParams, params: CameraProcessingParams, size_priors: dict[str, SizePrior]):
        if "unknown" not in size_priors:
            raise ValueError("size_priors needs an 'unknown' entry")
        self.rig = rig
        self.params = params
        self.priors = size_priors

    def detect(self, frame: CameraFrame, ego: EgoState) -> DetectionSet:
        """Detections of ``frame`` placed with the ego estimate (``base_link`` in ``map``) at its stamp."""
        if frame.header.frame_id != self.rig.frame_id:
            raise ValueError(f"image frame {frame.header.frame_id!r} is not this camera's {self.rig.frame_id!r}")
        p, r = self.params, self.rig
        placement = place_sensor(ego, r.mounting)
        sensor_xy = np.array([placement.x, placement.y])
        coverage = Coverage(placement.x, placement.y, placement.yaw, 0.5 * r.horizontal_fov, p.max_range)
        rows, cov, classes = [], [], []
        for d in frame.detections:
            if d.score < p.min_score or d.v_max - r.cy < 1.0:
                continue
            if d.u_min < BORDER_MARGIN or d.u_max > r.width - BORDER_MARGIN or d.v_max > r.height - BORDER_MARGIN:
                continue
            depth = r.fy * r.mounting.z / (d.v_max - r.cy)
            lateral = -(0.5 * (d.u_min + d.u_max) - r.cx) / r.fx * depth
            bearing = math.atan2(lateral, depth)
            prior = self.priors.get(d.object_class.value, self.priors["unknown"])
            dist = math.hypot(depth, lateral) + 0.5 * prior.length
            if dist > p.max_range:
                continue
            u = np.array([math.cos(placement.yaw + bearing), math.sin(placement.yaw + bearing)])
            t = np.array([-u[1], u[0]])
            range_sigma = math.hypot(depth ** 2 * r.pixel_sigma / (r.fy * r.mounting.z), p.range_sigma_floor,
                                     0.25 * prior.length)
            # The box centre is the centre of what is visible: off-axis, a side shows and shifts it.
            across_sigma = math.hypot(dist * r.pixel_sigma / r.fx,
                                      0.25 * prior.width + 0.5 * prior.length * abs(math.sin(bearing)))
            rows.append(sensor_xy + dist * u)
            cov.append(range_sigma ** 2 * np.outer(u, u) + across_sigma ** 2 * np.outer(t, t))
            classes.append(d.object_class)
        return DetectionSet.build(frame.header.stamp, r.frame_id, MeasurementKind.POSITION,
                                  np.array(rows).reshape(-1, 2), np.array(cov).reshape(-1, 2, 2), sensor_xy,
                                  np.array([placement.vx, placement.vy]), coverage, p.initiates_tracks,
                                  classes=tuple(classes))
