"""V2X self-reports (decoded BSM / CAM) as FULL_STATE detections for the tracker."""
from __future__ import annotations

import math

import numpy as np

from cav_stack.core.messages import MAP_FRAME, V2xVehicleReport
from cav_stack.perception.detections import DetectionSet, MeasurementKind
from cav_stack.perception.params import V2xFusionParams

V2X_SOURCE = "v2x"


def v2x_detection(report: V2xVehicleReport, params: V2xFusionParams) -> DetectionSet:
    """One report as a detection stamped with the sender's generation time.

    The reported position is the sender's box centre in ``map``; its sigma comes with the report,
    the other sigmas from ``params``. Raises ValueError for a report not in ``map`` or with a
    non-positive or non-finite position sigma."""
    if report.header.frame_id != MAP_FRAME:
        raise ValueError(f"V2X report of station {report.station_id} is in {report.header.frame_id!r}, not 'map'")
    if not (math.isfinite(report.position_sigma) and report.position_sigma > 0.0):
        raise ValueError(f"V2X report of station {report.station_id}: position_sigma must be > 0, "
                         f"got {report.position_sigma}")
    z = np.array([[report.x, report.y, report.yaw, report.speed, report.yaw_rate, report.accel]])
    sigmas = np.array([report.position_sigma, report.position_sigma, params.yaw_sigma, params.speed_sigma,
                       params.yaw_rate_sigma, params.accel_sigma])
    velocity = report.speed * np.array([math.cos(report.yaw), math.sin(report.yaw)])
    return DetectionSet.build(report.header.stamp, V2X_SOURCE, MeasurementKind.FULL_STATE, z,
                              np.diag(sigmas ** 2)[None], np.array([report.x, report.y]), velocity, None,
                              params.initiates_tracks, lengths=np.array([report.length]),
                              widths=np.array([report.width]), station_ids=np.array([report.station_id]))
