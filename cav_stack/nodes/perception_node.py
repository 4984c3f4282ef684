"""Perception node: LiDAR, radar and camera frames plus V2X self-reports become tracked objects.

Inputs: ``input/lidar`` (PointCloud), ``input/radar`` (RadarFrame), ``input/camera``
(CameraFrame) — sensors of one kind share a topic and are told apart by ``header.frame_id`` —,
``input/ego_state`` (EgoState, to place each frame at its own stamp), ``input/v2x_reports``
(V2xReportList; every report is fused once, at its generation time).
Outputs, after every LiDAR frame: ``output/objects`` (TrackList, map: the fused tracks),
``output/sensor_objects`` (TrackList of that frame's LiDAR detections alone: onboard evidence for
V2X misbehaviour checks, never confirmed by V2X itself) and ``output/health`` (DiagnosticStatus).
"""
from __future__ import annotations

import math

from cav_stack.core.messages import (
    MAP_FRAME, CameraFrame, DiagnosticStatus, EgoState, Header, ObjectClass, PointCloud, RadarFrame, TrackedObject,
    TrackList, V2xReportList,
)
from cav_stack.perception.detections import DetectionSet
from cav_stack.perception.params import PerceptionParams
from cav_stack.perception.pipeline import PerceptionPipeline
from cav_stack.world.sensor_rig import SensorRig, load_rig
from cav_stack.runtime.node import SENSOR_QOS, Node, NodeContext
from cav_stack.core.share import share_path

DEFAULT_RIG = ("sensors", "rig_128.yaml")


def detections_as_objects(detections: DetectionSet) -> TrackList:
    """A detection set as an object list (centres; unknown sizes become a car's), in ``map``."""
    objects = []
    for k in range(len(detections)):
        length = detections.lengths[k] if math.isfinite(detections.lengths[k]) else 4.5
        width = detections.widths[k] if math.isfinite(detections.widths[k]) else 1.8
        objects.append(TrackedObject(-(k + 1), float(detections.z[k, 0]), float(detections.z[k, 1]), 0.0, 0.0,
                                     float(length), float(width), object_class=ObjectClass.UNKNOWN))
    return TrackList(Header(detections.stamp, MAP_FRAME), tuple(objects))


class PerceptionNode(Node):
    node_name = "perception_node"
    params_type = PerceptionParams
    resource_names = ("rig",)

    def __init__(self, context: NodeContext, *, rig: SensorRig | None = None):
        super().__init__(context)
        rig = rig or load_rig(share_path(*DEFAULT_RIG))
        self._pipeline = PerceptionPipeline(rig, self.params)
        self._fused: set[tuple[int, float]] = set()
        self._lidar_frames = {lidar.frame_id for lidar in rig.lidars}
        self._errors = 0
        self._objects_pub = self.create_publisher(TrackList, "output/objects")
        self._evidence_pub = self.create_publisher(TrackList, "output/sensor_objects")
        self._health_pub = self.create_publisher(DiagnosticStatus, "output/health")
        self.create_subscription(EgoState, "input/ego_state", self._pipeline.on_ego_state)
        self.create_subscription(PointCloud, "input/lidar", self._on_frame, SENSOR_QOS)
        self.create_subscription(RadarFrame, "input/radar", self._on_frame, SENSOR_QOS)
        self.create_subscription(CameraFrame, "input/camera", self._on_frame, SENSOR_QOS)
        self.create_subscription(V2xReportList, "input/v2x_reports", self._on_reports)

    def _on_reports(self, reports: V2xReportList) -> None:
        for report in reports.reports:
            key = (report.station_id, report.header.stamp)
            if key not in self._fused:
                self._fused.add(key)
                self._pipeline.on_v2x_report(report)
        now = self.now()
        self._fused = {k for k in self._fused if now - k[1] < 5.0}

    def _on_frame(self, frame) -> None:
        now = self.now()
        try:
            detections = self._pipeline.on_message(frame)
        except LookupError:           # no ego estimate yet to place the frame
            self._errors += 1
            return
        if frame.header.frame_id not in self._lidar_frames:
            return
        self._objects_pub.publish(self._pipeline.track_list(now))
        self._evidence_pub.publish(detections_as_objects(detections))
        self._health_pub.publish(DiagnosticStatus(Header(now, MAP_FRAME), "perception", 0, "ok",
                                                  (("unplaced_frames", str(self._errors)),)))
