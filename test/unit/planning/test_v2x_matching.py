"""Matching a track to the V2X report of the same vehicle: nearest aged report within the gate,
but never a report that lies nearer to another track (the car abreast in the next lane)."""
from __future__ import annotations

from cav_stack.core.messages import MAP_FRAME, Header, TrackedObject, V2xReportList, V2xVehicleReport
from cav_stack.planning.v2x_matching import match_report


def _report(station, x, y, stamp=0.9):
    return V2xVehicleReport(Header(stamp, MAP_FRAME), station, 0, x, y, 0.0, 26.0)


def _track(track_id, x, y):
    return TrackedObject(track_id, x, y, 0.0, 26.0, 4.5, 1.8)


def test_the_report_of_the_car_abreast_is_not_the_human_drivers():
    """merge_into_platoon_conflict: a human-driven car in the left lane and a CAV abreast in the
    middle lane (3.6 m apart, inside the 4 m gate). The CAV's report belongs to the CAV's track;
    the human's track has no report, so the leader it is counts as not connected."""
    human, cav = _track(5, 571.9, -1.8), _track(6, 571.9, -5.4)
    reports = V2xReportList(Header(1.0, MAP_FRAME), (_report(77, 569.3, -5.4),))   # aged 0.1 s: x 571.9
    assert match_report(human, reports, 1.0, 0.5, 4.0, (human, cav)) is None
    assert match_report(cav, reports, 1.0, 0.5, 4.0, (human, cav)).station_id == 77
    assert match_report(human, reports, 1.0, 0.5, 4.0).station_id == 77     # blind without the others
    far = V2xReportList(Header(1.0, MAP_FRAME), (_report(78, 569.3, -1.8), _report(77, 569.3, -5.4)))
    assert match_report(human, far, 1.0, 0.5, 4.0, (human, cav)).station_id == 78
