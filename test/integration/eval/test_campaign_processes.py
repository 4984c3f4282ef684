"""A small campaign through the command-line entry: parallel spawned processes, failures recorded
(unregistered controller, a run that raises in its process), outputs written."""
from __future__ import annotations

import argparse
import csv
import json

import pytest
import yaml

from cav_stack.app.exit_codes import ExitCode
from cav_stack.app import campaign
from cav_stack.app.campaign import RunSpec, run_campaign
from cav_stack.world.scenario import scenarios_dir


@pytest.mark.slow
def test_campaign_runs_in_parallel_and_records_failures(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    campaign.add_arguments(parser)
    args = parser.parse_args(["--scenarios", "hidden_brake,mixed_traffic_p25", "--seeds", "2", "--jobs", "2",
                              "--controllers", "idm_baseline,sumo_acc,no_such_controller", "--duration", "2",
                              "--out", str(tmp_path)])
    assert campaign.run(args) == ExitCode.FAILURE          # the unregistered controller failed
    out = capsys.readouterr().out
    assert "12/12 done" in out and "8/12 runs completed" in out
    rows = list(csv.DictReader((tmp_path / "summary.csv").open(encoding="utf-8")))
    assert len(rows) == 12
    failed = [r for r in rows if r["status"] == "failed"]
    assert {r["controller"] for r in failed} == {"no_such_controller"}
    assert all("not registered" in r["error"] for r in failed)
    for row in rows:
        if row["status"] == "ok":
            report = json.loads((tmp_path / row["scenario"] / row["controller"] / f"seed_{row['seed']}"
                                 / "report.json").read_text(encoding="utf-8"))
            assert report["seed"] == int(row["seed"]) and report["sim_time_s"] == pytest.approx(2.0)
            assert float(row["collisions"]) == report["collisions"]
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "## hidden_brake" in summary and "| sumo_acc | 2/2 |" in summary
    assert (tmp_path / "plots" / "metric_collisions.png").stat().st_size > 5_000


@pytest.mark.slow
def test_a_run_failing_inside_its_process_is_recorded_and_the_others_complete(tmp_path):
    data = yaml.safe_load((scenarios_dir() / "hidden_brake.yaml").read_text(encoding="utf-8"))
    data["network"] = str(scenarios_dir() / data["network"])
    data["cavs"][0]["route"] = ["sl_0", "no_such_edge"]         # loads, but SUMO's network lacks it
    broken = tmp_path / "hidden_brake.yaml"
    broken.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    runs = [RunSpec(str(broken), "idm_baseline", 1, tmp_path / "broken", 1.0),
            RunSpec("hidden_brake", "sumo_acc", 1, tmp_path / "fine", 1.0)]
    bad, good = run_campaign(runs, jobs=2)
    assert bad.status == "failed" and "no_such_edge" in bad.error and "ParamsError" in bad.error
    assert "Traceback" in (tmp_path / "broken" / "error.txt").read_text(encoding="utf-8")
    assert good.status == "ok" and good.report["collisions"] == 0


def test_a_run_exceeding_its_timeout_is_killed_and_recorded(tmp_path):
    (outcome,) = run_campaign([RunSpec("mixed_traffic_p100", "idm_baseline", 1, tmp_path / "slow", 110.0)],
                              jobs=1, timeout_s=3.0)
    assert outcome.status == "failed" and "timed out" in outcome.error
    assert json.loads((tmp_path / "slow" / "outcome.json").read_text(encoding="utf-8"))["status"] == "failed"
