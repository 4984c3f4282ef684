"""Matching an onboard track to the V2X report of the same vehicle.

A report (generation time ``header.stamp``) is aged to ``now`` with constant speed and heading;
the nearest report within ``max_distance`` [m] of the track's position is the match, unless another
of the ``tracks`` is nearer to that report (it describes that vehicle: a car abreast in the next
lane, 3.6 m away, is within the gate of a human-driven car's track). A track already bound to a
station ID (``TrackedObject.v2x_id``, set by the fusion tracker) matches that station's report
directly.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from cav_stack.core.messages import TrackedObject, V2xReportList, V2xVehicleReport


def match_report(track: TrackedObject, reports: V2xReportList, now: float, max_age: float,
                 max_distance: float, tracks: Sequence[TrackedObject] = ()) -> V2xVehicleReport | None:
    """The V2X report describing ``track`` at ``now`` [s], or None; ``tracks``: every track of the
    list ``track`` belongs to (a report nearer to one of the others is not this track's)."""
    best, best_distance, best_at = None, max_distance, (0.0, 0.0)
    for report in reports.reports:
        age = now - report.header.stamp
        # (a sum of finite values is finite; one inf or nan makes it inf or nan)
        if age > max_age or not math.isfinite(report.x + report.y + report.speed + report.yaw):
            continue
        if track.v2x_id is not None and report.station_id == track.v2x_id:
            return report
        px = report.x + report.speed * age * math.cos(report.yaw)
        py = report.y + report.speed * age * math.sin(report.yaw)
        distance = math.hypot(px - track.x, py - track.y)
        if distance < best_distance:
            best, best_distance, best_at = report, distance, (px, py)
    if best is None or any(other.track_id != track.track_id
                           and math.hypot(best_at[0] - other.x, best_at[1] - other.y) < best_distance
                           for other in tracks):
        return None
    return best
