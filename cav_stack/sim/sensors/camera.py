"""Camera model: a pinhole camera with an idealised 2D detector.

Each vehicle whose box lies wholly in front of the camera, within ``max_range``, is projected
(all 8 corners) to its enclosing 2D box, clipped to the image. It is detected with probability
``detection_probability / (1 + (d / half_probability_range)^4)`` times a visibility factor that
falls linearly from 1 (fully visible) to 0 (``min_visible_fraction`` visible); box edges get
Gaussian pixel noise. The optical frame is x right, y down, z forward (REP 103 camera_optical).
"""
from __future__ import annotations

import math

import numpy as np

from cav_stack.core.messages import CameraDetection, CameraFrame, Header, ObjectClass
from cav_stack.core.truth import WorldTruth
from cav_stack.world.sensor_rig import CameraParams
from cav_stack.sim.sensors.ego import EgoMotion, check_inputs, other_vehicles, sensor_pose
from cav_stack.sim.sensors.raycast import Boxes
from cav_stack.sim.sensors.visibility import probe_visibility

#: SUMO vehicle class -> detector class.
SUMO_CLASS_TO_OBJECT = {"passenger": ObjectClass.CAR, "taxi": ObjectClass.CAR, "private": ObjectClass.CAR,
                        "delivery": ObjectClass.CAR, "truck": ObjectClass.TRUCK, "trailer": ObjectClass.TRUCK,
                        "bus": ObjectClass.BUS, "coach": ObjectClass.BUS, "motorcycle": ObjectClass.MOTORCYCLE,
                        "moped": ObjectClass.MOTORCYCLE, "bicycle": ObjectClass.BICYCLE,
                        "pedestrian": ObjectClass.PEDESTRIAN}
MIN_DEPTH = 0.5  # [m] corners closer than this (or behind) make an object undetectable


def object_class_of(vehicle_class: str) -> ObjectClass:
    """Detector class of a SUMO vehicle class (UNKNOWN when unmapped)."""
    return SUMO_CLASS_TO_OBJECT.get(vehicle_class, ObjectClass.UNKNOWN)


class CameraModel:
    """Pinhole camera with the intrinsics, noise and detection statistics of ``params``."""

    def __init__(self, params: CameraParams):
        self.params = params
        self.rate = params.rate
        self.latency = params.latency

    def measure(self, truth: WorldTruth, ego: EgoMotion, now: float, rng: np.random.Generator) -> CameraFrame:
        """One image at ``now`` [s]: 2D detections in pixels of the optical frame."""
        check_inputs(truth, ego, now)
        p = self.params
        pose = sensor_pose(ego, p.mounting)
        vehicles = other_vehicles(truth, ego, p.max_range + math.hypot(p.mounting.x, p.mounting.y))
        boxes = Boxes.from_vehicles(vehicles)
        if len(boxes) == 0:
            return CameraFrame(Header(now, p.frame_id))
        vis = probe_visibility(pose.origin, boxes)
        ground = boxes.corners()  # (B, 4, 2)
        corners = np.concatenate([np.concatenate([ground, np.zeros((len(boxes), 4, 1))], axis=2),
                                  np.concatenate([ground, boxes.height[:, None, None] * np.ones((1, 4, 1))],
                                                 axis=2)], axis=1)  # (B, 8, 3)
        c, s = math.cos(pose.yaw), math.sin(pose.yaw)
        dx, dy = corners[..., 0] - pose.x, corners[..., 1] - pose.y
        forward, left, up = c * dx + s * dy, -s * dx + c * dy, corners[..., 2] - pose.z
        detections: list[CameraDetection] = []
        for b, vehicle in enumerate(vehicles):
            if forward[b].min() < MIN_DEPTH:
                continue
            dist = math.hypot(vehicle.x - pose.x, vehicle.y - pose.y)
            if dist > p.max_range:
                continue
            u = p.cx - p.fx * left[b] / forward[b]
            v = p.cy - p.fy * up[b] / forward[b]
            u0, u1 = max(u.min(), 0.0), min(u.max(), float(p.width))
            v0, v1 = max(v.min(), 0.0), min(v.max(), float(p.height))
            if u1 <= u0 or v1 - v0 < p.min_box_height:
                continue
            visible = (vis.fraction[b] - p.min_visible_fraction) / (1.0 - p.min_visible_fraction)
            probability = p.detection_probability / (1.0 + (dist / p.half_probability_range) ** 4)
            probability *= min(max(visible, 0.0), 1.0)
            if rng.random() >= probability:
                continue
            noise = rng.normal(0.0, p.pixel_sigma, 4)
            detections.append(CameraDetection(
                u_min=float(u0 + noise[0]), v_min=float(v0 + noise[1]), u_max=float(u1 + noise[2]),
                v_max=float(v1 + noise[3]), object_class=object_class_of(vehicle.vehicle_class),
                score=float(min(max(probability + rng.normal(0.0, 0.05), 0.0), 1.0))))
        return CameraFrame(Header(now, p.frame_id), tuple(detections))
