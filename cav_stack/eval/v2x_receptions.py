"""Which CAV's V2X node accepted BSMs from which other CAV, counted from the CAVs' own topics.

Where :mod:`~cav_stack.eval.v2x_links` measures the air (what the radio delivered), this counts
what each receiving V2X node made of it: the reports it accepted and passed on. A node that
took another vehicle's BSMs for its own (the same temporary ID) or refused them would show no
count for that sender. It is an executor tap in-process and listens on the same topics in the
simulator process of a multi-process run, so both reports carry it.

- ``<cav>/v2x/tx`` (V2xFrame): the station IDs (temporary IDs) each CAV sends under.
- ``<cav>/v2x/reports`` (V2xReportList): the newest accepted report of every neighbour, published
  every generation check; a BSM counts once, on the first list that holds it (its station ID,
  message count and generation time). Two BSMs of one sender accepted between two lists count
  as one, so the counts are lower bounds of the BSMs accepted.

:meth:`V2xReceptions.summary` names a sender by the CAV that sent under its station ID, and by
its station ID when no CAV did (an RSU, connected traffic, a ghost).
"""
from __future__ import annotations

from typing import Any

from cav_stack.core.messages import V2xFrame, V2xReportList

TX_TOPIC_SUFFIX = "/v2x/tx"
REPORTS_TOPIC_SUFFIX = "/v2x/reports"


class V2xReceptions:
    """BSMs accepted per receiving CAV and sender; call it with (topic, message, time) of the CAVs' V2X topics."""

    topic_suffixes = ((TX_TOPIC_SUFFIX, V2xFrame), (REPORTS_TOPIC_SUFFIX, V2xReportList))
    """(topic suffix, message type) of the topics it listens to, under each CAV's namespace."""

    def __init__(self) -> None:
        self._stations: dict[str, set[int]] = {}
        self._newest: dict[str, dict[int, tuple[int, float]]] = {}
        self._accepted: dict[str, dict[int, int]] = {}

    def __call__(self, topic: str, msg: Any, now: float) -> None:
        if isinstance(msg, V2xFrame) and topic.endswith(TX_TOPIC_SUFFIX):
            self._stations.setdefault(topic[: -len(TX_TOPIC_SUFFIX)].strip("/"), set()).add(msg.sender_id)
        elif isinstance(msg, V2xReportList) and topic.endswith(REPORTS_TOPIC_SUFFIX):
            receiver = topic[: -len(REPORTS_TOPIC_SUFFIX)].strip("/")
            newest = self._newest.setdefault(receiver, {})
            accepted = self._accepted.setdefault(receiver, {})
            for report in msg.reports:
                key = (report.msg_count, report.header.stamp)
                if newest.get(report.station_id) != key:
                    newest[report.station_id] = key
                    accepted[report.station_id] = accepted.get(report.station_id, 0) + 1

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per CAV: ``station_ids`` it sent under (sorted) and ``accepted_bsms`` per sender (a CAV
        id, or ``station <ID>`` for a sender no CAV sent as)."""
        owner = {station: cav for cav, stations in self._stations.items() for station in stations}
        out: dict[str, dict[str, Any]] = {}
        for cav in sorted(set(self._stations) | set(self._accepted)):
            counts: dict[str, int] = {}
            for station, count in self._accepted.get(cav, {}).items():
                sender = owner.get(station, f"station {station}")
                counts[sender] = counts.get(sender, 0) + count
            out[cav] = {"station_ids": sorted(self._stations.get(cav, ())),
                        "accepted_bsms": dict(sorted(counts.items()))}
        return out
