"""Evaluating OpenSCENARIO conditions and triggers on the world truth.

Distances are between entity boxes in ``map`` [m] (truth positions are box centres): in the
``entity`` coordinate system of the triggering entity, longitudinal along its heading and lateral
along its left normal; with ``freespace`` the half lengths (longitudinal, Euclidean) or half widths
(lateral) of both boxes are subtracted: negative while the boxes overlap in that direction (a
cut-in triggered at a longitudinal free space below 0 m starts side by side). Time headway [s] is
the longitudinal distance to an entity ahead divided by the triggering entity's speed (infinite
when behind or stopped).
A condition's edge is taken between consecutive evaluations (none on the first); its ``delay`` [s]
makes it report the edged value it had ``delay`` earlier.
"""
from __future__ import annotations

import math
from collections.abc import Callable

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.world.openscenario.storyboard import (Condition, RelativeDistanceCondition, SimulationTimeCondition,
                                                     StoryboardElementStateCondition, TimeHeadwayCondition, Trigger)

RULES: dict[str, Callable[[float, float], bool]] = {
    "greaterThan": lambda a, b: a > b, "lessThan": lambda a, b: a < b, "equalTo": lambda a, b: abs(a - b) < 1e-9,
    "greaterOrEqual": lambda a, b: a >= b, "lessOrEqual": lambda a, b: a <= b,
    "notEqualTo": lambda a, b: abs(a - b) >= 1e-9,
}
#: State queries: (element type, name, state or transition) -> whether it holds at this evaluation.
StateQuery = Callable[[str, str, str], bool]


def relative_distance(me: VehicleTruth, other: VehicleTruth, distance_type: str, freespace: bool) -> float:
    """Distance [m] from ``me`` to ``other`` (module docstring); longitudinal and lateral are signed
    (ahead / left positive) without freespace; with it, the gap between the boxes (negative: overlap)."""
    dx, dy = other.x - me.x, other.y - me.y
    c, s = math.cos(me.yaw), math.sin(me.yaw)
    if distance_type == "longitudinal":
        along = dx * c + dy * s
        return abs(along) - 0.5 * (me.length + other.length) if freespace else along
    if distance_type == "lateral":
        side = -dx * s + dy * c
        return abs(side) - 0.5 * (me.width + other.width) if freespace else side
    euclid = math.hypot(dx, dy)
    return euclid - 0.5 * (me.length + other.length) if freespace else euclid


def time_headway(me: VehicleTruth, other: VehicleTruth, freespace: bool) -> float:
    """Time headway [s] of ``me`` to ``other`` (module docstring)."""
    along = relative_distance(me, other, "longitudinal", False)
    if along <= 0.0 or me.speed <= 1e-6:
        return math.inf
    if freespace:
        along = max(along - 0.5 * (me.length + other.length), 0.0)
    return along / me.speed


class ConditionTracker:
    """Edges and delays of every condition of a storyboard, evaluated on the world truth."""

    def __init__(self, states: StateQuery):
        self._states = states
        self._previous: dict[int, bool] = {}
        self._history: dict[int, list[tuple[float, bool]]] = {}

    def trigger(self, trigger: Trigger, now: float, truth: WorldTruth) -> bool:
        """Whether ``trigger`` fires at ``now`` [s]; every condition is evaluated (edges need it)."""
        results = [[self.condition(c, now, truth) for c in group] for group in trigger.groups]
        return any(all(group) for group in results if group)

    def condition(self, condition: Condition, now: float, truth: WorldTruth) -> bool:
        key = id(condition)
        value = self._raw(condition, now, truth)
        previous = self._previous.get(key)
        self._previous[key] = value
        if condition.edge == "none":
            edged = value
        elif previous is None:
            edged = False
        elif condition.edge == "rising":
            edged = value and not previous
        elif condition.edge == "falling":
            edged = previous and not value
        else:
            edged = value != previous
        if condition.delay <= 0.0:
            return edged
        history = self._history.setdefault(key, [])
        history.append((now, edged))
        due = [k for k, (t, _) in enumerate(history) if t <= now - condition.delay + 1e-6]
        if not due:
            return False
        del history[:due[-1]]          # keep the sample due now and the later ones
        return history[0][1]

    def _raw(self, condition: Condition, now: float, truth: WorldTruth) -> bool:
        kind = condition.kind
        if isinstance(kind, SimulationTimeCondition):
            return RULES[kind.rule](now, kind.value)
        if isinstance(kind, StoryboardElementStateCondition):
            return self._states(kind.element_type, kind.ref, kind.state)
        reference = truth.vehicle(kind.entity)
        if reference is None:
            return False
        values = []
        for name in kind.triggering:
            me = truth.vehicle(name)
            if me is None:
                values.append(False)
                continue
            if isinstance(kind, RelativeDistanceCondition):
                measured = relative_distance(me, reference, kind.distance_type, kind.freespace)
            else:
                assert isinstance(kind, TimeHeadwayCondition)
                measured = time_headway(me, reference, kind.freespace)
            values.append(RULES[kind.rule](measured, kind.value))
        return any(values) if kind.any_triggers else all(values)
