"""ReportHistory keeps the history checks' terms: its sums equal the ones recomputed from the reports."""
from __future__ import annotations

import math

import numpy as np

from cav_stack.core.messages import MAP_FRAME, Header, V2xVehicleReport
from cav_stack.v2x.report_history import ReportHistory


def _report(t: float, x: float, speed: float, yaw: float) -> V2xVehicleReport:
    return V2xVehicleReport(Header(t, MAP_FRAME), 7, 0, x, 2.0, yaw, speed, 0.0, 0.0, 4.5, 1.8, 0.5)


def _recomputed(reports: list[V2xVehicleReport]) -> tuple[float, tuple[float, float] | None]:
    distance = sum(0.5 * (a.speed + b.speed) * (b.header.stamp - a.header.stamp)
                   for a, b in zip(reports, reports[1:], strict=False))
    yaws = [r.yaw for r in reports if math.isfinite(r.yaw)]
    return distance, ((sum(math.sin(a) for a in yaws), sum(math.cos(a) for a in yaws)) if yaws else None)


def test_sums_match_the_reports_through_appends_pops_and_clears() -> None:
    rng = np.random.default_rng(3)
    history, kept = ReportHistory(), []
    for step in range(400):
        yaw = math.nan if rng.random() < 0.1 else float(rng.uniform(-math.pi, math.pi))
        speed = math.nan if rng.random() < 0.05 else float(rng.uniform(0.0, 30.0))
        x = math.nan if rng.random() < 0.05 else float(step)
        report = _report(0.1 * step, x, speed, yaw)
        if rng.random() < 0.02:
            history.clear()
            kept.clear()
        history.append(report)
        kept.append(report)
        while len(kept) > 1 and rng.random() < 0.5:
            history.popleft()
            kept.pop(0)
        assert list(history.reports) == kept
        assert history.all_speeds_known == all(math.isfinite(r.speed) for r in kept)
        assert history.all_positions_known == all(math.isfinite(r.x) and math.isfinite(r.y) for r in kept)
        if history.all_speeds_known:
            distance, sums = _recomputed(kept)
            assert history.travelled() == distance        # bit for bit: the same additions in the same order
            assert history.heading_sums() == sums
