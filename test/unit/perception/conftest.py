"""Fixtures of the perception tests: the repository's sensor rig and perception parameters."""
from __future__ import annotations

from pathlib import Path

import pytest

from cav_stack.perception.params import load_localization_params, load_perception_params
from cav_stack.world.sensor_rig import load_rig

SENSORS_DIR = Path(__file__).resolve().parents[3] / "sensors"


@pytest.fixture(scope="session")
def rig():
    return load_rig(SENSORS_DIR / "rig_128.yaml")


@pytest.fixture(scope="session")
def perception_params():
    return load_perception_params(SENSORS_DIR / "perception.yaml")


@pytest.fixture(scope="session")
def localization_params():
    return load_localization_params(SENSORS_DIR / "perception.yaml")
