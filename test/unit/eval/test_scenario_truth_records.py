"""Scenario truth: the report's ``events`` from the world's event log, expectations, the situation
measured at an event's start, and the YAML keys of expectations."""
from __future__ import annotations

import pytest
import yaml

from cav_stack.core.params import ParamsError
from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.eval.scenario_events import event_records, not_applicable, not_as_scripted
from cav_stack.sim.sumo_events import EVENT_MISSED, EventRecord
from cav_stack.world.scenario import (EventExpectation, GhostVehicleEvent, SensorFaultEvent, load_scenario,
                                     scenarios_dir, situation)


def _scenario(tmp_path, events: list[dict], name: str = "hidden_brake"):
    data = yaml.safe_load((scenarios_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    data["network"] = str(scenarios_dir() / data["network"])
    data["events"] = events
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_scenario(path)


def _vehicle(vid: str, x: float, speed: float, lane: int = 0, is_cav: bool = False) -> VehicleTruth:
    return VehicleTruth(vid, x, 0.0, 0.0, speed, 0.0, 4.0, 1.8, 1.5, "e", lane, x + 2.0, is_cav=is_cav)


BRAKE = {"type": "hard_brake", "time": 15.0, "vehicle": "lead", "decel": 6.0, "to_speed": 5.0, "hold": 6.0}


def _start(index: int, time: float, **values: float) -> EventRecord:
    return EventRecord(time, "hard_brake", "lead", "braking", values, index, "cav_0")


def test_an_event_that_started_is_recorded_with_its_situation_and_passes_its_expectation(tmp_path):
    scenario = _scenario(tmp_path, [{**BRAKE, "expect": {"gap_m": [30.0, 60.0], "speed_mps": [20.0, 30.0]}}])
    log = [EventRecord(3.0, "cav_left", "x", "not an event"),
           _start(0, 15.0, gap_m=45.0, ttc_s=None, speed_mps=25.0, cav_speed_mps=25.0)]
    (record,) = event_records(scenario, log, {}, 40.0)
    assert record["happened"] and record["as_expected"] and record["required"]
    assert (record["scheduled_s"], record["started_s"], record["gap_m"]) == (15.0, 15.0, 45.0)
    assert record["cav"] == "cav_0" and record["expect"] == {"gap_m": [30.0, 60.0], "speed_mps": [20.0, 30.0]}
    assert not_as_scripted([record]) == []


def test_a_situation_outside_the_expectation_fails_with_the_figure_named(tmp_path):
    scenario = _scenario(tmp_path, [{**BRAKE, "expect": {"gap_m": [10.0, 20.0], "ttc_s": [0.0, 5.0]}}])
    (record,) = event_records(scenario, [_start(0, 15.0, gap_m=45.0, speed_mps=25.0)], {}, 40.0)
    assert record["happened"] and record["as_expected"] is False
    assert "gap_m 45.00 outside [10, 20]" in record["reason"] and "ttc_s undefined" in record["reason"]
    (line,) = not_as_scripted([record])
    assert line.startswith("event 0 (hard_brake, lead): not as expected")


def test_an_event_that_never_started_fails_with_what_the_world_waited_for(tmp_path):
    scenario = _scenario(tmp_path, [BRAKE, {**BRAKE, "time": 20.0}])
    log = [EventRecord(15.0, EVENT_MISSED, "lead", "no vehicle 'lead' in the world at 15.00 s", {}, 0)]
    missed, pending = event_records(scenario, log, {1: "vehicle 'lead' not in the world from 20 s"}, 40.0)
    assert not missed["happened"] and missed["started_s"] is None and missed["gap_m"] is None
    assert missed["reason"] == "no vehicle 'lead' in the world at 15.00 s (at 15.00 s)"
    assert pending["reason"] == ("did not start by the run's end (40.00 s): vehicle 'lead' not in the world "
                                 "from 20 s")
    assert len(not_as_scripted([missed, pending])) == 2


def test_events_after_the_end_or_not_applicable_are_listed_but_not_owed(tmp_path):
    scenario = _scenario(tmp_path, [BRAKE, {"type": "sensor_fault", "time": 5.0, "cav": "cav_0",
                                             "sensors": ["lidar"], "mode": "dropout"}])
    late, fault = event_records(scenario, [], {}, 10.0, {1: "not applicable: no sensors"})
    assert not late["happened"] and not late["required"] and "after the run's end (10.00 s)" in late["reason"]
    assert not fault["happened"] and not fault["required"] and fault["reason"] == "not applicable: no sensors"
    assert not_as_scripted([late, fault]) == []


def test_only_events_the_controller_can_receive_apply():
    ghost = GhostVehicleEvent(time=1.0, attacker="a", offset=(1.0, 0.0))
    fault = SensorFaultEvent(time=1.0, cav="cav_0", sensors=("lidar",), mode="dropout")
    assert not_applicable(ghost, v2x=True, stack_drives=True) is None
    assert "V2X" in not_applicable(ghost, v2x=False, stack_drives=True)
    assert not_applicable(fault, v2x=False, stack_drives=True) is None
    assert "SUMO" in not_applicable(fault, v2x=True, stack_drives=False)


def test_situation_gap_ttc_and_the_nearest_cav():
    cav, far_cav = _vehicle("cav_0", 0.0, 30.0, is_cav=True), _vehicle("cav_1", 500.0, 30.0, is_cav=True)
    ahead, behind = _vehicle("lead", 20.0, 25.0, lane=1), _vehicle("chaser", -30.0, 35.0)
    truth = WorldTruth(1.0, (cav, far_cav, ahead, behind))
    front = situation(truth, "lead", None)                  # the nearest CAV is cav_0
    assert front["cav"] == "cav_0" and front["gap_m"] == pytest.approx(16.0)
    assert front["ttc_s"] == pytest.approx(16.0 / 5.0) and (front["actor_lane"], front["cav_lane"]) == (1, 0)
    rear = situation(truth, "chaser", "cav_0")              # behind: negative gap, closing from behind
    assert rear["gap_m"] == pytest.approx(-26.0) and rear["ttc_s"] == pytest.approx(26.0 / 5.0)
    apart = situation(truth, "lead", "cav_1")               # cav_1 is ahead of lead and faster: no TTC
    assert apart["gap_m"] == pytest.approx(-476.0) and apart["ttc_s"] is None
    assert situation(truth, "gone", "cav_0")["gap_m"] is None


def test_expectation_violations_and_its_checks():
    expect = EventExpectation(gap_m=(10.0, 20.0))
    assert expect.violations({"gap_m": 15.0}) == [] and expect.violations({"gap_m": 42.0})
    with pytest.raises(ValueError, match="min <= max"):
        EventExpectation(gap_m=(20.0, 10.0))
    with pytest.raises(ValueError, match="states no expectation"):
        EventExpectation()


@pytest.mark.parametrize("expect, key", [({"gap": [10, 20]}, "events[0].expect.gap"),
                                         ({"gap_m": [20, 10]}, "events[0].expect"),
                                         ({"gap_m": 15}, "events[0].expect.gap_m")])
def test_bad_expectation_keys_name_the_key(tmp_path, expect, key):
    with pytest.raises(ParamsError, match=key.replace("[", r"\[").replace("]", r"\]")):
        _scenario(tmp_path, [{**BRAKE, "expect": expect}])


def test_highway_cut_in_states_its_gap_expectation():
    (cut_in,) = load_scenario("highway_cut_in").events
    assert cut_in.expect == EventExpectation(gap_m=(10.0, 20.0))


def test_campaign_summary_counts_the_runs_whose_events_did_not_happen_as_scripted(tmp_path):
    from cav_stack.eval.campaign_summary import (EVENTS_NOT_AS_SCRIPTED, STATUS_FAILED, STATUS_OK, RunOutcome,
                                                 RunSpec, summary_report, write_summary_md)

    def outcome(seed: int, untrue: list[str]) -> RunOutcome:
        report = summary_report({"collisions": 0, "events_not_as_scripted": untrue, "events": []})
        failed = f"{EVENTS_NOT_AS_SCRIPTED}: {'; '.join(untrue)}" if untrue else None
        return RunOutcome(RunSpec("hidden_brake", "stack", seed, tmp_path / str(seed)),
                          STATUS_FAILED if untrue else STATUS_OK, failed, report, 1.0)

    untrue = ["event 0 (hard_brake, lead): not as expected: gap_m 45.00 outside [10, 20]"]
    text = write_summary_md([outcome(1, []), outcome(2, untrue), outcome(3, [])], tmp_path / "summary.md").read_text()
    assert "Scenario truth: 1 of 3 runs had scripted events that did not all happen as scripted" in text
    assert "3 runs, 2 completed, 1 failed" in text and "gap_m 45.00 outside [10, 20]" in text


def test_a_speed_profile_names_its_cav_and_bounds_its_lane(tmp_path):
    hold = {"type": "speed_profile", "vehicle": "lead", "cav": "cav_0", "points": [[10.0, 20.0]],
            "expect": {"cav_lane": [2, 2]}}
    scenario = _scenario(tmp_path, [hold])
    (record,) = event_records(scenario, [], {}, 5.0)
    assert record["cav"] == "cav_0" and record["scheduled_s"] == 10.0
    start = EventRecord(10.0, "speed_profile", "lead", "hold", {"gap_m": 40.0, "cav_lane": 0}, 0, "cav_0")
    (record,) = event_records(scenario, [start], {}, 20.0)
    assert record["as_expected"] is False and "cav_lane 0.00 outside [2, 2]" in record["reason"]
    with pytest.raises(ParamsError, match="'lead' is not a CAV"):
        _scenario(tmp_path, [{**hold, "cav": "lead"}])
