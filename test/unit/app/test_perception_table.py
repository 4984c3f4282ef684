"""`cav-stack perception-eval`: argument validation, the markdown table, a short synthetic run."""
from __future__ import annotations

import json
import math

import pytest

from cav_stack.app.exit_codes import ExitCode
from cav_stack.app.cli import main
from cav_stack.app.perception_eval import evaluate_perception
from cav_stack.app.perception_table import format_table, parse_seeds, parse_sets


@pytest.mark.parametrize("argv, message", [
    (["--sets", "fused,sonar"], "unknown sensor set(s) sonar (known: lidar, radar, camera, fused, fused_v2x)"),
    (["--sets", " , "], "--sets must name at least one"),
    (["--rig", "sensors/no_such_rig.yaml"], "no_such_rig.yaml: no such file"),
    (["--seeds", "1,x"], "--seeds must be a comma-separated list of integers"),
    (["--duration", "0"], "--duration must be > 0"),
    (["--max-distance", "-5"], "--max-distance must be > 0"),
    (["--scenario", "no_such_scenario"], "unknown scenario 'no_such_scenario'"),
    (["--scenario", "synthetic_highway"], "--seeds is required for synthetic_highway"),
])
def test_bad_arguments_exit_2_with_a_message_naming_the_problem(argv, message, capsys):
    assert main(["perception-eval", *argv]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("cav-stack perception-eval: ") and message in err


def test_a_rig_file_that_is_not_a_rig_exits_2(tmp_path, capsys):
    bad = tmp_path / "rig.yaml"
    bad.write_text("sensor_rig:\n  ros__parameters:\n    lidars: 3\n")
    argv = ["perception-eval", "--scenario", "synthetic_highway", "--seeds", "1", "--rig", str(bad)]
    assert main(argv) == ExitCode.USAGE
    assert str(bad) in capsys.readouterr().err


def test_seed_and_set_lists_default_to_the_scenario_seed():
    assert parse_sets(" lidar , fused_v2x") == ["lidar", "fused_v2x"]
    assert parse_seeds("2, 7,1", "highway_cut_in") == [2, 7, 1]
    assert parse_seeds(None, "highway_cut_in") == [7]  # scenarios/highway_cut_in.yaml: seed 7


def test_table_formats_figures_and_marks_missing_ones():
    rows = [{"sensor_set": "fused", "seed": 1, "mota": 0.99981, "motp": 0.1, "id_switches": 0, "misses": 1,
             "false_positives": 0, "position_rmse": 0.13995, "velocity_rmse": math.nan, "wall_s": 29.87}]
    lines = format_table(rows).splitlines()
    assert lines[0] == ("| set | seed | MOTA | MOTP [m] | ID switches | misses | false pos. | pos. RMSE [m] | "
                        "vel. RMSE [m/s] | wall [s] |")
    assert lines[1].count("---") == 10
    assert lines[2] == "| fused | 1 | 1.000 | 0.100 | 0 | 1 | 0 | 0.140 | n/a | 30 |"


def test_short_synthetic_run_prints_one_row_per_set_and_seed_and_writes_json(tmp_path, capsys):
    out = tmp_path / "table.json"
    argv = ["perception-eval", "--scenario", "synthetic_highway", "--seeds", "3,4", "--duration", "2",
            "--sets", "radar,camera", "--max-distance", "60", "--out", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    printed = captured.out.splitlines()
    assert captured.err.splitlines()[-1].startswith("run 4/4: camera seed 4: MOTA ")
    rows = [line for line in printed if line.startswith("| ") and not line.startswith("| set")]
    assert [r.split(" | ")[:2] for r in rows] == [["| radar", "3"], ["| camera", "3"],
                                                   ["| radar", "4"], ["| camera", "4"]]
    saved = json.loads(out.read_text())
    assert saved["setup"]["sets"] == ["radar", "camera"] and saved["setup"]["max_distance_m"] == 60.0
    # the table's figures are those of the evaluation itself with the same set-up
    direct = evaluate_perception("synthetic_highway", 4, 2.0, "camera", max_distance=60.0)
    run = saved["runs"][3]
    assert run["mota"] == pytest.approx(direct["mota"]) and run["truth_objects"] == direct["truth_objects"] > 0
    assert f"| {direct['mota']:.3f} |" in rows[3] and run["wall_s"] > 0.0
