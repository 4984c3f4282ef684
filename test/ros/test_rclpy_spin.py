"""A node started on its own (what `ros2 run` / `ros2 launch` do): the V2X node under /cav_1 with
parameters from the ROS command line, its topics of standard types, a clean stop on SIGINT."""
import signal
import subprocess
import sys
import time

import rclpy
import yaml


def test_v2x_node_runs_as_a_ros2_node_in_its_namespace(tmp_path, repo_root, ros_env):
    section = yaml.safe_load((repo_root / "v2x" / "v2x_node.yaml").read_text())["v2x_node"]
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"/**": section}))
    node = subprocess.Popen([sys.executable, "-c", "import sys; from cav_stack.app.entry_points import v2x_node; "
                             "sys.exit(v2x_node())", "--ros-args", "-r", "__ns:=/cav_1", "--params-file", str(params),
                             "-p", "seed:=5"], env=ros_env, stderr=subprocess.PIPE, text=True)
    expected = ("/cav_1/v2x_node/output/health", "/cav_1/v2x_node/input/ego_state")
    rclpy.init()
    try:
        probe = rclpy.create_node("probe")
        give_up, topics, nodes = time.monotonic() + 60.0, {}, []
        # discovery reports topics and node names separately, in no fixed order: wait for all of them
        while time.monotonic() < give_up and node.poll() is None and not (
                all(t in topics for t in expected) and ("v2x_node", "/cav_1") in nodes):
            rclpy.spin_once(probe, timeout_sec=0.2)
            topics = dict(probe.get_topic_names_and_types())
            nodes = probe.get_node_names_and_namespaces()
    finally:
        rclpy.shutdown()
        node.send_signal(signal.SIGINT)
        _, err = node.communicate(timeout=30)
    assert ("v2x_node", "/cav_1") in nodes, err[-2000:]
    assert topics.get("/cav_1/v2x_node/input/ego_state") == ["nav_msgs/msg/Odometry"]
    assert topics.get("/cav_1/v2x_node/output/health") == ["diagnostic_msgs/msg/DiagnosticArray"]
    assert node.returncode == 0, err[-2000:]
    assert "Traceback" not in err
