"""Shared fixtures of the control tests: the repository's own parameter files."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cav_stack.control.comfort_profile import load_comfort_profile
from cav_stack.control.mpc_params import load_mpc_params
from cav_stack.control.vehicle_models import load_vehicle_params

CONTROLLERS = Path(__file__).resolve().parents[3] / "controllers"


@pytest.fixture(scope="session")
def vehicle():
    return load_vehicle_params(CONTROLLERS / "vehicle.yaml")


@pytest.fixture(scope="session")
def mpc_params():
    # Solve-time overruns depend on machine load; behaviour tests use a budget no solve reaches
    # (the overrun path is tested on purpose with a tiny budget).
    return dataclasses.replace(load_mpc_params(CONTROLLERS / "mpc.yaml"), solve_time_budget=10.0)


@pytest.fixture(scope="session")
def comfort_normal():
    return load_comfort_profile(CONTROLLERS / "comfort.yaml", "normal")


@pytest.fixture(scope="session")
def controllers_dir():
    return CONTROLLERS


@pytest.fixture(scope="session")
def comfort_gentle():
    return load_comfort_profile(CONTROLLERS / "comfort.yaml", "comfort")
