"""Finding and loading scenario YAML files into :class:`~cav_stack.world.scenario.spec.Scenario`.

Loading errors are :class:`~cav_stack.core.params.ParamsError` naming file, line and key; an
unknown scenario name is :class:`UnknownScenarioError` listing the known ones.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any

from cav_stack.core.params import ParamsError, bind_params, read_yaml
from cav_stack.core.share import share_path
from cav_stack.world.scenario.events import (InsiderAttackEvent, RevocationEvent, EVENT_TYPES, CutInEvent,
                                             GhostVehicleEvent, HardBrakeEvent, IncidentEvent, LinkLossEvent,
                                             ScenarioEvent, SensorFaultEvent, SpeedProfileEvent)
from cav_stack.world.scenario.situation import LEADER_OF_PREFIX
from cav_stack.world.scenario.spec import CavSpec, FlowSpec, PrefillSpec, Scenario, VehicleSpec


class UnknownScenarioError(LookupError):
    """No scenario of that name; the message lists the available ones."""

    def __init__(self, name: str, available: list[str]):
        self.name = name
        self.available = available
        listed = ", ".join(available) if available else "(none)"
        super().__init__(f"unknown scenario '{name}'; available scenarios: {listed}")


def scenarios_dir() -> Path:
    """Directory holding the scenario YAML files (``scenarios/`` of the package's data folders)."""
    return share_path("scenarios")


def list_scenarios() -> list[str]:
    """Names of the scenarios in :func:`scenarios_dir`, sorted."""
    directory = scenarios_dir()
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario by name (from :func:`scenarios_dir`) or from a YAML path.

    Raises :class:`UnknownScenarioError` for an unknown name and
    :class:`~cav_stack.core.params.ParamsError` for a malformed or invalid file.
    """
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text:
        path = Path(name_or_path)
        if not path.is_file():
            raise ParamsError(path, "", "scenario file does not exist")
    else:
        path = scenarios_dir() / f"{text}.yaml"
        if not path.is_file():
            raise UnknownScenarioError(text, list_scenarios())
    return _load_file(path.resolve())


def _load_file(path: Path) -> Scenario:
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise ParamsError(path, "", "expected a mapping at the top level", 1)
    if "source" in data:
        raise ParamsError(path, "source", "unknown parameter", lines.get("source"))
    body = {k: v for k, v in data.items() if k != "events"}
    events = _bind_events(data.get("events", []), path, lines)
    scenario = bind_params(Scenario, body, path, lines)
    scenario = dataclasses.replace(scenario, events=events, source=path)
    if scenario.name != path.stem:
        raise ParamsError(path, "name", f"must equal the file name '{path.stem}'", lines.get("name"))
    _check_references(scenario, path, lines)
    return scenario


def _bind_events(raw: Any, path: Path, lines: dict[str, int]) -> tuple[ScenarioEvent, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ParamsError(path, "events", f"expected a list, got {type(raw).__name__}", lines.get("events"))
    events: list[ScenarioEvent] = []
    for index, item in enumerate(raw):
        key = f"events[{index}]"
        if not isinstance(item, dict) or "type" not in item:
            raise ParamsError(path, key, "expected a mapping with a 'type'", lines.get("events"))
        schema = EVENT_TYPES.get(item["type"])
        if schema is None:
            raise ParamsError(path, f"{key}.type", f"unknown event type '{item['type']}' "
                              f"(known: {', '.join(EVENT_TYPES)})", lines.get(f"{key}.type"))
        fields = {k: v for k, v in item.items() if k != "type"}
        events.append(bind_params(schema, fields, path, lines, key))
    return tuple(events)


def _check_references(scenario: Scenario, path: Path, lines: dict[str, int]) -> None:
    """Cross-field checks: unique IDs, known vehicle types, events naming existing vehicles."""

    def fail(key: str, reason: str) -> ParamsError:
        return ParamsError(path, key, reason, lines.get(key))

    type_ids = [t.id for t in scenario.vehicle_types]
    if len(set(type_ids)) != len(type_ids):
        raise fail("vehicle_types", "duplicate vehicle type IDs")
    groups: list[tuple[str, Sequence[FlowSpec | PrefillSpec | VehicleSpec | CavSpec]]] = [
        ("demand.flows", scenario.demand.flows), ("demand.prefill", scenario.demand.prefill),
        ("demand.vehicles", scenario.demand.vehicles), ("cavs", scenario.cavs)]
    seen: set[str] = set()
    for group, specs in groups:
        for index, spec in enumerate(specs):
            key = f"{group}[{index}]"
            if spec.type not in type_ids:
                raise fail(f"{key}.type", f"unknown vehicle type '{spec.type}' (known: {', '.join(type_ids)})")
            if spec.id in seen:
                raise fail(f"{key}.id", f"duplicate ID '{spec.id}'")
            seen.add(spec.id)
    if scenario.odd is not None and not scenario.odd.bounded:
        raise fail("odd", "lists neither edges nor exits (omit it: the whole network is the domain)")
    named = {v.id for v in scenario.demand.vehicles}
    cav_ids = {c.id for c in scenario.cavs}
    for index, event in enumerate(scenario.events):
        key = f"events[{index}]"
        if isinstance(event, (CutInEvent, HardBrakeEvent, SpeedProfileEvent)):
            _check_background_vehicle(event, key, named, cav_ids, fail)
        if isinstance(event, CutInEvent) and event.target not in cav_ids:
            raise fail(f"{key}.target", f"'{event.target}' is not a CAV of this scenario")
        if isinstance(event, IncidentEvent) and event.vehicle_type not in type_ids:
            raise fail(f"{key}.vehicle_type",
                       f"unknown vehicle type '{event.vehicle_type}' (known: {', '.join(type_ids)})")
        if isinstance(event, LinkLossEvent):
            for field_key, vehicle in [("sender", event.sender)] + [(f"receivers[{i}]", r)
                                                                    for i, r in enumerate(event.receivers)]:
                if vehicle not in cav_ids:
                    raise fail(f"{key}.{field_key}",
                               f"'{vehicle}' is not a CAV of this scenario (only CAVs have radios)")
        if isinstance(event, (SensorFaultEvent, SpeedProfileEvent)) and event.cav not in cav_ids | {None}:
            raise fail(f"{key}.cav", f"'{event.cav}' is not a CAV of this scenario")
        if isinstance(event, (GhostVehicleEvent, InsiderAttackEvent)) and event.attacker not in cav_ids | named:
            raise fail(f"{key}.attacker", f"'{event.attacker}' is neither a CAV nor a vehicle of demand.vehicles")
        if isinstance(event, InsiderAttackEvent) and event.victim is not None and event.victim not in cav_ids:
            raise fail(f"{key}.victim", f"'{event.victim}' is not a CAV of this scenario")
        if isinstance(event, RevocationEvent) and event.vehicle not in cav_ids | named:
            raise fail(f"{key}.vehicle", f"'{event.vehicle}' is neither a CAV nor a vehicle of demand.vehicles")
        if getattr(event, "time", 0.0) > scenario.duration:
            raise fail(f"{key}.time", "event time is after the scenario's duration")


def _check_background_vehicle(event: CutInEvent | HardBrakeEvent | SpeedProfileEvent, key: str, named: set[str],
                              cav_ids: set[str], fail: Callable[[str, str], ParamsError]) -> None:
    vehicle = event.vehicle
    if isinstance(event, HardBrakeEvent) and vehicle.startswith(LEADER_OF_PREFIX):
        if vehicle[len(LEADER_OF_PREFIX):] not in cav_ids:
            raise fail(f"{key}.vehicle", f"'{vehicle}' does not name a CAV of this scenario")
    elif vehicle not in named:
        raise fail(f"{key}.vehicle", f"'{vehicle}' is not a vehicle of demand.vehicles")
