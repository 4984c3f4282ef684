"""Route log of a run: every route change of every CAV, with its reason and its delay after the
first V2X road-event report the CAV received.

An executor tap: it watches the ``<cav>/planning/route`` and ``<cav>/v2x/road_events`` topics.
The first route a CAV's planner publishes (its mission) is not a change.
"""
from __future__ import annotations

from typing import Any

from cav_stack.core.messages import RoadEventReport, Route

ROUTE_TOPIC_SUFFIX = "/planning/route"
ROAD_EVENTS_TOPIC_SUFFIX = "/v2x/road_events"


class RouteLog:
    """Collects the route changes (time [s], CAV, reason, old and new edges) and, per CAV, the time
    [s] it first received a road-event report."""

    def __init__(self) -> None:
        self.changes: list[dict] = []
        self.first_report: dict[str, float] = {}
        self._current: dict[str, tuple[str, ...]] = {}

    def __call__(self, topic: str, msg: Any, now: float) -> None:
        if isinstance(msg, RoadEventReport) and topic.endswith(ROAD_EVENTS_TOPIC_SUFFIX):
            self.first_report.setdefault(topic[: -len(ROAD_EVENTS_TOPIC_SUFFIX)].strip("/"), now)
            return
        if not (isinstance(msg, Route) and topic.endswith(ROUTE_TOPIC_SUFFIX)):
            return
        cav_id = topic[: -len(ROUTE_TOPIC_SUFFIX)].strip("/")
        previous = self._current.get(cav_id)
        self._current[cav_id] = tuple(msg.edges)
        if previous is None or previous == tuple(msg.edges):
            return
        report_time = self.first_report.get(cav_id)
        self.changes.append({"time_s": round(now, 3), "cav": cav_id, "reason": msg.reason,
                             "old_edges": list(previous), "new_edges": list(msg.edges),
                             "first_report_s": report_time,
                             "delay_after_first_report_s": round(now - report_time, 3)
                             if report_time is not None else None})

    def summary(self) -> dict:
        """JSON-ready ``reroutes`` (number of route changes, all CAVs), ``route_changes`` and
        ``first_road_event_report_s`` (per CAV)."""
        return {"reroutes": len(self.changes), "route_changes": self.changes,
                "first_road_event_report_s": dict(self.first_report)}
