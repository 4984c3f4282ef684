"""ROS 2 tests run on real rclpy (the 'ros' extra that `make test` installs): in CI (CI=true) a
missing rclpy fails them; elsewhere they are skipped with the extra to install. Every rclpy
participant of a test is confined to loopback (Fast DDS profile, multicast discovery on lo only)
and gets a domain id of its own."""
import os
import sys
from pathlib import Path

import pytest

if os.environ.get("CI", "").lower() == "true":
    import rclpy  # noqa: F401  (CI installs the 'ros' extra: its absence is a failure, not a skip)
else:
    pytest.importorskip("rclpy", reason="needs the 'ros' extra (`pip install -e .[ros]`)")

from cav_stack.runtime.dds_config import fastdds_loopback_profile  # noqa: E402

INDEPENDENT_NODE = Path(__file__).with_name("independent_node.py")


@pytest.fixture(scope="session")
def loopback_profile(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fastdds") / "loopback.xml"
    path.write_text(fastdds_loopback_profile())
    return path


@pytest.fixture
def ros_domain(dds_domain_ids) -> int:
    """A domain id of this test (60..79: apart from the DDS tests' 100..232)."""
    return next(dds_domain_ids(60, 79))


@pytest.fixture
def ros_env(loopback_profile, ros_domain) -> dict[str, str]:
    """Environment of a ROS 2 process of this test: its domain, loopback only."""
    env = dict(os.environ)
    env.pop("ROS_AUTOMATIC_DISCOVERY_RANGE", None)
    env.update(ROS_DOMAIN_ID=str(ros_domain), FASTDDS_DEFAULT_PROFILES_FILE=str(loopback_profile),
               PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(autouse=True)
def _loopback_in_this_process(monkeypatch, loopback_profile, ros_domain):
    monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", str(loopback_profile))
    monkeypatch.setenv("ROS_DOMAIN_ID", str(ros_domain))
    monkeypatch.delenv("ROS_AUTOMATIC_DISCOVERY_RANGE", raising=False)


@pytest.fixture
def independent_node():
    """``start(env, topics, seconds, minimum, *options)``: test/ros/independent_node.py on ``topics``
    (name -> standard type) as a subprocess, with more of its options."""
    return _start_independent_node


def _start_independent_node(env: dict[str, str], topics: dict[str, str], seconds: float, minimum: int,
                            *options: str):
    import subprocess

    argv = [sys.executable, str(INDEPENDENT_NODE), "--seconds", str(seconds), "--min", str(minimum)]
    for topic, type_name in topics.items():
        argv += ["--topic", f"{topic}={type_name}"]
    argv += list(options)
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
