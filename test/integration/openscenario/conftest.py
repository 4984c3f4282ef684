"""OpenSCENARIO test scenarios (test/integration/openscenario/data) run in SUMO without the stack:
SUMO's IDM drives the ego, the storyboard runner moves every other entity."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from cav_stack.sim.openscenario_build import scenario_for
from cav_stack.sim.sumo import SumoWorld
from cav_stack.sim.sumo_routes import SumoCavDriver
from cav_stack.world.openscenario import read_scenario

DATA = Path(__file__).resolve().parent / "data"
SHARED_DIR = Path(os.environ.get("CAV_STACK_SHARED_DIR", Path(__file__).resolve().parents[3].parent / "shared"))


class Recording:
    """Truth of every step of a run: ``speed(name, t)``, ``pose(name, t)``, the world's event log."""

    def __init__(self, truths, events, done):
        self.truths = truths
        self.events = events
        self.storyboard_done = done

    def at(self, t):
        return min(self.truths, key=lambda truth: abs(truth.stamp - t))

    def vehicle(self, name, t):
        vehicle = self.at(t).vehicle(name)
        assert vehicle is not None, f"{name} not in the world at {t} s"
        return vehicle

    def end(self):
        return self.truths[-1].stamp


def run_file(path: Path, tmp: Path, seconds: float, params=None) -> Recording:
    scenario = scenario_for(read_scenario(path, params or {}), None, tmp)
    with SumoWorld(scenario, 0, cache_dir=tmp, cav_driver=SumoCavDriver("IDM", 1.5)) as world:
        truths = [world.start()]
        while truths[-1].stamp < seconds - 1e-9 and not world.storyboard_done:
            truths.append(world.step())
        return Recording(truths, list(world.event_log), world.storyboard_done)


@pytest.fixture(scope="module")
def run_scenario_file(tmp_path_factory):
    def run(name: str, seconds: float, params=None) -> Recording:
        return run_file(DATA / name, tmp_path_factory.mktemp(name.split(".")[0]), seconds, params)
    return run


@pytest.fixture(scope="module")
def alks_templates() -> Path:
    """The shared ALKS templates (``../shared`` beside the repository, or ``CAV_STACK_SHARED_DIR``);
    absent: skip, or fail when ``CI=true``."""
    path = SHARED_DIR / "scenarios" / "alks" / "concrete_scenarios"
    if not path.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared ALKS scenarios absent: {path}")
        pytest.skip(f"shared ALKS scenarios absent: {path}")
    return path
