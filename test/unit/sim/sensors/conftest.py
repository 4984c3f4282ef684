"""Fixtures of the sensor-model tests: the repository's sensor rigs."""
from __future__ import annotations

from pathlib import Path

import pytest

from cav_stack.world.sensor_rig import load_rig

SENSORS_DIR = Path(__file__).resolve().parents[4] / "sensors"


@pytest.fixture(scope="session")
def rig128():
    return load_rig(SENSORS_DIR / "rig_128.yaml")


@pytest.fixture(scope="session")
def rig32():
    return load_rig(SENSORS_DIR / "rig_32.yaml")
