"""Logical scenarios: a ParameterValueDistribution expanded into concrete runs, constraint discards
counted against a brute-force count of the template's constraints, seeded samples."""
import itertools

import pytest

from cav_stack.world.openscenario.variation import expand

VARIATION = """<?xml version="1.0"?>
<OpenSCENARIO>
  <FileHeader revMajor="1" revMinor="3" date="2026-12-07T00:00:00" description="test" author="tests"/>
  <ParameterValueDistribution>
    <ScenarioFile filepath="template.xosc"/>
    <Deterministic>
      <DeterministicSingleParameterDistribution parameterName="Speed_kph">
        <DistributionRange stepWidth="10.0"><Range lowerLimit="10.0" upperLimit="40.0"/></DistributionRange>
      </DeterministicSingleParameterDistribution>
      <DeterministicSingleParameterDistribution parameterName="Delta_kph">
        <DistributionSet><Element value="-30"/><Element value="-10"/></DistributionSet>
      </DeterministicSingleParameterDistribution>
      <DeterministicMultiParameterDistribution><ValueSetDistribution>
        <ParameterValueSet><ParameterAssignment parameterRef="Model" value="car"/>
          <ParameterAssignment parameterRef="Length_m" value="5"/></ParameterValueSet>
        <ParameterValueSet><ParameterAssignment parameterRef="Model" value="truck"/>
          <ParameterAssignment parameterRef="Length_m" value="18.75"/></ParameterValueSet>
      </ValueSetDistribution></DeterministicMultiParameterDistribution>
    </Deterministic>
  </ParameterValueDistribution>
</OpenSCENARIO>
"""
TEMPLATE = """<?xml version="1.0"?>
<OpenSCENARIO>
  <ParameterDeclarations>
    <ParameterDeclaration name="Speed_kph" parameterType="double" value="20"/>
    <ParameterDeclaration name="Delta_kph" parameterType="double" value="-10">
      <ConstraintGroup><ValueConstraint rule="greaterThan" value="${-$Speed_kph}"/></ConstraintGroup>
    </ParameterDeclaration>
    <ParameterDeclaration name="Model" parameterType="string" value="car"/>
    <ParameterDeclaration name="Length_m" parameterType="double" value="5"/>
  </ParameterDeclarations>
</OpenSCENARIO>
"""


@pytest.fixture
def expansion(tmp_path):
    (tmp_path / "template.xosc").write_text(TEMPLATE)
    (tmp_path / "variation.xosc").write_text(VARIATION)
    return expand(tmp_path / "variation.xosc")


def test_cartesian_product_in_file_order_and_constraint_discards(expansion):
    combos = list(itertools.product([10, 20, 30, 40], [-30, -10], [("car", 5), ("truck", 18.75)]))
    valid = [c for c in combos if c[1] > -c[0]]
    assert len(expansion.runs) == len(valid) and len(expansion.discarded) == len(combos) - len(valid)
    assert expansion.runs[0].params == (("Speed_kph", "20"), ("Delta_kph", "-10"), ("Model", "car"),
                                        ("Length_m", "5"))
    assert expansion.discarded[0].violation == "Delta_kph=-30.0 violates greaterThan -10"
    assert [r.index for r in expansion.runs] == sorted(r.index for r in expansion.runs)


def test_seeded_sample_is_reproducible_and_distinct(expansion):
    first, again, other = expansion.sample(5, 7), expansion.sample(5, 7), expansion.sample(5, 8)
    assert first == again and len({r.index for r in first}) == 5
    assert first != other
    assert expansion.sample(100, 1) == expansion.runs


def test_shared_cut_in_variation_counts(alks):
    expansion = expand(alks / "alks_scenario_4_4_1_cut_in_no_collision_variation.xosc")
    speeds, models, lanes = [20, 30, 40, 50, 60], 5, 2
    relative, headways, accels = [-50, -40, -30, -20, -10], 7, 5
    lateral = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    valid = sum(1 for v, dv, vy in itertools.product(speeds, relative, lateral)
                if vy < (v + dv) / 3.6 and (dv < 0 or dv > -v)) * models * lanes * headways * accels
    assert len(expansion.runs) == valid
    assert len(expansion.runs) + len(expansion.discarded) == 5 * 5 * 2 * 5 * 7 * 6 * 5
