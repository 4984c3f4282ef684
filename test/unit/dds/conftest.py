"""DDS unit-test fixtures: loopback-only Cyclone DDS and a fresh domain id per test."""
from __future__ import annotations

import itertools
import os

import pytest

pytest.importorskip("cyclonedds", reason="DDS tests need the 'dds' extra (cyclonedds)")

from cav_stack.runtime.dds_config import loopback_config  # noqa: E402

_DOMAINS = itertools.count(100 + (os.getpid() % 10) * 5)
"""Unit tests use domains 100..199 (integration tests 200..232), offset by pid against
parallel sessions on the same host."""


@pytest.fixture
def dds_domain(monkeypatch) -> int:
    """A domain id no other test of this session uses, with loopback-only unicast DDS."""
    monkeypatch.setenv("CYCLONEDDS_URI", loopback_config())
    domain = next(_DOMAINS)
    assert domain < 200, "too many DDS unit tests for the domain range"
    return domain
