"""The README's bad-input table, row by row: each kind of bad input ends the command with its exit
code and one line on stderr, before anything runs or is written."""
from __future__ import annotations

import sys

import pytest

from cav_stack.app.cli import main
from cav_stack.app.exit_codes import ExitCode
from cav_stack.core.share import share_path


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    """Exit code and stderr of ``cav-stack ARGV`` (argparse errors raise SystemExit)."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return int(code), capsys.readouterr().err


def assert_one_line(err: str, *fragments: str) -> None:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def scenario_file(tmp_path, name: str, replace: tuple[str, str] | None = None, text: str | None = None):
    """A copy of highway_cut_in under another name, with one text replacement (or a given text)."""
    body = share_path("scenarios", "highway_cut_in.yaml").read_text(encoding="utf-8")
    body = body.replace("name: highway_cut_in", f"name: {name}")
    body = body.replace("network: networks/", f"network: {share_path('scenarios', 'networks')}/")
    if replace is not None:
        assert replace[0] in body
        body = body.replace(*replace)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text if text is not None else body, encoding="utf-8")
    return path


@pytest.mark.parametrize("duration", ["nan", "inf", "-1", "0", "ten"])
def test_non_finite_or_non_positive_duration(duration, tmp_path, capsys):
    code, err = run_cli(["drive", "--duration", duration, "--out", str(tmp_path / "run")], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, "--duration", duration)
    assert not (tmp_path / "run").exists()


def test_unknown_scenario_lists_the_catalogue(tmp_path, capsys):
    code, err = run_cli(["drive", "--scenario", "no_such_scenario", "--out", str(tmp_path / "run")], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, "unknown scenario 'no_such_scenario'", "highway_cut_in")


def test_unknown_controller(tmp_path, capsys):
    code, err = run_cli(["drive", "--controller", "autopilot", "--out", str(tmp_path / "run")], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, "--controller", "autopilot", "stack")


def test_malformed_yaml_names_the_file_and_line(tmp_path, capsys):
    path = scenario_file(tmp_path, "broken", text="name: broken\nduration: [80.0\n")
    code, err = run_cli(["drive", "--scenario", str(path), "--out", str(tmp_path / "run")], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, "invalid scenario", str(path))


def test_invalid_value_names_the_key(tmp_path, capsys):
    path = scenario_file(tmp_path, "negative", ("duration: 80.0", "duration: -80.0"))
    code, err = run_cli(["drive", "--scenario", str(path), "--out", str(tmp_path / "run")], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, "invalid scenario", "duration")


@pytest.mark.parametrize("expect, key", [("{gap: [10.0, 20.0]}", "expect.gap"),
                                         ("{gap_m: [20.0, 10.0]}", "expect")])
def test_bad_event_expectation_names_the_key(expect, key, tmp_path, capsys):
    path = scenario_file(tmp_path, "bad_expect", ("expect: {gap_m: [10.0, 20.0]}", f"expect: {expect}"))
    code, err = run_cli(["drive", "--scenario", str(path), "--out", str(tmp_path / "run")], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, "invalid scenario", f"events[0].{key}")
    assert not (tmp_path / "run").exists()


def test_bad_network(tmp_path, capsys):
    path = scenario_file(tmp_path, "no_network", ("highway_3lane", "no_such_network"))
    code, err = run_cli(["drive", "--scenario", str(path), "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, "invalid network", "no_such_network", "does not exist")


@pytest.mark.parametrize("kind", ["file", "below_a_file"])
def test_unwritable_out(kind, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    out = blocker if kind == "file" else blocker / "run"
    code, err = run_cli(["drive", "--out", str(out), "--quiet"], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, "--out", str(out))
    assert blocker.read_text() == "not a directory"                 # nothing overwritten


def test_missing_sumo_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SUMO_HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "sumo", None)          # the eclipse-sumo wheel "not installed"
    code, err = run_cli(["drive", "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == ExitCode.ENVIRONMENT
    assert_one_line(err, "pip install 'cav_stack[sim]'")


@pytest.mark.parametrize("argv, fragment", [
    (["--tech", "lte", "--density", "0.1"], "--tech"),
    (["--tech", "dsrc", "--density", "0"], "--density"),
    (["--tech", "dsrc", "--density", "nan"], "--density"),
    (["--tech", "dsrc", "--density", "0.1", "--duration-s", "-2"], "--duration-s"),
    (["--tech", "dsrc", "--density", "0.1", "--subchannels", "4"], "only"),
    (["--tech", "cv2x", "--density", "0.1", "--data-rate-mbps", "6"], "only"),
    (["--tech", "dsrc", "--density", "0.1", "--warmup-s", "-1"], "--warmup-s"),
])
def test_bad_v2x_pdr_arguments(argv, fragment, tmp_path, capsys):
    csv_path = tmp_path / "pdr.csv"
    code, err = run_cli(["v2x-pdr", *argv, "--csv", str(csv_path)], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, fragment)
    assert not csv_path.exists()


def test_v2x_pdr_csv_below_a_file(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    code, err = run_cli(["v2x-pdr", "--tech", "dsrc", "--density", "0.1", "--csv", str(blocker / "pdr.csv")], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, str(blocker))


@pytest.mark.parametrize("argv, fragment", [
    (["--duration", "nan"], "--duration"),
    (["--step-timeout", "0"], "--step-timeout"),
    (["--scenario", "no_such_scenario"], "unknown scenario"),
])
def test_bad_launch_drive_arguments(argv, fragment, tmp_path, capsys):
    code, err = run_cli(["launch", "drive", "--backend", "dds", *argv, "--out", str(tmp_path / "run")], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, fragment)


@pytest.mark.parametrize("backend", ["dds", "ros2"])
def test_multi_process_run_refuses_flows_with_cavs(backend, tmp_path, capsys):
    code, err = run_cli(["launch", "drive", "--backend", backend, "--scenario", "motorway_bottleneck_p50",
                         "--out", str(tmp_path / "run")], capsys)
    assert code == ExitCode.USAGE
    assert_one_line(err, "flows with CAVs (main, ramp)", "only the in-process run", f"not the {backend} backend")
    assert not (tmp_path / "run" / "network").exists()
