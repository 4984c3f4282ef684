"""The perception core as one object: per-sensor detectors feeding the tracker.

A node hands every ego estimate to :meth:`PerceptionPipeline.on_ego_state`, each sensor message to
:meth:`on_message` (placed with the ego pose interpolated at the message's own stamp), decoded V2X
reports to :meth:`on_v2x_report`, and publishes :meth:`track_list`. Messages may arrive late and out
of order (see the tracker).
"""
from __future__ import annotations

from typing import Any, Protocol

from cav_stack.core.messages import CameraFrame, EgoState, PointCloud, RadarFrame, TrackList, V2xVehicleReport
from cav_stack.perception.camera_processing import CameraDetector
from cav_stack.perception.detections import DetectionSet
from cav_stack.perception.ego_history import EgoHistory
from cav_stack.perception.lidar_processing import LidarDetector
from cav_stack.perception.params import PerceptionParams
from cav_stack.perception.radar_processing import RadarDetector
from cav_stack.world.sensor_rig import SensorRig
from cav_stack.perception.tracker import MultiObjectTracker
from cav_stack.perception.v2x_objects import v2x_detection


class _Detector(Protocol):
    def detect(self, message: Any, ego: EgoState) -> DetectionSet: ...


class PerceptionPipeline:
    """Detectors for every LiDAR, radar and camera of ``rig`` (by frame_id) and one tracker."""

    def __init__(self, rig: SensorRig, params: PerceptionParams):
        self.params = params
        priors = params.tracker.size_priors
        self.detectors: dict[str, _Detector] = {}
        for lidar in rig.lidars:
            self.detectors[lidar.frame_id] = LidarDetector(lidar, params.lidar, priors)
        for radar in rig.radars:
            self.detectors[radar.frame_id] = RadarDetector(radar, params.radar)
        for camera in rig.cameras:
            self.detectors[camera.frame_id] = CameraDetector(camera, params.camera, priors)
        self.tracker = MultiObjectTracker(params.tracker, params.v2x)
        self.ego_history = EgoHistory(params.ego_history_duration)

    def on_ego_state(self, state: EgoState) -> None:
        """Remember an ego estimate (``base_link`` in ``map``)."""
        self.ego_history.add(state)

    def detect(self, message: PointCloud | RadarFrame | CameraFrame, ego: EgoState) -> DetectionSet:
        """Detections of one sensor message (``ego``: ``base_link`` in ``map`` at its stamp)."""
        detector = self.detectors.get(message.header.frame_id)
        if detector is None:
            raise ValueError(f"no sensor {message.header.frame_id!r} in the rig (known: {sorted(self.detectors)})")
        return detector.detect(message, ego)

    def on_message(self, message: PointCloud | RadarFrame | CameraFrame) -> DetectionSet:
        """Detect and fuse one sensor message; returns its detections (for diagnostics).
        Raises LookupError before the first ego state."""
        detections = self.detect(message, self.ego_history.at(message.header.stamp))
        self.tracker.process(detections)
        return detections

    def on_v2x_report(self, report: V2xVehicleReport) -> None:
        """Fuse a V2X self-report at its generation time."""
        self.tracker.process(v2x_detection(report, self.params.v2x))

    def track_list(self, now: float) -> TrackList:
        """Confirmed tracks predicted to ``now`` [s], in ``map``."""
        return self.tracker.track_list(now)
