"""Cooperative-merge figures of a run: the gap negotiations the CAVs' mode selectors logged.

Each mode selector keeps a log of :class:`~cav_stack.planning.gap_negotiation.NegotiationEvent`
(its requests, the answers it received, the answers it gave). The report counts, over all CAVs:
``requests`` (a CAV started asking a vehicle), ``accepts`` and ``refusals`` (answers given, a
refusal by reason), ``releases`` (an accepted gap given up, by reason: ``merged``, ``timedOut``,
``requestWithdrawn``), and
lists the events per CAV in time order.
"""
from __future__ import annotations

from typing import Any

ACCEPTED_REASON = "gapOpening"
RELEASE_REASONS = ("merged", "timedOut", "requestWithdrawn")


def cooperation_summary(nodes: list) -> dict[str, Any] | None:
    """JSON-ready negotiation figures of the nodes with a ``negotiations`` log (the mode selectors
    running in this process, keyed by their namespace); None when no node has one."""
    logs = {node.namespace: node.negotiations for node in nodes if hasattr(node, "negotiations")}
    if not logs:
        return None
    requests = accepts = 0
    refusals: dict[str, int] = {}
    releases: dict[str, int] = {}
    events: dict[str, list[dict[str, Any]]] = {}
    for cav, log in sorted(logs.items()):
        for event in log:
            if event.role == "request":
                requests += 1
            elif event.requester_id is not None:        # an answer this CAV gave
                if event.accepted:
                    accepts += 1
                elif event.reason in RELEASE_REASONS:
                    releases[event.reason] = releases.get(event.reason, 0) + 1
                else:
                    refusals[event.reason] = refusals.get(event.reason, 0) + 1
        if log:
            events[cav] = [{"time_s": round(e.time, 3), "role": e.role, "requester": e.requester_id,
                            "responder": e.responder_id, "accepted": e.accepted, "reason": e.reason} for e in log]
    return {"requests": requests, "accepts": accepts, "refusals": refusals, "releases": releases, "events": events}
