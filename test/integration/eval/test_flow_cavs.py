"""Flows with a CAV share, closed loop: the stack takes each drawn CAV over as it enters and releases
it when it leaves; the motorway bottleneck measures its discharge flow."""
from __future__ import annotations

import pytest
import yaml

from cav_stack.app.runner import run_scenario
from cav_stack.world.scenario import flow_cavs, load_scenario, scenarios_dir


def _light_bottleneck(tmp_path):
    """motorway_bottleneck_p50 with light demand (a few CAVs at a time) for 40 s."""
    data = yaml.safe_load((scenarios_dir() / "motorway_bottleneck_p50.yaml").read_text(encoding="utf-8"))
    data["network"] = str(scenarios_dir() / data["network"])
    data["name"] = "light_bottleneck"
    data["duration"] = 40.0
    data["detector"]["warmup"] = 10.0
    main, ramp = data["demand"]["flows"]
    main.update(vehs_per_hour=900.0, end=40.0)
    ramp.update(vehs_per_hour=240.0, end=40.0)
    path = tmp_path / "light_bottleneck.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_stack_takes_over_and_releases_flow_cavs(tmp_path):
    path = _light_bottleneck(tmp_path)
    spec = load_scenario(path)
    report = run_scenario(path, seed=None, out_dir=tmp_path / "run", controller="stack").report
    drawn = {cav.id for cav in flow_cavs(spec, spec.seed)}
    assert report["collisions"] == 0
    assert set(report["cavs"]) <= drawn and len(report["cavs"]) >= 4
    counts = report["flow_cavs"]
    assert counts["taken_over"] == len(report["cavs"])
    assert counts["released"] >= 2 and counts["max_at_once"] < counts["taken_over"]
    left = [cav for cav in report["cavs"].values() if cav["travel_time_s"] is not None]
    assert len(left) == counts["released"] and all(cav["route_completed"] for cav in left)
    assert all(cav["mean_speed_mps"] > 15.0 for cav in report["cavs"].values())
    assert report["modes"] is not None                        # the stack's mode selectors drove them
    assert 0.0 < report["cav_share"] < 1.0


def test_bottleneck_measures_its_discharge_flow(tmp_path):
    report = run_scenario("motorway_bottleneck_p0", seed=None, out_dir=tmp_path / "p0", controller="sumo_acc").report
    assert report["detector_window_s"] == pytest.approx([25.0, 70.05], abs=0.06)
    assert 1800.0 < report["throughput_veh_h_lane"] < 2700.0
    assert report["cav_share"] == 0.0 and report["cavs"] == {} and report["collisions"] == 0


def test_sumo_baseline_drives_the_flow_cavs(tmp_path):
    report = run_scenario("motorway_bottleneck_p100", seed=None, out_dir=tmp_path / "p100", duration_s=35.0,
                          controller="sumo_cacc").report
    assert report["cav_share"] == 1.0 and len(report["cavs"]) >= 30
    assert report["flow_cavs"] is None                        # SUMO's CACC model drove them, not the stack
    assert report["throughput_veh_h_lane"] > 0.0 and report["collisions"] == 0
