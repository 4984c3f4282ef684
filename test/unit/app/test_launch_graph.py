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
