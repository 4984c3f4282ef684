"""Attack accounting of a run (measurement only, from ground truth the stack never sees).

- sent: attack frames put on the air (ghost and insider attackers, :class:`V2xAirInterface`);
- accepted: attack frames that passed the whole receive path of at least one CAV;
- acted_upon: accepted attack messages a decision node took in: a SPaT, RoadSideAlert or
  shared plan handed on (the mode selector, route planner and MPC act on every one they get), or
  a BSM whose report a consumer matched to one of the CAV's tracks (the same matching as the
  mode selector's, :func:`cav_stack.planning.v2x_matching.match_report`, on the reports and
  objects the CAV published), i.e. it changed a track the controllers follow;
- false_alarms: misbehaviour verdicts against senders that are not attackers.
"""
from __future__ import annotations

from typing import Any

from cav_stack.core.messages import TrackList, V2xReportList
from cav_stack.planning.v2x_matching import match_report
from cav_stack.sim.v2x_air import V2xAirInterface
from cav_stack.v2x.messages import DecodedBsm
from cav_stack.v2x.reception import Received


class AttackLedger:
    """Counts what attack frames achieved; ``objects_topic``: namespace-relative topic of the
    objects the CAVs' controllers follow; match_max_age [s], match_distance [m]: the mode
    selector's report-to-track matching."""

    def __init__(self, air: V2xAirInterface, objects_topic: str, match_max_age: float, match_distance: float):
        self._air = air
        self._objects_topic = objects_topic
        self._max_age = match_max_age
        self._distance = match_distance
        self._accepted: set[bytes] = set()
        self._attack_reports: dict[str, set[int]] = {}     # CAV -> ids of accepted attack reports
        self._acted: set[tuple[str, int]] = set()           # (CAV, id of the accepted attack message)
        self._reports: dict[str, V2xReportList] = {}
        self._keep: list[Any] = []                           # keeps accepted messages alive (ids stay unique)

    def acceptance_observer(self, cav: str):
        """The observer to add to CAV ``cav``'s V2X node (``V2xNode.acceptance_observers``)."""
        def observe(frame: bytes, received: Received) -> None:
            if frame not in self._air.attack_payloads:
                return
            self._accepted.add(frame)
            message = received.message
            self._keep.append(message)
            if received.message_type == "BSM":
                assert isinstance(message, DecodedBsm)    # the receive path decodes every BSM to one
                self._attack_reports.setdefault(cav, set()).add(id(message.report))
            else:
                self._acted.add((cav, id(message)))
        return observe

    def tap(self, topic: str, msg: Any, now: float) -> None:
        """Executor tap: the CAVs' published reports and the objects they follow."""
        cav, _, relative = topic.strip("/").partition("/")
        if relative == "v2x/reports" and isinstance(msg, V2xReportList):
            self._reports[cav] = msg
        elif relative == self._objects_topic and isinstance(msg, TrackList) and self._attack_reports.get(cav):
            reports = self._reports.get(cav)
            if reports is None:
                return
            for track in msg.objects:
                report = match_report(track, reports, now, self._max_age, self._distance)
                if report is not None and id(report) in self._attack_reports[cav]:
                    self._acted.add((cav, id(report)))

    def summary(self) -> dict:
        """``{sent, accepted, acted_upon}``."""
        return {"sent": self._air.attack_sent, "accepted": len(self._accepted), "acted_upon": len(self._acted)}
