"""``${...}`` expressions and parameter references, evaluated by our parser (no ``eval``) and checked
against Python's own arithmetic on random integer expressions."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cav_stack.world.openscenario.expressions import ExpressionError, evaluate, resolve_attribute

PARAMS = {"Ego_InitSpeed_Ve0_kph": 60.0, "dx": 30.0, "rel": -20.0, "name": "car"}


def test_alks_expressions():
    assert evaluate("$Ego_InitSpeed_Ve0_kph / 3.6", PARAMS) == pytest.approx(60.0 / 3.6)
    assert evaluate("$dx + (-10.0 * ($rel / 3.6))", PARAMS) == pytest.approx(30.0 + 10.0 * 20.0 / 3.6)
    assert evaluate("-$Ego_InitSpeed_Ve0_kph", PARAMS) == -60.0
    assert evaluate("5000.0 / ($Ego_InitSpeed_Ve0_kph / 3.6)", PARAMS) == pytest.approx(300.0)


def test_precedence_functions_and_logic():
    assert evaluate("1 + 2 * 3 - 4 / 2", {}) == 5.0
    assert evaluate("-2 * -3", {}) == 6.0
    assert evaluate("7 % 4", {}) == 3.0
    assert evaluate("pow(2, 10) + sqrt(16) + round(2.5) + floor(-1.5) + ceil(1.2)", {}) == 1024 + 4 + 3 - 2 + 2
    assert evaluate("1 < 2 and not 3 >= 4", {}) is True
    assert evaluate("1 == 2 or 2 != 2", {}) is False


def test_attribute_resolution():
    assert resolve_attribute("${$dx * 2}", PARAMS) == "60"
    assert resolve_attribute("$name", PARAMS) == "car"
    assert resolve_attribute("$rel", PARAMS) == "-20"
    assert resolve_attribute("${$Ego_InitSpeed_Ve0_kph / 3.6}", PARAMS) == repr(60.0 / 3.6)
    assert resolve_attribute("plain text", PARAMS) == "plain text"


@pytest.mark.parametrize("text, reason", [
    ("$missing + 1", "undeclared parameter '$missing'"),
    ("1 / 0", "division by zero"),
    ("1 +", "expected a value"),
    ("(1 + 2", "expected )"),
    ("__import__('os')", "unexpected"),
    ("sqrt(1, 2)", "takes 1 argument"),
    ("$name * 2", "is not a number"),
])
def test_errors_name_the_problem(text, reason):
    with pytest.raises(ExpressionError, match=reason.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")):
        evaluate(text, PARAMS)


def _expressions():
    leaf = st.integers(min_value=-50, max_value=50).map(str)
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"-{e}")), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(_expressions())
def test_integer_arithmetic_matches_python(text):
    expected = eval(text, {"__builtins__": {}})  # noqa: S307 - the independent reference, on generated digits only
    assert math.isclose(evaluate(text, {}), float(expected), rel_tol=1e-12, abs_tol=1e-9)
