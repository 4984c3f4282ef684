"""Shared fixtures of the radio tests: the repository's radio profiles."""
from __future__ import annotations

from pathlib import Path

import pytest

from cav_stack.v2x.radio.profile import load_radio_profile

V2X = Path(__file__).resolve().parents[4] / "v2x"


@pytest.fixture(scope="session")
def cv2x_profile():
    return load_radio_profile(V2X / "radio_cv2x.yaml")


@pytest.fixture(scope="session")
def dsrc_profile():
    return load_radio_profile(V2X / "radio_dsrc.yaml")
