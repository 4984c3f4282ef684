"""Logical OpenSCENARIO scenarios: a ParameterValueDistribution over a template's parameters,
expanded into concrete runs.

Supported: ``Deterministic`` distributions made of DeterministicSingleParameterDistributions
(``DistributionRange``: lower to upper limit inclusive in ``stepWidth`` steps; ``DistributionSet``:
listed elements) and DeterministicMultiParameterDistributions (``ValueSetDistribution``: each
ParameterValueSet assigns several parameters together). The runs are the Cartesian product of
the distributions in file order, the last varying fastest; a run whose values violate the
template's ConstraintGroups is discarded with the violated constraint. Anything else (stochastic
distributions, user-defined ones) is an :class:`UnsupportedElementError`.
"""
from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cav_stack.world.openscenario.expressions import ExpressionError, format_value
from cav_stack.world.openscenario.parameters import read_declarations, resolve_parameters, violated_constraint
from cav_stack.world.openscenario.reader import OpenScenarioError, UnsupportedElementError, parse_document

#: Tolerance [fraction of a step] for the upper limit of a DistributionRange.
_RANGE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ConcreteRun:
    """One concrete run of a logical scenario: its ``index`` in the expansion and the parameter
    values it sets (name, value text)."""

    index: int
    params: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Discarded:
    """A combination outside the template's constraints and the constraint it violates."""

    run: ConcreteRun
    violation: str


@dataclass(frozen=True)
class Expansion:
    """The concrete runs of a logical scenario (``template``: the concrete scenario file)."""

    template: Path
    runs: tuple[ConcreteRun, ...]
    discarded: tuple[Discarded, ...]

    def sample(self, count: int, seed: int) -> tuple[ConcreteRun, ...]:
        """``count`` runs drawn without replacement with ``numpy.random.default_rng(seed)``, in
        expansion order (all runs when ``count`` is at least their number)."""
        if count >= len(self.runs):
            return self.runs
        picked = np.random.default_rng(seed).choice(len(self.runs), size=count, replace=False)
        return tuple(self.runs[int(i)] for i in sorted(picked))


def is_logical(path: str | Path) -> bool:
    """Whether an OpenSCENARIO file holds a ParameterValueDistribution."""
    return parse_document(Path(path)).find("ParameterValueDistribution") is not None


def _range_values(element: ET.Element, path: Path) -> list[str]:
    step = float(element.get("stepWidth", "nan"))
    bounds = element.find("Range")
    if bounds is None or not step > 0.0:
        raise OpenScenarioError(f"{path}: a DistributionRange needs a Range and a stepWidth > 0")
    low, high = float(bounds.get("lowerLimit", "nan")), float(bounds.get("upperLimit", "nan"))
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise OpenScenarioError(f"{path}: DistributionRange limits must satisfy lowerLimit <= upperLimit")
    count = int(math.floor((high - low) / step + _RANGE_TOLERANCE)) + 1
    return [format_value(round(low + k * step, 9)) for k in range(count)]


Assignments = tuple[tuple[str, str], ...]


def _distributions(deterministic: ET.Element, path: Path) -> list[list[Assignments]]:
    """Per distribution, its alternatives, each a tuple of (parameter, value) assignments."""
    axes: list[list[Assignments]] = []
    for distribution in deterministic:
        if distribution.tag == "DeterministicSingleParameterDistribution":
            name = distribution.get("parameterName", "")
            kind = next(iter(distribution), None)
            if kind is None:
                raise OpenScenarioError(f"{path}: distribution of '{name}' is empty")
            if kind.tag == "DistributionRange":
                values = _range_values(kind, path)
            elif kind.tag == "DistributionSet":
                values = [e.get("value", "") for e in kind.findall("Element")]
            else:
                raise UnsupportedElementError(kind.tag, path, "DeterministicSingleParameterDistribution")
            axes.append([((name, v),) for v in values])
        elif distribution.tag == "DeterministicMultiParameterDistribution":
            value_sets = next(iter(distribution), None)
            if value_sets is None or value_sets.tag != "ValueSetDistribution":
                raise UnsupportedElementError(getattr(value_sets, "tag", "(empty)"), path,
                                              "DeterministicMultiParameterDistribution")
            axes.append([tuple((a.get("parameterRef", ""), a.get("value", "")) for a in value_set)
                         for value_set in value_sets.findall("ParameterValueSet")])
        else:
            raise UnsupportedElementError(distribution.tag, path, "Deterministic")
    return axes


def expand(path: str | Path) -> Expansion:
    """Expand the logical scenario ``path`` (module docstring). Raises OpenScenarioError."""
    path = Path(path).resolve()
    root = parse_document(path)
    distribution = root.find("ParameterValueDistribution")
    if distribution is None:
        raise OpenScenarioError(f"{path} has no ParameterValueDistribution (a concrete scenario?)")
    for child in distribution:
        if child.tag not in ("ScenarioFile", "Deterministic"):
            raise UnsupportedElementError(child.tag, path, "ParameterValueDistribution")
    scenario_file = distribution.find("ScenarioFile")
    deterministic = distribution.find("Deterministic")
    if scenario_file is None or deterministic is None:
        raise OpenScenarioError(f"{path}: needs a ScenarioFile and a Deterministic distribution")
    template = (path.parent / scenario_file.get("filepath", "")).resolve()
    if not template.is_file():
        raise OpenScenarioError(f"{path}: template {template} does not exist")
    try:
        declarations = read_declarations(parse_document(template).find("ParameterDeclarations"))
    except ExpressionError as exc:
        raise OpenScenarioError(f"{template}: {exc}") from None
    declared = {d.name for d in declarations}
    runs, discarded = [], []
    for index, combination in enumerate(itertools.product(*_distributions(deterministic, path))):
        params = tuple(assignment for group in combination for assignment in group)
        run = ConcreteRun(index, params)
        unknown = [name for name, _ in params if name not in declared]
        if unknown:
            raise OpenScenarioError(f"{path}: parameter '{unknown[0]}' is not declared in {template.name}")
        try:
            violation = violated_constraint(declarations, resolve_parameters(declarations, dict(params)))
        except ExpressionError as exc:
            violation = str(exc)
        if violation is None:
            runs.append(run)
        else:
            discarded.append(Discarded(run, violation))
    return Expansion(template, tuple(runs), tuple(discarded))
