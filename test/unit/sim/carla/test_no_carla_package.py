"""Without the carla client package: a one-line error naming the extra, and SUMO runs unaffected."""
import argparse
import sys

import pytest

from cav_stack.world.scenario import load_scenario
from cav_stack.app.world_selection import add_sim_arguments, open_world
from cav_stack.sim.carla_client import CarlaNotAvailableError, connect


@pytest.fixture
def no_carla(monkeypatch):
    monkeypatch.setitem(sys.modules, "carla", None)


def parse(*argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--sumo-backend", default="libsumo")
    add_sim_arguments(parser)
    return parser.parse_args(argv)


def test_connect_names_the_extra(no_carla):
    with pytest.raises(CarlaNotAvailableError) as error:
        connect("127.0.0.1", 2000, 1.0)
    assert str(error.value) == ("the CARLA client package is not installed; install it with: "
                                "pip install 'cav_stack[carla]'")


def test_open_world_names_the_extra_and_sumo_still_opens(no_carla, tmp_path):
    scenario = load_scenario("highway_cut_in")
    for sim in ("carla", "carla+sumo"):
        with pytest.raises(CarlaNotAvailableError, match=r"cav_stack\[carla\]"):
            open_world(parse("--sim", sim), scenario, 1, tmp_path)
    world = open_world(parse(), scenario, 1, tmp_path)
    assert type(world).__name__ == "SumoWorld"
