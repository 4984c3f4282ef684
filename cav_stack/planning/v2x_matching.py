"""Matching an onboard track to the V2X report of the same vehicle.

A report (generation time ``header.stamp``) is aged to ``now`` with constant speed and heading;
the nearest report within ``max_distance`` [m] of the track's position is the match. A track
already bound to a station ID (``TrackedObject.v2x_id``, set by the fusion tracker) matches that
station's report directly.
"""
from __future__ import annotations

import math

from cav_stack.core.messages import TrackedObject, V2xReportList, V2xVehicleReport


def match_report(track: TrackedObject, reports: V2xReportList, now: float, max_age: float,
                 max_distance: float) -> V2xVehicleReport | None:
    """The V2X report describing ``track`` at ``now`` [s], or None."""
    best, best_distance = None, max_distance
    for report in reports.reports:
        age = now - report.header.stamp
        if age > max_age or not all(math.isfinite(v) for v in (report.x, report.y, report.speed, report.yaw)):
            continue
        if track.v2x_id is not None and report.station_id == track.v2x_id:
            return report
        px = report.x + report.speed * age * math.cos(report.yaw)
        py = report.y + report.speed * age * math.sin(report.yaw)
        distance = math.hypot(px - track.x, py - track.y)
        if distance < best_distance:
            best, best_distance = report, distance
    return best
