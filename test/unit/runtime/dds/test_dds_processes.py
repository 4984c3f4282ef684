"""Node process entry, launch description and supervision (no DDS traffic)."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from cav_stack.app.exit_codes import ExitCode
from cav_stack.core.params import ParamsError
from cav_stack.app.graph import CONTROLLERS
from cav_stack.nodes.idm_baseline_node import IdmBaselineNode
from cav_stack.app import dds_node
from cav_stack.app.dds_launch import (
    ProcessSpec, UnknownControllerError, child_environment, drive_processes,
    supervise,
)

PYTHON = sys.executable


def test_nodes_are_found_by_executable_node_name_or_class_path():
    assert dds_node.find_node("idm_baseline_node")[0] is IdmBaselineNode
    node_type, spec = dds_node.find_node("idm_baseline")
    assert node_type is IdmBaselineNode and spec is CONTROLLERS["idm_baseline"][0]
    assert dds_node.find_node("cav_stack.nodes.idm_baseline_node:IdmBaselineNode") == (IdmBaselineNode, None)
    with pytest.raises(dds_node.UnknownNodeError, match="dds_sim_bridge"):
        dds_node.find_node("sim_bridge_node")
    with pytest.raises(dds_node.UnknownNodeError, match="known: idm_baseline_node"):
        dds_node.find_node("lidar_node")
    with pytest.raises(dds_node.UnknownNodeError, match="cannot load"):
        dds_node.find_node("cav_stack.nodes.nothing:Nothing")


def test_bad_command_lines_are_usage_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        dds_node.main(["idm_baseline_node", "--remap", "input/ego_state"])
    assert exit_info.value.code == 2 and "from:=to" in capsys.readouterr().err
    assert dds_node.main(["idm_baseline_node", "--param", "rate=5"]) == ExitCode.USAGE
    assert "no such parameter of idm_baseline" in capsys.readouterr().err
    assert dds_node.main(["idm_baseline_node", "--param", "rate_hz=-5"]) == ExitCode.USAGE
    assert "rate_hz must be > 0" in capsys.readouterr().err
    assert dds_node.main(["idm_baseline_node", "--params", str(tmp_path / "none.yaml")]) == ExitCode.USAGE
    assert "cannot read file" in capsys.readouterr().err
    assert dds_node.main(["no_such_node"]) == ExitCode.USAGE
    with pytest.raises(SystemExit) as exit_info:
        dds_node.main(["idm_baseline_node", "--domain-id", "300"])
    assert exit_info.value.code == 2 and "0..232" in capsys.readouterr().err


def test_drive_launch_follows_the_graph(tmp_path):
    pytest.importorskip("libsumo")
    specs = drive_processes("highway_cut_in", seed=None, out_dir=tmp_path, controller="idm_baseline", domain_id=7)
    sim, node = specs
    assert sim.name == "/sim_bridge" and node.name == "/cav_0/idm_baseline"
    assert sim.argv[1:3] == ("-m", "cav_stack.app.dds_sim_bridge")
    assert ("--follower", "/cav_0/idm_baseline") == sim.argv[-2:]
    argv = " ".join(node.argv)
    spec = CONTROLLERS["idm_baseline"][0]
    for source, target in spec.remappings:
        assert f"--remap {source}:={target}" in argv
    assert "--namespace cav_0 --domain-id 7 --seed 7 --seed-index 1 --clock lockstep --rank 1" in argv
    assert "--station 0" in argv
    net_file = node.argv[node.argv.index("--net-file") + 1]
    assert os.path.isfile(net_file) and net_file.startswith(str(tmp_path / "network"))
    stack = drive_processes("highway_cut_in", seed=3, out_dir=tmp_path, controller="stack", domain_id=7)
    assert [p.name for p in stack[1:]] == [f"/cav_0/{n.load_class().node_name}" for n in CONTROLLERS["stack"]]
    ranks = [p.argv[p.argv.index("--rank") + 1] for p in stack[1:]]
    seed_indexes = [p.argv[p.argv.index("--seed-index") + 1] for p in stack[1:]]
    expected = [str(rank) for rank in range(1, len(CONTROLLERS["stack"]) + 1)]
    assert ranks == seed_indexes == expected                    # graph order, as the in-process runner
    with pytest.raises(UnknownControllerError, match="known: idm_baseline"):
        drive_processes("highway_cut_in", seed=None, out_dir=tmp_path, controller="mpc9", domain_id=7)


def sleeper(name: str, seconds: float, code: int = 0, ignore_sigint: bool = False) -> ProcessSpec:
    body = "import signal, time, sys\n"
    if ignore_sigint:
        body += "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    body += f"time.sleep({seconds})\nsys.exit({code})\n"
    return ProcessSpec(name, (PYTHON, "-c", body))


def test_supervisor_reports_a_dying_node_and_stops_the_rest():
    out = io.StringIO()
    started = time.monotonic()
    code = supervise([sleeper("/sim", 1.0), sleeper("/cav_0/dies", 0.2, code=3), sleeper("/cav_0/stays", 60),
                      sleeper("/cav_0/stubborn", 60, ignore_sigint=True)], out=out, stop_timeout=1.0)
    assert code == ExitCode.FAILURE
    assert "process /cav_0/dies" in out.getvalue() and "exit code 3" in out.getvalue()
    assert "stays" not in out.getvalue()
    assert time.monotonic() - started < 10.0         # SIGINT for one, SIGKILL for the stubborn one


def test_ctrl_c_stops_every_process(tmp_path):
    pid_file = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import sys
        from cav_stack.app.dds_launch import ProcessSpec, supervise
        child = ("import os, time; open({str(pid_file)!r}, 'a').write(str(os.getpid()) + chr(10)); "
                 "time.sleep(60)")
        specs = [ProcessSpec(name, ({PYTHON!r}, "-c", child)) for name in ("/sim", "/cav_0/a", "/cav_1/a")]
        sys.exit(supervise(specs, stop_timeout=2.0))
    """)
    launcher = subprocess.Popen([PYTHON, "-c", script], env=child_environment(), stderr=subprocess.PIPE, text=True)
    try:
        give_up = time.monotonic() + 20
        while (not pid_file.exists() or len(pid_file.read_text().split()) < 3) and time.monotonic() < give_up:
            time.sleep(0.05)
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=15) == ExitCode.INTERRUPTED
        assert "interrupted" in launcher.stderr.read()
    finally:
        launcher.kill()
    for pid in map(int, pid_file.read_text().split()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_scenario_operating_domain_reaches_the_mode_selector_process(tmp_path):
    pytest.importorskip("libsumo")
    from cav_stack.world.scenario import load_scenario
    from cav_stack.app.dds_node import _load_params, find_node, parse_param

    specs = drive_processes("odd_exit_takeover", seed=None, out_dir=tmp_path, controller="stack", domain_id=7)
    (selector,) = [p for p in specs if p.name == "/cav_0/mode_selector"]
    given = [parse_param(selector.argv[k + 1]) for k, arg in enumerate(selector.argv) if arg == "--param"]
    node_type, graph_spec = find_node("mode_selector_node")
    params = _load_params(node_type, graph_spec, None, given)
    assert params.odd == load_scenario("odd_exit_takeover").odd and params.odd.bounded
    others = [p for p in specs[1:] if p is not selector]
    assert all("--param" not in p.argv for p in others)                  # only nodes that take an odd
    plain = drive_processes("highway_cut_in", seed=None, out_dir=tmp_path, controller="stack", domain_id=7)
    assert all("--param" not in p.argv for p in plain)                   # no odd in the scenario
    with pytest.raises(ParamsError, match="exit_positions"):
        _load_params(node_type, graph_spec, None, [("odd", {"exit_edges": ["sl_2"], "exit_positions": []})])
