"""Fixtures for V2X security tests: parameters from v2x/security.yaml and a seeded CA chain."""
from __future__ import annotations

import dataclasses

import asn1tools
import pytest

from cav_stack.v2x.pki import SeededPki
from cav_stack.v2x.trust_params import V2xTrustParams, load_trust_params

from envelope_forgery import ASN1_PATH, REPO_ROOT


@pytest.fixture(scope="session")
def trust_params() -> V2xTrustParams:
    return load_trust_params(REPO_ROOT / "v2x" / "security.yaml")


@pytest.fixture(scope="session")
def pki(trust_params) -> SeededPki:
    return SeededPki(dataclasses.replace(trust_params.seeded_pki, pseudonyms_per_station=3), seed=2026)


@pytest.fixture(scope="session")
def asn() -> asn1tools.compiler.Specification:
    return asn1tools.compile_files(str(ASN1_PATH), "uper")
