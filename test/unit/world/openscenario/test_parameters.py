"""Parameter declarations: defaults as expressions, ``--param`` overrides, ConstraintGroups."""
import xml.etree.ElementTree as ET

import pytest

from cav_stack.world.openscenario.expressions import ExpressionError
from cav_stack.world.openscenario.parameters import read_declarations, resolve_parameters, violated_constraint

DECLARATIONS = read_declarations(ET.fromstring("""
<ParameterDeclarations>
  <ParameterDeclaration name="Speed_kph" parameterType="double" value="60.0">
    <ConstraintGroup>
      <ValueConstraint rule="greaterThan" value="0.0"/>
      <ValueConstraint rule="lessOrEqual" value="60.0"/>
    </ConstraintGroup>
  </ParameterDeclaration>
  <ParameterDeclaration name="Lane" parameterType="int" value="-1">
    <ConstraintGroup><ValueConstraint rule="equalTo" value="-1"/></ConstraintGroup>
    <ConstraintGroup><ValueConstraint rule="equalTo" value="1"/></ConstraintGroup>
  </ParameterDeclaration>
  <ParameterDeclaration name="Lateral_mps" parameterType="double" value="2.0">
    <ConstraintGroup><ValueConstraint rule="lessThan" value="${$Speed_kph / 3.6}"/></ConstraintGroup>
  </ParameterDeclaration>
  <ParameterDeclaration name="Speed_mps" parameterType="double" value="${$Speed_kph / 3.6}"/>
  <ParameterDeclaration name="Model" parameterType="string" value="car"/>
</ParameterDeclarations>"""))


def test_defaults_and_expressions_over_earlier_declarations():
    values = resolve_parameters(DECLARATIONS, {})
    assert values == {"Speed_kph": 60.0, "Lane": -1.0, "Lateral_mps": 2.0, "Speed_mps": pytest.approx(60 / 3.6),
                      "Model": "car"}
    assert violated_constraint(DECLARATIONS, values) is None


def test_overrides_reach_dependent_values():
    values = resolve_parameters(DECLARATIONS, {"Speed_kph": "36", "Model": "truck"})
    assert values["Speed_mps"] == pytest.approx(10.0)
    assert values["Model"] == "truck"


@pytest.mark.parametrize("overrides, violated", [
    ({"Speed_kph": "70"}, "Speed_kph=70.0 violates greaterThan 0.0 and lessOrEqual 60.0"),
    ({"Lane": "2"}, "Lane=2.0 violates equalTo -1 or equalTo 1"),
    ({"Speed_kph": "5", "Lateral_mps": "2.0"}, "Lateral_mps=2.0 violates lessThan"),
])
def test_constraint_groups_are_alternatives_of_conjunctions(overrides, violated):
    assert violated in violated_constraint(DECLARATIONS, resolve_parameters(DECLARATIONS, overrides))


def test_bad_overrides_are_named():
    with pytest.raises(ExpressionError, match="--param Nope: no such parameter"):
        resolve_parameters(DECLARATIONS, {"Nope": "1"})
    with pytest.raises(ExpressionError, match="parameter 'Lane' \\(int\\): bad value '1.5'"):
        resolve_parameters(DECLARATIONS, {"Lane": "1.5"})
