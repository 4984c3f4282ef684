"""Scenario truth on real SUMO runs: highway_cut_in's cut-in comes 10-20 m ahead of the CAV in
every seed and for both the stack and the IDM baseline, whatever lane the CAV drives in; an event
that cannot happen, or misses its expectation, fails ``cav-stack drive`` (exit 1, reason in the
report), while the same scenario without it passes.

CI cost: 6 runs of 30 s simulated (highway_cut_in) and 3 runs of 5 s (hidden_brake copies).
"""
from __future__ import annotations

import json

import pytest
import yaml

from cav_stack.app.cli import main
from cav_stack.app.exit_codes import ExitCode
from cav_stack.app.runner import run_scenario
from cav_stack.world.scenario import load_scenario, scenarios_dir

CUT_IN_SEEDS = (7, 8, 9)
CUT_IN_DURATION_S = 30.0


@pytest.mark.parametrize("controller", ["stack", "idm_baseline"])
def test_highway_cut_in_cuts_in_10_to_20_m_ahead_in_every_seed(controller, tmp_path):
    (cut_in,) = load_scenario("highway_cut_in").events
    for seed in CUT_IN_SEEDS:
        report = run_scenario("highway_cut_in", seed=seed, out_dir=tmp_path / f"seed_{seed}",
                              duration_s=CUT_IN_DURATION_S, controller=controller).report
        (event,) = report["events"]
        print(f"\n{controller} seed {seed}: cut-in at {event['started_s']} s, gap {event['gap_m']} m, lanes "
              f"{event['actor_lane']} -> {event['cav_lane']}")
        assert event["happened"] and event["as_expected"], (seed, event)
        assert 10.0 <= event["gap_m"] <= 20.0 and event["started_s"] >= cut_in.time
        assert abs(event["actor_lane"] - event["cav_lane"]) == 1       # from the lane next to the CAV's
        assert report["events_not_as_scripted"] == [] and report["collisions"] == 0


def _hidden_brake_copy(tmp_path, name: str, event: dict, late_vehicle: bool = False):
    data = yaml.safe_load((scenarios_dir() / "hidden_brake.yaml").read_text(encoding="utf-8"))
    data.update(name=name, network=str(scenarios_dir() / data["network"]), duration=5.0)
    if late_vehicle:        # a vehicle that departs long after the run has ended
        data["demand"]["vehicles"].append({"id": "late", "type": "car", "route": ["sl_0", "sl_1", "sl_2"],
                                           "depart": 100.0, "depart_lane": 0, "depart_pos": 10.0,
                                           "depart_speed": 25.0})
    data["events"] = [{"type": "hard_brake", "time": 2.0, "decel": 6.0, "to_speed": 15.0, "hold": 1.0, **event}]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _drive(path, out, capsys) -> tuple[int, str, dict]:
    code = main(["drive", "--scenario", str(path), "--controller", "idm_baseline", "--quiet", "--out", str(out)])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return int(code), capsys.readouterr().err, report


def test_events_that_cannot_happen_fail_the_run_and_pass_without_them(tmp_path, capsys):
    plain = _hidden_brake_copy(tmp_path, "brake_plain", {"vehicle": "lead"})
    code, err, report = _drive(plain, tmp_path / "plain", capsys)
    assert code == ExitCode.OK and err == "" and report["events"][0]["happened"]
    gap = report["events"][0]["gap_m"]
    assert report["events"][0]["cav"] == "cav_0" and 60.0 < gap < 120.0   # lead is ahead of the truck

    impossible = _hidden_brake_copy(tmp_path, "brake_far", {"vehicle": "lead", "expect": {"gap_m": [500.0, 600.0]}})
    code, err, report = _drive(impossible, tmp_path / "far", capsys)
    (event,) = report["events"]
    assert code == ExitCode.FAILURE and event["happened"] and event["as_expected"] is False
    assert "gap_m" in event["reason"] and "outside [500, 600]" in event["reason"]
    assert report["events_not_as_scripted"] and "not as scripted" in err and err.count("\n") == 1

    absent = _hidden_brake_copy(tmp_path, "brake_absent", {"vehicle": "late"}, late_vehicle=True)
    code, err, report = _drive(absent, tmp_path / "absent", capsys)
    (event,) = report["events"]
    assert code == ExitCode.FAILURE and not event["happened"] and event["started_s"] is None
    assert event["reason"].startswith("no vehicle 'late' in the world at 2.00 s")
