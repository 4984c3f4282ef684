"""Scenario truth: whether each scripted event of a run happened as scripted (the report's ``events``).

One record per event of the scenario, in file order, from the world's event log
(:mod:`cav_stack.sim.sumo_events`): ``index``, ``type``, ``vehicle`` (the actor), ``cav`` (the CAV
it concerns), ``scheduled_s`` and ``started_s`` [s] (null when it never started), the situation
measured at its start (``gap_m`` [m], ``ttc_s`` [s], ``speed_mps`` of the actor and
``cav_speed_mps`` [m/s], the lane indices ``actor_lane`` and ``cav_lane``), ``happened`` with
``reason`` when false, ``expect`` (the scenario's ranges)
and ``as_expected`` (null without an expectation or when it did not happen), and ``required``:
whether the run owes this event. A run does not owe an event scheduled after its end, nor one the
controller has nothing to receive it with (a V2X event without a V2X radio; a sensor fault of a
CAV SUMO drives). A required event that did not happen, or whose situation misses its
expectation, fails the run (:func:`not_as_scripted`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from cav_stack.sim.sumo_events import EVENT_MISSED
from cav_stack.world.scenario import (EXPECTATION_KEYS, GhostVehicleEvent, InsiderAttackEvent, LinkLossEvent,
                                     RevocationEvent, Scenario, ScenarioEvent, SensorFaultEvent, event_roles)

#: Lane indices of the actor and the CAV at the start, also in each record.
_LANES = ("actor_lane",)  # the CAV's lane is one of EXPECTATION_KEYS
_V2X_EVENTS = (LinkLossEvent, GhostVehicleEvent, InsiderAttackEvent, RevocationEvent)


def not_applicable(event: ScenarioEvent, *, v2x: bool, stack_drives: bool) -> str | None:
    """Why ``event`` has nothing to act on in a run whose controller has a V2X radio (``v2x``) and
    whose CAVs the stack drives (``stack_drives``; False for SUMO's own models); None when it applies."""
    if isinstance(event, _V2X_EVENTS) and not v2x:
        return "not applicable: the controller has no V2X radio"
    if isinstance(event, SensorFaultEvent) and not stack_drives:
        return "not applicable: SUMO's driver model drives the CAVs, no sensor is read"
    return None


def event_records(scenario: Scenario, event_log: Iterable[Any], pending: Mapping[int, str], end_s: float,
                  inapplicable: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
    """The report's ``events`` (see the module docstring). ``event_log``: the world's records
    (attributes ``time``, ``kind``, ``vehicle``, ``detail``, ``values``, ``event_index``, ``cav``);
    ``pending``: event index -> what the world still waited for at the end; ``end_s`` [s]: the
    simulation time the run ended at; ``inapplicable``: event index -> why it does not apply."""
    inapplicable = inapplicable or {}
    starts: dict[int, Any] = {}
    missed: dict[int, str] = {}
    for record in event_log:
        index = getattr(record, "event_index", None)
        if index is None:
            continue
        if record.kind == EVENT_MISSED:
            missed.setdefault(index, f"{record.detail} (at {record.time:.2f} s)")
        else:
            starts.setdefault(index, record)
    records = []
    for index, event in enumerate(scenario.events):
        roles = event_roles(event, index)
        start = starts.get(index)
        expect = event.expect
        entry: dict[str, Any] = {
            "index": index, "type": roles.type, "vehicle": start.vehicle if start else roles.actor,
            "cav": start.cav if start else roles.cav, "scheduled_s": roles.scheduled_s,
            "started_s": start.time if start else None,
            **{key: (start.values.get(key) if start else None) for key in (*EXPECTATION_KEYS, *_LANES)},
            "happened": start is not None, "reason": None,
            "expect": {k: list(v) for k, v in dataclasses.asdict(expect).items() if v is not None} if expect else None,
            "as_expected": None, "required": True}
        if index in inapplicable:
            entry.update(required=False, reason=inapplicable[index])
        elif start is None:
            if roles.scheduled_s > end_s + 1e-9:
                entry.update(required=False, reason=f"scheduled after the run's end ({end_s:.2f} s)")
            else:
                entry["reason"] = missed.get(index) or (
                    f"did not start by the run's end ({end_s:.2f} s): {pending.get(index, 'never started')}")
        elif expect is not None:
            misses = expect.violations({key: entry[key] for key in EXPECTATION_KEYS})
            entry["as_expected"] = not misses
            if misses:
                entry["reason"] = "not as expected: " + "; ".join(misses)
        records.append(entry)
    return records


def not_as_scripted(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per required event that did not happen or missed its expectation (empty: the run's
    scripted events all happened as scripted)."""
    return [f"event {r['index']} ({r['type']}, {r['vehicle']}): {r['reason']}" for r in records
            if r["required"] and (not r["happened"] or r["as_expected"] is False)]
