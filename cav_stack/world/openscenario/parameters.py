"""OpenSCENARIO parameter declarations: typed values, ``--param`` overrides and ConstraintGroups.

A declaration's value may itself be an expression over earlier declarations. Constraint groups
(OpenSCENARIO 1.2+) are alternatives: a value is valid when it satisfies every ValueConstraint of at
least one group (a declaration without groups is unconstrained). Constraint values may be
expressions too (``${-$Ego_InitSpeed_Ve0_kph}``), evaluated with the final parameter values.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from collections.abc import Mapping

from cav_stack.world.openscenario.expressions import ExpressionError, Value, resolve_attribute

PARAMETER_TYPES = ("double", "int", "unsignedInt", "unsignedShort", "string", "boolean", "dateTime")
_RULES = {
    "equalTo": lambda a, b: a == b, "greaterThan": lambda a, b: a > b, "lessThan": lambda a, b: a < b,
    "greaterOrEqual": lambda a, b: a >= b, "lessOrEqual": lambda a, b: a <= b, "notEqualTo": lambda a, b: a != b,
}


@dataclass(frozen=True)
class ValueConstraint:
    """``value`` (text, may be an expression) compared with ``rule`` (equalTo, lessThan...)."""

    rule: str
    value: str


@dataclass(frozen=True)
class ParameterDeclaration:
    """A declared parameter: ``name``, OpenSCENARIO ``type``, default ``value`` (text) and its
    constraint groups (alternatives; each a conjunction of constraints)."""

    name: str
    type: str
    value: str
    constraint_groups: tuple[tuple[ValueConstraint, ...], ...] = ()


def read_declarations(element: ET.Element | None) -> tuple[ParameterDeclaration, ...]:
    """The ParameterDeclaration children of a ParameterDeclarations element (None: none)."""
    if element is None:
        return ()
    declarations = []
    for child in element.findall("ParameterDeclaration"):
        kind = child.get("parameterType", "string")
        if kind not in PARAMETER_TYPES:
            raise ExpressionError(f"parameter '{child.get('name')}' has unknown parameterType '{kind}'")
        groups = tuple(tuple(ValueConstraint(c.get("rule", ""), c.get("value", ""))
                             for c in group.findall("ValueConstraint"))
                       for group in child.findall("ConstraintGroup"))
        declarations.append(ParameterDeclaration(child.get("name", ""), kind, child.get("value", ""), groups))
    return tuple(declarations)


def typed(declaration: ParameterDeclaration, text: str) -> Value:
    """``text`` converted to the declaration's type (ExpressionError naming the parameter)."""
    try:
        if declaration.type == "double":
            return float(text)
        if declaration.type in ("int", "unsignedInt", "unsignedShort"):
            number = float(text)
            if not number.is_integer():
                raise ValueError("not an integer")
            return float(int(number))
        if declaration.type == "boolean":
            if text not in ("true", "false"):
                raise ValueError("not true/false")
            return text == "true"
    except ValueError as exc:
        raise ExpressionError(f"parameter '{declaration.name}' ({declaration.type}): "
                              f"bad value '{text}' ({exc})") from None
    return text


def resolve_parameters(declarations: tuple[ParameterDeclaration, ...],
                       overrides: Mapping[str, str]) -> dict[str, Value]:
    """Parameter values in declaration order: each default (possibly an expression over the
    earlier ones) or its override. Raises ExpressionError for an override of an undeclared name."""
    declared = {d.name for d in declarations}
    unknown = sorted(set(overrides) - declared)
    if unknown:
        raise ExpressionError(f"--param {unknown[0]}: no such parameter (declared: {', '.join(sorted(declared))})")
    values: dict[str, Value] = {}
    for declaration in declarations:
        text = overrides.get(declaration.name, declaration.value)
        values[declaration.name] = typed(declaration, resolve_attribute(text, values))
    return values


def violated_constraint(declarations: tuple[ParameterDeclaration, ...], values: Mapping[str, Value]) -> str | None:
    """The first declaration whose value satisfies none of its constraint groups, described as
    ``name=value violates rule value [or ...]``; None when every constraint holds."""
    for declaration in declarations:
        if not declaration.constraint_groups:
            continue
        value = values[declaration.name]
        if any(all(_holds(declaration, value, c, values) for c in group) for group in declaration.constraint_groups):
            continue
        failed = " or ".join(" and ".join(f"{c.rule} {resolve_attribute(c.value, values)}" for c in group)
                             for group in declaration.constraint_groups)
        return f"{declaration.name}={value!s} violates {failed}"
    return None


def _holds(declaration: ParameterDeclaration, value: Value, constraint: ValueConstraint,
           values: Mapping[str, Value]) -> bool:
    rule = _RULES.get(constraint.rule)
    if rule is None:
        raise ExpressionError(f"parameter '{declaration.name}': unknown constraint rule '{constraint.rule}'")
    bound_text = resolve_attribute(constraint.value, values)
    if isinstance(value, str):
        return bool(rule(value, bound_text))
    return bool(rule(float(value), float(bound_text)))
