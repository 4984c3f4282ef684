"""Mode timeline of a run: every driving-mode switch of every CAV, with its reason, and every
escalation level of a takeover request (when it was raised and when it escalated).

An executor tap: it watches the ``<cav>/planning/mode`` topics and keeps the switches.
"""
from __future__ import annotations

from typing import Any

from cav_stack.core.messages import ModeCommand

MODE_TOPIC_SUFFIX = "/planning/mode"


class ModeTimeline:
    """Collects (time, cav, mode, reason) whenever a CAV's mode changes."""

    topic_suffixes = ((MODE_TOPIC_SUFFIX, ModeCommand),)
    """(topic suffix, message type) of the topics it listens to, under each CAV's namespace."""

    def __init__(self) -> None:
        self.switches: list[dict] = []
        self.escalations: list[dict] = []
        self._current: dict[str, str] = {}
        self._level: dict[str, int] = {}

    def __call__(self, topic: str, msg: Any, now: float) -> None:
        if not (isinstance(msg, ModeCommand) and topic.endswith(MODE_TOPIC_SUFFIX)):
            return
        cav_id = topic[: -len(MODE_TOPIC_SUFFIX)].strip("/")
        if self._current.get(cav_id) != msg.mode.value:
            self._current[cav_id] = msg.mode.value
            self.switches.append({"time_s": round(now, 3), "cav": cav_id, "mode": msg.mode.value,
                                  "reason": msg.reason})
        if msg.takeover_level and self._level.get(cav_id) != msg.takeover_level:
            self.escalations.append({"time_s": round(now, 3), "cav": cav_id, "level": msg.takeover_level,
                                     "reason": msg.reason})
        self._level[cav_id] = msg.takeover_level

    def summary(self, duration_s: float) -> dict:
        """JSON-ready timeline, takeover escalations and switch rate (switches per minute per CAV,
        first mode excluded)."""
        cavs = sorted(self._current)
        switches = len(self.switches) - len(cavs)
        per_minute = switches / max(len(cavs), 1) / (duration_s / 60.0) if duration_s > 0 else 0.0
        return {"switches": self.switches, "takeover_escalations": self.escalations,
                "switches_per_minute_per_cav": per_minute}
