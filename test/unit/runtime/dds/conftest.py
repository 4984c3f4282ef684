"""DDS unit-test fixtures: loopback-only Cyclone DDS and a fresh domain id per test."""
from __future__ import annotations

import pytest

pytest.importorskip("cyclonedds", reason="DDS tests need the 'dds' extra (cyclonedds)")

from cav_stack.runtime.dds_config import loopback_config  # noqa: E402


@pytest.fixture(scope="session")
def unit_domains(dds_domain_ids):
    """Unit tests use domains 100..199 (integration tests 200..232)."""
    return dds_domain_ids(100, 199)


@pytest.fixture
def dds_domain(monkeypatch, unit_domains) -> int:
    """A domain id no other running test uses, with loopback-only unicast DDS."""
    monkeypatch.setenv("CYCLONEDDS_URI", loopback_config())
    return next(unit_domains)
