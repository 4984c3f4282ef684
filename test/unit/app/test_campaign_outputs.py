"""Campaign planning, summaries, plots and failure paths that need no simulation."""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import pytest

from cav_stack.app.exit_codes import ExitCode
from cav_stack.app import campaign
from cav_stack.app.campaign import RunOutcome, RunSpec, plan_runs, run_campaign, write_outputs
from cav_stack.app.campaign_engine import start_order
from cav_stack.eval.plots import capacity_points
from cav_stack.world.scenario import UnknownScenarioError, load_scenario


def _ok(scenario, controller, seed, tmp_path, **report):
    spec = RunSpec(scenario, controller, seed, tmp_path / scenario / controller / f"seed_{seed}")
    return RunOutcome(spec, "ok", None, {"collisions": 0, **report}, 1.0)


def _failed(scenario, controller, seed, tmp_path, error):
    spec = RunSpec(scenario, controller, seed, tmp_path / scenario / controller / f"seed_{seed}")
    return RunOutcome(spec, "failed", error, None, 0.5)


def test_plan_covers_every_combination_with_consecutive_seeds(tmp_path):
    runs = plan_runs(["platoon", "hidden_brake"], 3, ["idm_baseline", "sumo_acc"], tmp_path, duration_s=5.0)
    assert len(runs) == 2 * 3 * 2
    base = load_scenario("hidden_brake").seed
    seeds = sorted(r.seed for r in runs if r.scenario == "hidden_brake" and r.controller == "sumo_acc")
    assert seeds == [base, base + 1, base + 2]
    assert len({r.out_dir for r in runs}) == len(runs)
    assert all(r.duration_s == 5.0 for r in runs)


def test_the_stack_s_largest_runs_start_first(tmp_path):
    runs = plan_runs(["hidden_brake", "platoon", "mixed_traffic_p25"], 2, ["idm_baseline", "stack"], tmp_path)
    platoon = load_scenario("platoon")
    assert runs[0].cav_seconds > 0.0
    assert next(r for r in runs if r.scenario == "platoon").cav_seconds == platoon.duration * len(platoon.cavs)
    order = [runs[i] for i in start_order(runs)]
    assert [r.controller for r in order] == ["stack"] * 6 + ["idm_baseline"] * 6
    sizes = [r.cav_seconds for r in order[:6]]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    assert [r.seed for r in order[:2]] == [platoon.seed, platoon.seed + 1]   # ties keep the plan's order


def test_a_scenario_given_as_a_path_runs_under_its_name(tmp_path):
    platoon = load_scenario("platoon")
    (run,) = plan_runs([str(platoon.source)], 1, ["idm_baseline"], tmp_path / "out")
    assert run.scenario == str(platoon.source)
    assert run.out_dir == tmp_path / "out" / "platoon" / "idm_baseline" / f"seed_{platoon.seed}"


@pytest.mark.parametrize("args, error", [
    ((["nope"], 1, ["idm_baseline"]), UnknownScenarioError),
    ((["platoon"], 0, ["idm_baseline"]), ValueError),
])
def test_plan_rejects_bad_input(tmp_path, args, error):
    with pytest.raises(error):
        plan_runs(*args, tmp_path)


def test_unregistered_controller_fails_without_starting_a_process(tmp_path):
    runs = plan_runs(["platoon"], 2, ["stack_v2"], tmp_path)
    seen = []
    outcomes = run_campaign(runs, jobs=2, known_controllers=["idm_baseline", "sumo_acc"],
                            progress=lambda done, total, failed: seen.append((done, total, failed)))
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert "not registered" in outcomes[0].error and "idm_baseline" in outcomes[0].error
    assert seen == [(1, 2, 1), (2, 2, 2)]
    assert (runs[0].out_dir / "outcome.json").is_file()


def test_jobs_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        run_campaign([], jobs=0)


def test_summaries_aggregate_seeds_and_list_failures(tmp_path):
    outcomes = [
        _ok("hidden_brake", "idm_baseline", 13, tmp_path, min_gap_m=10.0, mean_speed_mps=20.0),
        _ok("hidden_brake", "idm_baseline", 14, tmp_path, min_gap_m=14.0, mean_speed_mps=22.0),
        _failed("hidden_brake", "stack", 13, tmp_path, "ParamsError: bad key"),
    ]
    written = write_outputs(outcomes, tmp_path / "out")
    rows = list(csv.DictReader(written["summary.csv"].open(encoding="utf-8")))
    assert [r["status"] for r in rows] == ["ok", "ok", "failed"]
    assert rows[2]["error"] == "ParamsError: bad key" and rows[2]["min_gap_m"] == ""
    assert float(rows[1]["min_gap_m"]) == 14.0
    text = written["summary.md"].read_text(encoding="utf-8")
    assert "| idm_baseline | 2/2 | 0 | 12 (10–14) | 21 (20–22) |" in text
    assert "| stack | 0/2 |" not in text and "| stack | 0/1 |" in text
    assert "- stack, seed 13: ParamsError: bad key" in text
    assert written["metric_min_gap_m.png"].stat().st_size > 5_000
    assert "capacity" not in " ".join(written)               # no penetration sweep in these runs


def test_capacity_curve_uses_measured_penetration(tmp_path):
    outcomes = [_ok(f"mixed_traffic_p{p}", c, 1, tmp_path, throughput_veh_h_lane=2000.0 + p + k, cav_share=p / 100)
                for p in (0, 50, 100) for k, c in enumerate(("idm_baseline", "sumo_acc"))]
    outcomes.append(_ok("hidden_brake", "sumo_acc", 1, tmp_path, throughput_veh_h_lane=1.0))   # not a sweep
    points = capacity_points(outcomes)
    assert set(points) == {"mixed_traffic"}
    assert sorted(points["mixed_traffic"]["sumo_acc"]) == [(0.0, 2001.0), (50.0, 2051.0), (100.0, 2101.0)]
    written = write_outputs(outcomes, tmp_path / "out")
    assert written["capacity_mixed_traffic.png"].stat().st_size > 5_000
    text = written["summary.md"].read_text(encoding="utf-8")
    assert "## Capacity against CAV penetration: mixed_traffic" in text
    assert "| controller | 0 % | 50 % | 100 % | 100 % / 0 % |" in text
    assert "| sumo_acc | 2001 | 2051 | 2101 | 1.05 |" in text


def test_summary_tabulates_comfort_pet_string_and_v2x_figures(tmp_path):
    figures = dict(vibration_total_value_mps2=0.061, max_mtvv_mps2=0.25, max_vdv_mps175=0.33, min_pet_s=1.35,
                   pet_conflicts=2, max_string_gain=0.93, v2x_pdr=0.96, v2x_mean_aoi_s=0.12, v2x_max_aoi_s=0.8)
    written = write_outputs([_ok("platoon", "stack", 1, tmp_path, **figures)], tmp_path / "out")
    (row,) = csv.DictReader(written["summary.csv"].open(encoding="utf-8"))
    assert {key: float(row[key]) for key in figures} == pytest.approx(figures)
    header = next(line for line in written["summary.md"].read_text(encoding="utf-8").splitlines()
                  if line.startswith("| controller"))
    for label in ("ISO 2631-1 vibration total value", "min post-encroachment time", "max L2 string gain",
                  "V2X PDR", "V2X mean age of information"):
        assert label in header


def test_pdr_plot_only_when_runs_carry_v2x_figures(tmp_path):
    plain = [_ok("platoon", "stack", 1, tmp_path)]
    assert "pdr_vs_distance.png" not in write_outputs(plain, tmp_path / "a")
    with_pdr = [_ok("platoon", "stack", 1, tmp_path,
                    v2x_pdr_by_distance={"distance_m": [0, 100, 200], "pdr": [1.0, 0.9, 0.5]})]
    assert write_outputs(with_pdr, tmp_path / "b")["pdr_vs_distance.png"].stat().st_size > 5_000


def _args(**overrides) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    campaign.add_arguments(parser)
    args = parser.parse_args([])
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


@pytest.mark.parametrize("overrides, message", [
    (dict(scenarios="platoon,nope"), "nope"),
    (dict(scenarios="platoon", seeds="0"), "--seeds"),
    (dict(scenarios="platoon", seeds="5-3"), "--seeds"),
    (dict(scenarios="platoon", seeds="1,x"), "--seeds"),
    (dict(scenarios="platoon", retries=-1), "--retries"),
    (dict(scenarios="platoon", address="auto"), "--address needs --engine ray"),
    (dict(scenarios="platoon", engine="ray", address="ray://head:10001"), "HOST:PORT"),
    (dict(scenarios="platoon", jobs=0), "--jobs"),
    (dict(scenarios="platoon", controllers=" , "), "at least one"),
    (dict(scenarios="platoon", duration=-1.0), "--duration"),
])
def test_cli_usage_errors_exit_2(tmp_path, capsys, overrides, message):
    assert campaign.run(_args(out=tmp_path, **overrides)) == ExitCode.USAGE
    assert message in capsys.readouterr().err
    assert not (Path(tmp_path) / "summary.csv").exists()


def test_metric_plot_of_seeds_with_equal_values_is_drawn(tmp_path):
    # the mean of three 0.1 rounds above 0.1: the upper error bar was negative and matplotlib
    # refused it, ending a 228-run campaign after its first plot
    outcomes = [_ok("hidden_brake", "stack", seed, tmp_path, min_gap_m=0.1) for seed in (13, 14, 15)]
    written = write_outputs(outcomes, tmp_path / "out")
    assert written["metric_min_gap_m.png"].stat().st_size > 5_000


@pytest.mark.parametrize("text, seeds", [
    ("3", 3),                                   # a bare number keeps its meaning: a count
    ("1-5", (1, 2, 3, 4, 5)),
    ("1,2", (1, 2)),
    ("7-7", (7,)),
    ("3, 10-12, 3", (3, 10, 11, 12)),           # in order, duplicates dropped
])
def test_seed_counts_lists_and_ranges(text, seeds):
    assert campaign.parse_seeds(text) == seeds


def test_absolute_seeds_are_the_same_for_every_scenario(tmp_path):
    runs = plan_runs(["platoon", "hidden_brake"], campaign.parse_seeds("1-500"), ["idm_baseline"], tmp_path)
    assert len(runs) == 1000
    assert [r.seed for r in runs if r.scenario == "hidden_brake"] == list(range(1, 501))
    assert runs[-1].out_dir == tmp_path / "hidden_brake" / "idm_baseline" / "seed_500"
