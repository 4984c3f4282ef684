"""v2x/security.yaml: units converted on load, inconsistent values refused with file and key."""
from __future__ import annotations

import math

import pytest

from cav_stack.core.params import ParamsError
from cav_stack.v2x.trust_params import load_trust_params

from envelope_forgery import REPO_ROOT


def test_units_are_converted_to_si(trust_params):
    assert trust_params.security.max_age == pytest.approx(1.0)         # max_age_ms: 1000
    assert trust_params.misbehaviour.max_speed == pytest.approx(250 / 3.6)
    assert trust_params.misbehaviour.max_heading_error == pytest.approx(math.radians(30.0))


@pytest.mark.parametrize("old, new, key", [
    ("position_sigma_max: 3.0", "position_sigma_max: 0.1", "misbehaviour"),
    ("evidence_count: 3", "evidence_count: 0", "misbehaviour"),
    ("\n      window: 1.0", "\n      window: -1.0", "link_quality"),
    ("max_future_ms: 100.0", "max_future_ms: fast", "security.max_future_ms"),
    ("pseudonyms_per_station: 20", "pseudonyms_per_station: 0", "seeded_pki"),
])
def test_bad_values_name_file_and_key(tmp_path, old, new, key):
    text = (REPO_ROOT / "v2x" / "security.yaml").read_text()
    assert old in text
    path = tmp_path / "security.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ParamsError, match=key) as error:
        load_trust_params(path)
    assert str(path) in str(error.value)
