"""Params loading: values bind to dataclasses, units convert, every error names file, line, key."""
import math
from dataclasses import dataclass

import pytest

from cav_stack.core.params import ParamsError, load_node_params


@dataclass(frozen=True)
class Inner:
    gain: float


@dataclass(frozen=True)
class Example:
    speed: float
    angle: float
    count: int
    name: str
    inner: Inner
    weights: tuple[float, ...] = (1.0,)


GOOD = """\
example:
  ros__parameters:
    speed_kph: 72.0
    angle_deg: 90
    count: 3
    name: hello
    inner:
      gain: 0.5
    weights: [1, 2.5]
"""


def write(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_binds_values_and_converts_units(tmp_path):
    params = load_node_params(write(tmp_path, GOOD), "example", Example)
    assert params.speed == pytest.approx(20.0)
    assert params.angle == pytest.approx(math.pi / 2)
    assert params.count == 3 and params.name == "hello"
    assert params.inner == Inner(0.5)
    assert params.weights == (1.0, 2.5)


def test_wrong_type_names_file_line_and_key(tmp_path):
    path = write(tmp_path, GOOD.replace("count: 3", "count: three"))
    with pytest.raises(ParamsError) as err:
        load_node_params(path, "example", Example)
    assert err.value.key == "example.ros__parameters.count"
    assert err.value.line == 5
    assert str(path) in str(err.value) and "integer" in str(err.value)


def test_unknown_key_is_refused_with_known_keys(tmp_path):
    path = write(tmp_path, GOOD.replace("    name: hello\n", "    name: hello\n    nmae: typo\n"))
    with pytest.raises(ParamsError) as err:
        load_node_params(path, "example", Example)
    assert err.value.key.endswith("nmae") and err.value.line == 7
    assert "known:" in err.value.reason


def test_missing_required_key(tmp_path):
    path = write(tmp_path, GOOD.replace("    name: hello\n", ""))
    with pytest.raises(ParamsError) as err:
        load_node_params(path, "example", Example)
    assert err.value.key.endswith(".name") and "missing" in err.value.reason


def test_malformed_yaml_reports_line(tmp_path):
    path = write(tmp_path, GOOD.replace("    count: 3\n", "    count: [3\n"))
    with pytest.raises(ParamsError) as err:
        load_node_params(path, "example", Example)
    assert "malformed YAML" in err.value.reason
    assert err.value.line is not None and 5 <= err.value.line <= 7


def test_missing_section_and_file(tmp_path):
    with pytest.raises(ParamsError, match="no section"):
        load_node_params(write(tmp_path, GOOD), "other", Example)
    with pytest.raises(ParamsError, match="cannot read"):
        load_node_params(tmp_path / "absent.yaml", "example", Example)


def test_shipped_parameter_files_all_load(repo_root):
    from cav_stack.control.vehicle_models import load_vehicle_params
    from cav_stack.app.graph import CONTROLLERS, SIM_BRIDGE, load_params

    assert load_vehicle_params(repo_root / "controllers" / "vehicle.yaml").max_steer == pytest.approx(
        math.radians(35.0))
    for spec in (SIM_BRIDGE,) + tuple(s for specs in CONTROLLERS.values() for s in specs):
        assert load_params(spec, {}) is not None


@dataclass(frozen=True)
class Ranged:
    gain: float

    def __post_init__(self):
        if self.gain > 1.0:
            raise ValueError("gain must be <= 1")


@dataclass(frozen=True)
class WithList:
    items: tuple[Ranged, ...]


def test_range_error_in_a_list_item_names_its_line(tmp_path):
    path = write(tmp_path, "example:\n  ros__parameters:\n    items:\n      - {gain: 0.5}\n      - {gain: 1.5}\n")
    with pytest.raises(ParamsError) as err:
        load_node_params(path, "example", WithList)
    assert err.value.key.endswith("items[1]") and err.value.line == 5 and "gain must be" in err.value.reason
