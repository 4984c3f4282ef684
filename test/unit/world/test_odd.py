"""Operating domain on the map, the sim's driver model, and the ground-truth takeover figures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from cav_stack.core.messages import DrivingMode, Header, ModeCommand
from cav_stack.core.params import ParamsError
from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.eval.mode_timeline import ModeTimeline
from cav_stack.eval.odd_exit import OddExitRecorder
from cav_stack.world.scenario import DriverSpec, load_scenario, scenarios_dir
from cav_stack.world.odd import OperatingDomain
from cav_stack.world.road_map import RoadMap
from cav_stack.sim.driver import DriverModel
from cav_stack.sim.network_build import build_network


@pytest.fixture(scope="module")
def single_lane(tmp_path_factory):
    """Three straight 1000 m edges sl_0, sl_1, sl_2 along +x."""
    return RoadMap.from_net_file(build_network(scenarios_dir() / "networks" / "single_lane_highway",
                                               tmp_path_factory.mktemp("net")))


def test_domain_ends_at_the_first_exit_or_edge_outside_it_along_the_route(single_lane):
    route = ("sl_0", "sl_1", "sl_2")
    zone = OperatingDomain(exit_edges=("sl_2", "sl_1"), exit_positions=(50.0, 700.0))
    assert zone.exit_along(single_lane, route, 0) == pytest.approx(1700.0, abs=0.1)
    assert zone.exit_along(single_lane, route[2:], 0) == pytest.approx(50.0, abs=0.1)
    motorway = OperatingDomain(edges=("sl_0", "sl_1"))
    assert motorway.exit_along(single_lane, route, 0) == pytest.approx(2000.0, abs=0.1)
    assert motorway.exit_along(single_lane, route[:2], 0) is None
    assert not OperatingDomain().bounded


@pytest.mark.parametrize("domain, message", [
    (dict(exit_edges=("sl_2",), exit_positions=()), "same length"),
    (dict(exit_edges=("sl_2",), exit_positions=(-1.0,)), "exit_positions must be >= 0"),
    (dict(edges=("sl_0",), exit_edges=("sl_2",), exit_positions=(5.0,)), "not in the domain's edges"),
])
def test_inconsistent_domain_is_refused(domain, message):
    with pytest.raises(ValueError, match=message):
        OperatingDomain(**domain)


def test_domain_is_checked_against_the_map(single_lane):
    with pytest.raises(ValueError, match="unknown edge 'sl_9'"):
        OperatingDomain(edges=("sl_9",)).check_against(single_lane)
    with pytest.raises(ValueError, match="beyond the end of edge 'sl_2'"):
        OperatingDomain(exit_edges=("sl_2",), exit_positions=(1500.0,)).check_against(single_lane)


def _scenario_with(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load((scenarios_dir() / "odd_exit_takeover.yaml").read_text(encoding="utf-8"))
    data["network"] = str(scenarios_dir() / data["network"])
    data.update(changes)
    path = tmp_path / "odd_exit_takeover.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("changes, key, reason", [
    (dict(odd={"edges": []}), "odd", "lists neither edges nor exits"),
    (dict(odd={"exit_edges": ["sl_2"], "exit_positions": [10.0, 20.0]}), "odd", "same length"),
    (dict(odd={"exits": ["sl_2"]}), "odd.exits", "unknown parameter"),
    (dict(driver={"available": True, "reaction_time": [4.0, 2.0]}), "driver", "reaction_time"),
    (dict(driver={"available": True, "reaction_time": [2.0, 4.0], "unavailable_from": -1.0}), "driver",
     "unavailable_from"),
])
def test_bad_odd_or_driver_in_a_scenario_names_the_key(tmp_path, changes, key, reason):
    with pytest.raises(ParamsError, match=reason) as info:
        load_scenario(_scenario_with(tmp_path, **changes))
    assert info.value.key == key


def _mode(t: float, mode: DrivingMode, level: int = 0) -> ModeCommand:
    return ModeCommand(Header(t, "map"), mode, 30.0, 1.5, 3.0, reason=f"test level {level}", takeover_level=level)


def test_available_driver_takes_over_after_the_reaction_time_reproducibly():
    spec = DriverSpec(available=True, reaction_time=(2.0, 4.0))
    takeovers = []
    for seed in (1, 1, 2):
        driver, rng = DriverModel(spec), np.random.default_rng(seed)
        driver.observe(_mode(0.0, DrivingMode.ACC), rng)
        driver.observe(_mode(5.0, DrivingMode.TAKEOVER_REQUEST, 1), rng)
        driver.observe(_mode(5.1, DrivingMode.TAKEOVER_REQUEST, 1), rng)     # the same request
        times = np.arange(5.0, 10.0, 0.05)
        held = [t for t in times if driver.state(t).in_control]
        assert driver.state(10.0).available and driver.state(10.0).header.frame_id == "base_link"
        takeovers.append(held[0] - 5.0)
    assert 2.0 <= min(takeovers) and max(takeovers) <= 4.0 + 0.05
    assert takeovers[0] == takeovers[1] != takeovers[2]                   # from the seeded generator


def test_unavailable_or_absent_driver_never_takes_over_and_a_withdrawn_request_is_not_answered():
    rng = np.random.default_rng(0)
    silent = (DriverSpec(available=False, reaction_time=(2.0, 4.0)),
              DriverSpec(available=True, reaction_time=(2.0, 4.0), unavailable_from=0.0),
              DriverSpec(available=True, reaction_time=(2.0, 4.0), responds=False), None)
    for spec in silent:
        driver = DriverModel(spec)
        driver.observe(_mode(0.0, DrivingMode.TAKEOVER_REQUEST, 1), rng)
        driver.observe(_mode(9.0, DrivingMode.MINIMAL_RISK), rng)
        assert not driver.state(60.0).in_control
    assert [DriverModel(spec).state(60.0).available for spec in silent] == [False, False, True, True]
    withdrawn = DriverModel(DriverSpec(available=True, reaction_time=(2.0, 2.0)))
    withdrawn.observe(_mode(0.0, DrivingMode.TAKEOVER_REQUEST, 1), rng)
    withdrawn.observe(_mode(1.0, DrivingMode.CRUISE), rng)
    assert not withdrawn.state(5.0).in_control
    withdrawn.hand_over()                                                 # the world drives it (route end)
    assert withdrawn.state(5.0).in_control


def test_driver_falling_asleep_is_reported_unavailable_from_then_on():
    driver = DriverModel(DriverSpec(available=True, reaction_time=(2.0, 4.0), unavailable_from=12.5))
    assert driver.state(12.45).available and not driver.state(12.5).available


def _truth(t: float, edge: str, position: float, speed: float) -> WorldTruth:
    return WorldTruth(t, (VehicleTruth("cav_0", 0.0, 0.0, 0.0, speed, 0.0, 4.6, 1.85, 1.5, edge, 0, position),))


def test_takeover_lead_time_from_ground_truth_arrival_or_prediction(single_lane):
    odd = OperatingDomain(exit_edges=("sl_2",), exit_positions=(50.0,))
    timeline, recorder = ModeTimeline(), OddExitRecorder(odd, {"cav_0": ("sl_1", "sl_2")}, single_lane)
    for k in range(50):                                 # 30 m/s from sl_1 at 400 m: the exit is 650 m ahead
        t = 0.5 * k
        position = 400.0 + 30.0 * t
        edge, position = ("sl_1", position) if position < 1000.0 else ("sl_2", position - 1000.0)
        level = 0 if t < 4.0 else 1 + int((t - 4.0) // 4.0)
        timeline("/cav_0/planning/mode", _mode(t, DrivingMode.TAKEOVER_REQUEST if level else DrivingMode.ACC,
                                               min(level, 3)), t)
        recorder(_truth(t, edge, position, 30.0), {})
    figures = recorder.summary(timeline)
    assert figures["odd_exit"]["cav_0"]["takeover_request_s"] == 4.0
    assert figures["odd_exit"]["cav_0"]["exit_reached_s"] == 22.0       # first sample at or past 650 m
    assert figures["takeover_lead_time_s"] == pytest.approx(18.0)
    assert [e["level"] for e in timeline.escalations] == [1, 2, 3]
    assert timeline.summary(20.0)["switches_per_minute_per_cav"] == pytest.approx(3.0)   # escalations are no switches
    stopped = OddExitRecorder(odd, {"cav_0": ("sl_1", "sl_2")}, single_lane)
    stopped(_truth(4.0, "sl_1", 520.0, 30.0), {})                         # 530 m to go at 30 m/s
    assert stopped.summary(timeline)["takeover_lead_time_s"] == pytest.approx(530.0 / 30.0)
    assert stopped.summary(timeline)["odd_exit"]["cav_0"]["exit_reached_s"] is None
