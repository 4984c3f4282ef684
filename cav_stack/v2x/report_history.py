"""One V2X sender's recent reports, with the per-report terms of the history checks kept alongside.

:class:`ReportHistory` holds the reports of the misbehaviour detector's consistency window (stamps
strictly increasing) and, updated as reports enter and leave, what its history checks sum over:
the distance [m] between consecutive reports by the trapezoid rule on their speeds, and the sine
and cosine of each available heading. The sums are then taken over these stored terms in report
order, so they equal, to the last bit, the same sums recomputed from the reports each time.
"""
from __future__ import annotations

import collections
import math

from cav_stack.core.messages import V2xVehicleReport


class ReportHistory:
    """A sender's reports in time order (``reports``; positions in ``map``, SI units)."""

    def __init__(self) -> None:
        self.reports: collections.deque[V2xVehicleReport] = collections.deque()
        self._steps: collections.deque[float] = collections.deque()
        """Distance [m] from each report but the first to the next: 0.5 (v_a + v_b)(t_b - t_a)."""
        self._sines: collections.deque[float] = collections.deque()
        self._cosines: collections.deque[float] = collections.deque()
        """Sine and cosine of each available heading (reports with a NaN yaw have none)."""
        self._missing_position = 0
        self._missing_speed = 0

    def __bool__(self) -> bool:
        return bool(self.reports)

    def append(self, report: V2xVehicleReport) -> None:
        """Add the newest report (stamp later than the last one's)."""
        if self.reports:
            last = self.reports[-1]
            self._steps.append(0.5 * (last.speed + report.speed) * (report.header.stamp - last.header.stamp))
        if math.isfinite(report.yaw):
            self._sines.append(math.sin(report.yaw))
            self._cosines.append(math.cos(report.yaw))
        self._missing_position += not (math.isfinite(report.x) and math.isfinite(report.y))
        self._missing_speed += not math.isfinite(report.speed)
        self.reports.append(report)

    def popleft(self) -> None:
        """Drop the oldest report."""
        report = self.reports.popleft()
        if self._steps:
            self._steps.popleft()
        if math.isfinite(report.yaw):
            self._sines.popleft()
            self._cosines.popleft()
        self._missing_position -= not (math.isfinite(report.x) and math.isfinite(report.y))
        self._missing_speed -= not math.isfinite(report.speed)

    def clear(self) -> None:
        """Forget every report (the history restarts)."""
        for values in (self.reports, self._steps, self._sines, self._cosines):
            values.clear()
        self._missing_position = self._missing_speed = 0

    @property
    def all_positions_known(self) -> bool:
        """True when every report has a finite position."""
        return not self._missing_position

    @property
    def all_speeds_known(self) -> bool:
        """True when every report has a finite speed."""
        return not self._missing_speed

    def travelled(self) -> float:
        """Distance [m] integrated from the reported speeds over the whole history (trapezoid rule)."""
        return sum(self._steps)

    def heading_sums(self) -> tuple[float, float] | None:
        """Sums of the sines and of the cosines of the available headings (None: no heading known)."""
        return (sum(self._sines), sum(self._cosines)) if self._sines else None
