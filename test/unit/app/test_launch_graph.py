"""The ROS 2 launch file and the node graph it reads: executables, params files, remappings."""
import ast
import configparser

import pytest

from cav_stack.app.graph import CONTROLLERS, SIM_BRIDGE, load_params
from cav_stack.runtime.node import Node


def console_scripts(repo_root):
    config = configparser.ConfigParser()
    config.read(repo_root / "setup.cfg")
    lines = [line.strip() for line in config["options.entry_points"]["console_scripts"].splitlines() if line.strip()]
    return {line.split("=")[0].strip(): line.split("=")[1].strip() for line in lines}


def test_launch_file_builds_its_nodes_from_the_graph(repo_root):
    source = (repo_root / "launch" / "drive.launch.py").read_text()
    tree = ast.parse(source)
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert any(i.module == "cav_stack.app.graph" and any(a.name == "CONTROLLERS" for a in i.names) for i in imports)
    functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert "generate_launch_description" in functions


@pytest.mark.parametrize("controller", sorted(CONTROLLERS))
def test_every_executable_and_params_file_exists(repo_root, controller):
    scripts = console_scripts(repo_root)
    for spec in CONTROLLERS[controller]:
        assert spec.executable in scripts, f"{spec.executable} is not a console entry point"
        module, function = scripts[spec.executable].split(":")
        __import__(module)
        for relative in spec.params_files:
            assert (repo_root / relative).is_file(), relative
        node_type = spec.load_class()
        assert issubclass(node_type, Node)
        params = load_params(spec, {})
        assert isinstance(params, node_type.params_type)
        for node_topic, target in spec.remappings:
            assert not node_topic.startswith("/") and not target.startswith("/")


def test_cav_stack_command_is_declared(repo_root):
    assert console_scripts(repo_root)["cav-stack"] == "cav_stack.app.cli:main"
    assert (repo_root / SIM_BRIDGE.params_files[0]).is_file()


def test_launch_nodes_get_the_launchers_parameters_and_remappings(tmp_path, repo_root):
    """drive.launch.py (up to launch_ros, not installable here) and `cav-stack launch drive` start
    the same nodes with the same parameters, remappings and vehicle identity."""
    pytest.importorskip("libsumo")
    from cav_stack.app.dds_launch import drive_processes
    from cav_stack.app.graph import launch_node_arguments
    from cav_stack.core.params import bind_params, read_yaml

    launched = launch_node_arguments("stack", namespace="cav_0", share=str(repo_root), use_sim_time=True, seed=7,
                                     net_file="/n.net.xml")
    processes = drive_processes("highway_cut_in", seed=7, out_dir=tmp_path, controller="stack", domain_id=70,
                                backend="ros2")[1:]
    assert len(launched) == len(processes) == len(CONTROLLERS["stack"])
    for node, process, spec in zip(launched, processes, CONTROLLERS["stack"], strict=True):
        argv = list(process.argv)
        node_type = spec.load_class()
        assert node["executable"] == argv[argv.index("cav_stack.app.dds_node") + 1]
        assert node["namespace"] == argv[argv.index("--namespace") + 1] == "cav_0"
        params_file = argv[argv.index("--params") + 1]
        section = read_yaml(params_file)[0][node_type.node_name]["ros__parameters"]
        assert node["parameters"][-2] == section                    # the same YAML values, as a mapping
        assert bind_params(node_type.params_type, node["parameters"][-2], "<launch>") == load_params(spec, {})
        remaps = [argv[i + 1] for i, a in enumerate(argv) if a == "--remap"]
        assert [f"{a.removeprefix('~/')}:={b}" for a, b in node["remappings"]] == remaps
        assert node["parameters"][-1] == {"use_sim_time": True, "seed": 7, "net_file": "/n.net.xml"}
        assert argv[argv.index("--seed") + 1] == "7" and argv[argv.index("--backend") + 1] == "ros2"
