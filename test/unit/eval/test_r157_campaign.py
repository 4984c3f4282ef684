"""The R157 campaign summary: one CSV row per OpenSCENARIO run, verdict counts per scenario file, the
pass/fail plot over headway and relative speed; nothing for campaigns without OpenSCENARIO runs."""
import csv
from pathlib import Path

from cav_stack.eval.campaign_summary import STATUS_FAILED, STATUS_OK, RunOutcome, RunSpec, summary_report
from cav_stack.eval.r157_campaign import write_r157_outputs

TEMPLATE = "/x/alks_scenario_4_4_1_cut_in_no_collision_template.xosc"


def outcome(index: int, collision: bool, reference: bool, tmp: Path) -> RunOutcome:
    params = (("CutInVehicle_HeadwayDistanceTrigger_dx0_m", str(10 * index)),
              ("CutInVehicle_RelativeInitSpeed_Ve0_Vo0_kph", "-20"))
    spec = RunSpec(TEMPLATE, "stack", index, tmp / f"run_{index}", params=params)
    block = {"family": "cut_in", "collision": collision, "impact_speed_mps": 3.0 if collision else 0.0,
             "min_ttc_s": 1.0 + index, "min_distance_m": 0.0 if collision else 5.0 + index,
             "min_following_ratio": None, "following_below_min_s": 0.0,
             "reference_driver": {"collision": reference, "impact_speed_mps": 4.0 if reference else 0.0},
             "passed": not collision or reference}
    # as a campaign's index keeps the report (the summary part of it)
    return RunOutcome(spec, STATUS_OK, None, summary_report({"r157": block, "collisions": int(collision)}), 1.0)


def test_summary_counts_verdicts_and_failures(tmp_path):
    outcomes = [outcome(0, False, False, tmp_path), outcome(1, True, False, tmp_path),
                outcome(2, True, True, tmp_path),
                RunOutcome(RunSpec(TEMPLATE, "stack", 3, tmp_path / "run_3"), STATUS_FAILED, "boom", None, 1.0)]
    written = write_r157_outputs(outcomes, tmp_path)
    assert set(written) == {"r157_summary.csv", "r157_summary.md", "r157_pass_fail.png"}
    rows = list(csv.DictReader(written["r157_summary.csv"].open()))
    assert [r["verdict"] for r in rows] == ["pass", "fail", "pass", "error"]
    assert rows[1]["CutInVehicle_HeadwayDistanceTrigger_dx0_m"] == "10"
    table = written["r157_summary.md"].read_text()
    # runs, passed, failed, errors, stack collisions, reference collisions, stack-not-reference, TTC, distance
    assert "| stack | 4 | 2 | 1 | 1 | 2 | 1 | 1 | 1.00 | 0.00 | – |" in table
    assert "run 1 (fail)" in table and "run 3 (error): boom" in table
    assert written["r157_pass_fail.png"].stat().st_size > 1000


def test_no_openscenario_runs_no_files(tmp_path):
    spec = RunSpec("highway_cut_in", "stack", 7, tmp_path / "run")
    assert write_r157_outputs([RunOutcome(spec, STATUS_OK, None, {}, 1.0)], tmp_path) == {}
    assert not (tmp_path / "r157_summary.md").exists()
