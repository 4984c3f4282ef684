"""Flows with a CAV share: parsing (one-line errors naming the key) and the seeded draw of the CAVs."""
from __future__ import annotations

import dataclasses

import pytest
import yaml

from cav_stack.core.params import ParamsError
from cav_stack.world.scenario import (FlowSpec, carries_cavs, drawn_vehicles, flow_cavs, load_scenario,
                                     scenarios_dir)
from cav_stack.world.scenario.flow_share import departures, flow_vehicles

FAMILY = [f"motorway_bottleneck_p{p}" for p in (0, 25, 50, 75, 100)]


def _flow(share: float, rate: float = 3600.0, end: float = 100.0) -> FlowSpec:
    return FlowSpec("mix", "car", ("e0",), 0.0, end, rate, "best", "max", cav_share=share, cav_type="cav")


def _bottleneck_with(tmp_path, **flow_fields):
    data = yaml.safe_load((scenarios_dir() / "motorway_bottleneck_p50.yaml").read_text(encoding="utf-8"))
    data["network"] = str(scenarios_dir() / data["network"])
    data["demand"]["flows"][0].update(flow_fields)
    path = tmp_path / "motorway_bottleneck_p50.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_departures_are_evenly_spaced_before_the_end():
    times = departures(_flow(0.5, rate=1200.0, end=10.0))
    assert times.tolist() == pytest.approx([0.0, 3.0, 6.0, 9.0])


def test_draw_is_reproducible_from_the_seed_and_nested_across_shares():
    quarter = flow_vehicles(_flow(0.25), 0, seed=7)
    assert quarter == flow_vehicles(_flow(0.25), 0, seed=7)
    assert [v.is_cav for v in quarter] != [v.is_cav for v in flow_vehicles(_flow(0.25), 0, seed=8)]
    half = flow_vehicles(_flow(0.5), 0, seed=7)
    assert {v.id for v in quarter if v.is_cav} < {v.id for v in half if v.is_cav}
    assert [v.depart for v in quarter] == [v.depart for v in half]
    assert all(v.type == ("cav" if v.is_cav else "car") for v in half)
    assert not any(v.is_cav for v in flow_vehicles(_flow(0.0), 0, seed=7))
    assert all(v.is_cav for v in flow_vehicles(_flow(1.0), 0, seed=7))
    assert 0.35 < sum(v.is_cav for v in half) / len(half) < 0.65      # 100 draws, p = 0.5: within 3 sigma


def test_each_flow_draws_from_its_own_stream():
    first, second = flow_vehicles(_flow(0.5), 0, seed=7), flow_vehicles(_flow(0.5), 1, seed=7)
    assert [v.is_cav for v in first] != [v.is_cav for v in second]


def test_family_differs_only_in_the_share():
    specs = [load_scenario(name) for name in FAMILY]
    shares = [[f.cav_share for f in s.demand.flows] for s in specs]
    assert shares == [[p, p] for p in (0.0, 0.25, 0.5, 0.75, 1.0)]
    neutral = [dataclasses.replace(s, name="x", description="x", source=scenarios_dir(), demand=dataclasses.replace(
        s.demand, flows=tuple(dataclasses.replace(f, cav_share=0.0) for f in s.demand.flows))) for s in specs]
    assert all(n == neutral[0] for n in neutral)
    assert all(carries_cavs(f) for s in specs for f in s.demand.flows)
    counts = [len(flow_cavs(s, s.seed)) for s in specs]
    assert counts[0] == 0 and counts == sorted(counts) and counts[-1] == len(drawn_vehicles(specs[-1], 41))


@pytest.mark.parametrize("fields, key, fragment", [
    ({"cav_share": 1.5}, "demand.flows[0]", "cav_share must be a share in [0, 1], got 1.5"),
    ({"cav_share": -0.1}, "demand.flows[0]", "cav_share must be a share in [0, 1]"),
    ({"cav_type": "robotaxi"}, "demand.flows[0].cav_type", "unknown vehicle type 'robotaxi' (known: car, cav)"),
    ({"cav_type": None}, "demand.flows[0]", "needs cav_type"),
])
def test_bad_share_or_type_is_one_line_naming_the_key(tmp_path, fields, key, fragment):
    with pytest.raises(ParamsError) as caught:
        load_scenario(_bottleneck_with(tmp_path, **fields))
    message = str(caught.value)
    assert "\n" not in message and key in message and fragment in message, message
