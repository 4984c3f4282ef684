"""The report's ``shield`` section: the joint-action shield's conflicts and resolutions.

Each CAV's mode selector records the resolutions it made itself (time [s], the station that
proceeds, the one that yields, temporary IDs, and how the CAV acted); both CAVs of a conflict
resolve it, each on its own. This section merges them into one resolution per conflict, naming
the vehicles (CAV IDs, from the stations each CAV sent as), and says whether both sides agreed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Records of the two sides of one conflict lie at most this far apart [s].
SAME_CONFLICT_S = 1.0


@dataclass(frozen=True)
class SideRecord:
    """One CAV's record of a resolution: the CAV, time [s], proceeding and yielding stations,
    unsure (a stale claim was yielded to) and how this CAV acted."""

    cav: str
    time: float
    proceeds: int
    yields: int
    unsure: bool
    how: str


def shield_summary(records: list[SideRecord], stations: dict[int, str], enabled: bool) -> dict[str, Any]:
    """``{enabled, conflicts, resolutions}``: one resolution per conflict (pairs of side records of
    the same two stations within :data:`SAME_CONFLICT_S`), in time order; ``agreed``: every side
    that recorded it named the same vehicle to proceed; ``how``: what the yielding vehicle did."""
    resolutions: list[dict[str, Any]] = []
    open_by_pair: dict[frozenset[int], dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: (r.time, r.cav)):
        pair = frozenset((record.proceeds, record.yields))
        current = open_by_pair.get(pair)
        if current is not None and record.time - current["time_s"] <= SAME_CONFLICT_S \
                and record.cav not in current["recorded_by"]:
            current["recorded_by"].append(record.cav)
            current["agreed"] = current["agreed"] and stations.get(record.proceeds) == current["proceeded"]
            if record.cav == current["yielded"]:
                current["how"] = record.how
            continue
        proceeded, yielded = stations.get(record.proceeds, str(record.proceeds)), \
            stations.get(record.yields, str(record.yields))
        current = {"time_s": round(record.time, 2), "vehicles": sorted((proceeded, yielded)),
                   "proceeded": proceeded, "yielded": yielded,
                   "how": record.how if record.cav == yielded else "not recorded by the yielding vehicle",
                   "unsure": record.unsure, "agreed": True, "recorded_by": [record.cav]}
        open_by_pair[pair] = current
        resolutions.append(current)
    return {"enabled": enabled, "conflicts": len(resolutions), "resolutions": resolutions}
