"""DDS integration fixtures: loopback-only Cyclone DDS, a fresh domain per test, child processes
that always end."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cyclonedds", reason="DDS tests need the 'dds' extra (cyclonedds)")

from cav_stack.runtime.dds_config import loopback_config  # noqa: E402
from cav_stack.runtime.dds_launch import child_environment  # noqa: E402

HELPERS = Path(__file__).resolve().parent
_DOMAINS = itertools.count(200 + (os.getpid() % 4) * 8)
"""Integration tests use domains 200..232 (unit tests 100..199), offset by pid."""


@pytest.fixture
def dds_domain(monkeypatch) -> int:
    """A domain id no other test of this session uses; this process uses loopback-only DDS."""
    monkeypatch.setenv("CYCLONEDDS_URI", loopback_config())
    domain = next(_DOMAINS)
    assert domain <= 232, "too many DDS integration tests for the domain range"
    return domain


@pytest.fixture
def dds_env(dds_domain) -> dict[str, str]:
    """Environment of child processes: loopback DDS, cav_stack and the helper nodes importable."""
    env = child_environment()
    env["CYCLONEDDS_URI"] = loopback_config()
    env["PYTHONPATH"] = os.pathsep.join((str(HELPERS), env["PYTHONPATH"]))
    return env


@pytest.fixture
def spawn(dds_env, dds_domain):
    """``spawn(node, *args)``: run ``python -m cav_stack.runtime.dds_node node --domain-id D *args``;
    every child is killed at teardown."""
    children: list[subprocess.Popen] = []

    def start(node: str, *args: str) -> subprocess.Popen:
        child = subprocess.Popen([sys.executable, "-m", "cav_stack.runtime.dds_node", node,
                                  "--domain-id", str(dds_domain), *args], env=dds_env)
        children.append(child)
        return child
    yield start
    for child in children:
        child.kill()
        child.wait(timeout=10)
