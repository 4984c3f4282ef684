"""Closed loop on real SUMO (libsumo, headless): the foundation's acceptance behaviour."""
import hashlib
import json
import os
import subprocess
import sys

import pytest

from cav_stack.app.runner import run_scenario

CLI = [sys.executable, "-m", "cav_stack.app.cli"]


def trajectory_hash(out_dir):
    return hashlib.sha256((out_dir / "trajectories.csv").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("highway")
    return run_scenario("highway_cut_in", seed=None, out_dir=out, duration_s=60.0, controller="idm_baseline")


def test_default_scenario_runs_collision_free_in_dense_traffic(default_run):
    report = default_run.report
    assert report["collisions"] == 0
    assert report["sim_time_s"] == pytest.approx(60.0)
    assert report["vehicles_seen"] >= 150
    assert report["min_gap_m"] > 2.0                       # the cut-in happened and was absorbed
    assert report["min_gap_m"] < 30.0
    assert report["cavs"]["cav_0"]["mean_speed_mps"] > 15.0
    for key in ("min_ttc_s", "min_time_headway_s", "mean_time_headway_s", "mean_speed_mps",
                "max_abs_accel_mps2", "p99_abs_jerk_mps3", "wall_time_s", "max_vehicles"):
        assert key in report
    written = json.loads((default_run.out_dir / "report.json").read_text())
    assert written["collisions"] == 0 and "cav_0" in written["cavs"]
    assert (default_run.out_dir / "plot.png").stat().st_size > 10_000


def test_same_seed_identical_trajectories_other_seed_differs(default_run, tmp_path):
    again = run_scenario("highway_cut_in", seed=None, out_dir=tmp_path / "again", duration_s=60.0,
                         controller="idm_baseline")
    assert trajectory_hash(again.out_dir) == trajectory_hash(default_run.out_dir)
    other = run_scenario("highway_cut_in", seed=default_run.report["seed"] + 1, out_dir=tmp_path / "other",
                         duration_s=60.0, controller="idm_baseline")
    assert trajectory_hash(other.out_dir) != trajectory_hash(default_run.out_dir)


def test_stack_runs_are_reproducible_from_their_seed(tmp_path):
    """The full stack (V2X signing and radio, mode selector, MPC) is a function of the seed."""
    first = run_scenario("hidden_brake", seed=None, out_dir=tmp_path / "a", duration_s=8.0, controller="stack")
    second = run_scenario("hidden_brake", seed=None, out_dir=tmp_path / "b", duration_s=8.0, controller="stack")
    assert first.report["v2x"]["frames_sent"] > 0
    assert trajectory_hash(first.out_dir) == trajectory_hash(second.out_dir)


def test_stack_drives_the_default_scenario_collision_free(tmp_path):
    report = run_scenario("highway_cut_in", seed=None, out_dir=tmp_path, duration_s=60.0, controller="stack").report
    assert report["collisions"] == 0
    assert report["cavs"]["cav_0"]["min_ttc_s"] is None or report["cavs"]["cav_0"]["min_ttc_s"] > 2.0
    assert report["cavs"]["cav_0"]["mean_speed_mps"] > 20.0
    assert report["modes"]["switches"][0]["cav"] == "cav_0"


def test_platoon_of_eight_baseline_followers_is_collision_free(tmp_path):
    report = run_scenario("platoon", seed=None, out_dir=tmp_path, duration_s=40.0, controller="idm_baseline").report
    assert report["collisions"] == 0
    assert len(report["cavs"]) == 8
    assert all(c["min_gap_m"] > 2.0 for c in report["cavs"].values())


def test_cli_unknown_scenario_exits_2_listing_the_catalogue(tmp_path):
    result = subprocess.run(CLI + ["drive", "--scenario", "nope", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "nope" in result.stderr and "highway_cut_in" in result.stderr and "platoon" in result.stderr


def test_cli_malformed_scenario_names_file_line_and_key(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\ndescription: x\nduration: [1\n")
    result = subprocess.run(CLI + ["drive", "--scenario", str(bad), "--out", str(tmp_path / "o")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{bad}:" in result.stderr and "malformed YAML" in result.stderr
    wrong_type = tmp_path / "wrong.yaml"
    source = (os.path.dirname(__file__) + "/../../scenarios/highway_cut_in.yaml")
    text = open(source).read().replace("duration: ", "duration: soon #", 1)
    wrong_type.write_text(text)
    result = subprocess.run(CLI + ["drive", "--scenario", str(wrong_type), "--out", str(tmp_path / "o2")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "duration" in result.stderr and f"{wrong_type}:" in result.stderr


def test_cli_missing_sumo_is_one_line_naming_the_extra(tmp_path):
    """A machine without the `sim` extra: the SUMO wheel, libsumo and traci do not import."""
    hide = ("import sys; sys.modules.update(dict.fromkeys(('sumo', 'libsumo', 'traci'), None)); "
            "from cav_stack.app.cli import main; sys.exit(main(sys.argv[1:]))")
    env = dict(os.environ, PATH="/usr/bin:/bin")
    env.pop("SUMO_HOME", None)
    result = subprocess.run([sys.executable, "-c", hide, "drive", "--out", str(tmp_path / "o"), "--quiet"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 3                                  # a missing dependency (app/exit_codes.py)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cav_stack[sim]" in lines[0], result.stderr


def test_cli_drive_prints_report_path(tmp_path):
    result = subprocess.run(CLI + ["drive", "--scenario", "highway_cut_in", "--duration", "5", "--out",
                                   str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"report: {tmp_path / 'run' / 'report.json'}" in result.stdout
    assert "highway_cut_in [" in result.stdout               # progress bar


@pytest.mark.slow
def test_full_stack_on_sensor_models_and_fusion_is_collision_free(tmp_path):
    """stack_sensors: LiDAR/radar/camera/GNSS/IMU models -> fusion tracker and localisation -> decisions."""
    report = run_scenario("highway_cut_in", seed=None, out_dir=tmp_path, duration_s=40.0,
                          controller="stack_sensors").report
    assert report["collisions"] == 0
    assert report["cavs"]["cav_0"]["mean_speed_mps"] > 20.0
    assert not any(s["mode"] == "minimal_risk" for s in report["modes"]["switches"])
