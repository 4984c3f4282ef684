"""Scenario loading: the shipped scenarios, error messages naming file/line/key, event semantics."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from cav_stack.core.params import ParamsError
from cav_stack.world.scenario import (CutInEvent, SpeedProfileEvent, UnknownScenarioError,
                                     list_scenarios, load_scenario, scenarios_dir)

SHIPPED = ("highway_cut_in", "platoon", "signalized_corridor")


def _write(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _platoon_copy() -> dict:
    data = yaml.safe_load((scenarios_dir() / "platoon.yaml").read_text(encoding="utf-8"))
    data["network"] = str(scenarios_dir() / data["network"])
    return data


def test_shipped_scenarios_are_listed_and_load():
    assert set(SHIPPED) <= set(list_scenarios())
    for name in SHIPPED:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.network_dir.is_dir()
        assert scenario.metrics and "\n" not in scenario.description
        assert scenario.cavs[0].id == "cav_0"


def test_highway_cut_in_matches_the_brief():
    scenario = load_scenario("highway_cut_in")
    cav = scenario.cav("cav_0")
    assert cav.depart_lane == 1 and 25.0 <= cav.depart_speed <= 28.0
    (cut_in,) = scenario.events
    assert isinstance(cut_in, CutInEvent) and cut_in.target == "cav_0" and 12.0 <= cut_in.gap <= 18.0
    assert 60.0 <= scenario.duration <= 90.0


def test_platoon_of_eight_cavs_starts_at_acc_spacing():
    scenario = load_scenario("platoon")
    cavs = scenario.cavs
    assert [c.id for c in cavs] == [f"cav_{i}" for i in range(8)]
    leader = scenario.demand.vehicles[0]
    fronts = [leader.depart_pos] + [c.depart_pos for c in cavs]
    lengths = [scenario.vehicle_type(leader.type).length] + [scenario.vehicle_type(c.type).length for c in cavs]
    for k, cav in enumerate(cavs):
        gap = fronts[k] - lengths[k] - fronts[k + 1]
        assert gap / cav.depart_speed == pytest.approx(1.6)    # the platoon forms from ACC spacing


def test_unknown_scenario_lists_the_available_ones():
    with pytest.raises(UnknownScenarioError) as info:
        load_scenario("no_such_scenario")
    for name in SHIPPED:
        assert name in str(info.value)
    assert info.value.available == list_scenarios()


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\ndescription: x\nmetrics: [a, b\nseed: 1\n", encoding="utf-8")
    with pytest.raises(ParamsError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert info.value.line in (3, 4, 5)


def test_wrong_type_names_key_and_line(tmp_path):
    data = _platoon_copy()
    data["cavs"][2]["depart_speed"] = "fast"
    path = _write(tmp_path, "platoon", data)
    with pytest.raises(ParamsError) as info:
        load_scenario(path)
    assert info.value.key == "cavs[2].depart_speed"
    text = path.read_text(encoding="utf-8").splitlines()
    assert "fast" in text[info.value.line - 1]


@pytest.mark.parametrize("mutate, key", [
    (lambda d: d["cavs"][0].update(type="bus"), "cavs[0].type"),
    (lambda d: d["events"][0].update(vehicle="ghost"), "events[0].vehicle"),
    (lambda d: d["events"][0].update(type="teleport"), "events[0].type"),
    (lambda d: d.update(name="other"), "name"),
    (lambda d: d["cavs"][1].update(id="cav_0"), "cavs[1].id"),
    (lambda d: d.update(unexpected=1), "unexpected"),
])
def test_invalid_content_names_the_key(tmp_path, mutate, key):
    data = _platoon_copy()
    mutate(data)
    with pytest.raises(ParamsError) as info:
        load_scenario(_write(tmp_path, "platoon", data))
    assert info.value.key == key
    assert info.value.line is not None


def test_out_of_range_value_names_the_item_and_reason(tmp_path):
    data = _platoon_copy()
    data["vehicle_types"][0]["sigma"] = 1.5
    with pytest.raises(ParamsError) as info:
        load_scenario(_write(tmp_path, "platoon", data))
    assert info.value.key == "vehicle_types[0]"
    assert "sigma must be in [0, 1]" in str(info.value)


def test_missing_file_is_a_params_error(tmp_path):
    with pytest.raises(ParamsError, match="does not exist"):
        load_scenario(tmp_path / "nothing.yaml")


def test_speed_profile_interpolates_like_numpy():
    points = ((2.0, 25.0), (5.0, 19.0), (9.0, 19.0), (12.0, 28.0))
    profile = SpeedProfileEvent(vehicle="leader", points=points)
    times = np.linspace(2.0, 20.0, 181)
    expected = np.interp(times, [p[0] for p in points], [p[1] for p in points])
    assert np.allclose([profile.speed_at(t) for t in times], expected)
    assert profile.speed_at(1.99) is None


def test_speed_profile_rejects_unordered_times():
    with pytest.raises(ValueError, match="increasing"):
        SpeedProfileEvent(vehicle="leader", points=((0.0, 20.0), (0.0, 25.0)))


def test_scenarios_dir_is_the_source_tree_folder():
    assert scenarios_dir() == Path(__file__).resolve().parents[3] / "scenarios"
