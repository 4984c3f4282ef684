"""DDS integration fixtures: loopback-only Cyclone DDS, a fresh domain per test, child processes
that always end."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cyclonedds", reason="DDS tests need the 'dds' extra (cyclonedds)")

from cav_stack.runtime.dds_config import loopback_config  # noqa: E402
from cav_stack.app.dds_launch import child_environment  # noqa: E402

HELPERS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def integration_domains(dds_domain_ids):
    """Integration tests use domains 200..232 (unit tests 100..199)."""
    return dds_domain_ids(200, 232)


@pytest.fixture
def dds_domain(monkeypatch, integration_domains) -> int:
    """A domain id no other running test uses; this process uses loopback-only DDS."""
    monkeypatch.setenv("CYCLONEDDS_URI", loopback_config())
    return next(integration_domains)


@pytest.fixture
def dds_env(dds_domain) -> dict[str, str]:
    """Environment of child processes: loopback DDS, cav_stack and the helper nodes importable."""
    env = child_environment()
    env["CYCLONEDDS_URI"] = loopback_config()
    env["PYTHONPATH"] = os.pathsep.join((str(HELPERS), env["PYTHONPATH"]))
    return env


@pytest.fixture
def spawn(dds_env, dds_domain):
    """``spawn(node, *args)``: run ``python -m cav_stack.app.dds_node node --domain-id D *args``;
    every child is killed at teardown."""
    children: list[subprocess.Popen] = []

    def start(node: str, *args: str) -> subprocess.Popen:
        child = subprocess.Popen([sys.executable, "-m", "cav_stack.app.dds_node", node,
                                  "--domain-id", str(dds_domain), *args], env=dds_env)
        children.append(child)
        return child
    yield start
    for child in children:
        child.kill()
        child.wait(timeout=10)
