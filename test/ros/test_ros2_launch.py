"""`cav-stack launch drive --backend ros2`: the graph as rclpy nodes, seen by a stock ROS 2 node.

The sim bridge and the CAV's node run as separate processes, each a real rclpy node, in
lockstep on /clock. While the run goes on, an independent rclpy node (test/ros/independent_node.py,
stock settings, standard types, nothing of cav_stack imported) receives the CAV's ego state
(nav_msgs/Odometry) and its commands; the run reproduces the in-process run exactly. The same
independent node receives the ego state of a `--backend dds` run (Cyclone DDS configured as ROS 2
defaults are, confined to loopback; its commands are ackermann_msgs/AckermannDriveStamped there, a type
the stock node does not have).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cav_stack.app.runner import run_scenario
from cav_stack.runtime.dds_config import loopback_multicast_config

pytest.importorskip("libsumo")

DURATION_S = 20.0
EGO = "/cav_0/truth/ego_state"
COMMAND = "/cav_0/control/command"


def launch(backend: str, out_dir, env, controller: str = "idm_baseline",
           duration: float = DURATION_S) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cav_stack.app.cli", "launch", "drive", "--backend", backend,
                             "--scenario", "highway_cut_in", "--controller", controller,
                             "--duration", str(duration), "--out", str(out_dir)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def test_ros2_run_is_seen_by_a_stock_node_and_matches_the_in_process_run(tmp_path, ros_env, independent_node):
    run = launch("ros2", tmp_path / "ros2", ros_env)
    listener = independent_node(ros_env, {EGO: "nav_msgs/msg/Odometry", COMMAND: "std_msgs/msg/String"},
                                seconds=120.0, minimum=50)
    code, out, err = finish(listener, 150)
    run_code, _, run_err = finish(run, 150)
    assert run_code == 0, run_err[-3000:]
    assert code == 0, err[-2000:]
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["counts"][EGO] >= 50 and seen["counts"][COMMAND] >= 50
    assert seen["types"][EGO] == ["nav_msgs/msg/Odometry"]
    assert seen["odometry"]["frame_id"] == "map" and seen["odometry"]["speed"] > 10.0

    report = json.loads((tmp_path / "ros2" / "report.json").read_text())
    reference = run_scenario("highway_cut_in", seed=None, out_dir=tmp_path / "in_process", controller="idm_baseline",
                             duration_s=DURATION_S).report
    assert report["collisions"] == reference["collisions"] == 0
    assert report["dds_dropped_members"] == []
    assert report["sim_time_s"] == pytest.approx(DURATION_S)
    assert (tmp_path / "ros2" / "trajectories.csv").read_bytes() == \
        (tmp_path / "in_process" / "trajectories.csv").read_bytes()     # lockstep: the same run, bit for bit


def test_a_stock_node_stops_the_cav(tmp_path, ros_env, independent_node):
    """A std_msgs/Bool stop request from the independent node, sent after it has received 100 ego
    states (5 s into the run at the earliest; later when it discovers the run late, under load): the
    CAV stops. 45 s of simulated time leave room for a late request: a stop from 28 m/s takes ~10 s
    (one CI run under load had the CAV still at 10.8 m/s at 30 s)."""
    run = launch("ros2", tmp_path / "stop", ros_env, duration=45.0)
    listener = independent_node(ros_env, {EGO: "nav_msgs/msg/Odometry"}, 120.0, 550,
                                "--stop", "/cav_0/control/stop_request", "--stop-after", "100")
    code, out, err = finish(listener, 150)
    run_code, _, run_err = finish(run, 150)
    assert run_code == 0, run_err[-3000:]
    assert "stop requested" in run_err
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["stop_sent_after"] >= 100                 # sent once the stack subscribed, after 100 messages
    rows = (tmp_path / "stop" / "trajectories.csv").read_text().splitlines()
    header = rows[0].split(",")
    speeds = [float(r.split(",")[header.index("speed")]) for r in rows[1:]]
    assert max(speeds[:100]) > 20.0                     # driving at highway speed before the request
    stop_at = next((line for line in run_err.splitlines() if "stop requested" in line), "")
    assert speeds[-1] < 0.1 and min(speeds[-20:]) >= 0.0, stop_at  # stopped, not reversing, at the end
    assert json.loads((tmp_path / "stop" / "report.json").read_text())["collisions"] == 0


def test_stock_node_receives_a_dds_run_configured_as_ros2_defaults(tmp_path, ros_env, independent_node):
    """Odometry has arrays (the covariances): it matches only because the DDS processes ignore Fast
    DDS's type information (runtime/dds_config.py, with_fastdds_interop); String and Clock match either way."""
    objects = "/cav_0/truth/objects"
    env = dict(ros_env, CYCLONEDDS_URI=loopback_multicast_config())
    run = launch("dds", tmp_path / "dds", env)
    listener = independent_node(ros_env, {"/clock": "rosgraph_msgs/msg/Clock", objects: "std_msgs/msg/String",
                                          EGO: "nav_msgs/msg/Odometry"}, 60.0, 50)
    code, out, err = finish(listener, 150)
    run_code, _, run_err = finish(run, 150)
    assert run_code == 0, run_err[-3000:]
    assert code == 0, err[-2000:]
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["types"][EGO] == ["nav_msgs/msg/Odometry"]
    assert min(seen["counts"].values()) >= 50, seen["counts"]
    assert seen["odometry"]["frame_id"] == "map" and seen["odometry"]["speed"] > 10.0
