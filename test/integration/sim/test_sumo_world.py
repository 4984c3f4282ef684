"""SumoWorld on real SUMO (headless): placement of CAVs, truth conventions, events, determinism,
error and shutdown paths."""
from __future__ import annotations

import dataclasses
import math
import sys
import time

import libsumo
import numpy as np
import pytest
import yaml

from cav_stack.core.params import ParamsError
from cav_stack.world.scenario import load_scenario, scenarios_dir
from cav_stack.sim.sumo import SumoNotAvailableError, SumoStartError, SumoWorld

DT = 0.05


def _scenario_copy(tmp_path, name, mutate):
    """A modified copy of a shipped scenario, written to tmp_path and loaded."""
    data = yaml.safe_load((scenarios_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    data["network"] = str(scenarios_dir() / data["network"])
    mutate(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_scenario(path)


@pytest.mark.parametrize("name", ["highway_cut_in", "platoon", "signalized_corridor"])
def test_cavs_end_where_the_kinematic_push_puts_them(name, sumo_cache, push_constant_speed):
    scenario = load_scenario(name)
    seconds = 3.0
    with SumoWorld(scenario, scenario.seed, cache_dir=sumo_cache, step_length=DT) as world:
        start = world.start()
        assert start.stamp == pytest.approx(DT)
        initial = {c.id: world.cav_initial_state(c.id) for c in scenario.cavs}
        truth = push_constant_speed(world, round(seconds / DT))
        assert truth.stamp == pytest.approx(DT + seconds)
        for spec in scenario.cavs:
            s0, s1 = initial[spec.id], truth.vehicle(spec.id)
            assert s1.is_cav
            assert s0.lane_position == pytest.approx(spec.depart_pos)
            assert s1.x == pytest.approx(s0.x + spec.depart_speed * seconds, abs=1e-6)
            assert s1.y == pytest.approx(s0.y, abs=1e-6)
            assert s1.speed == pytest.approx(spec.depart_speed)
            assert s1.lane_index == spec.depart_lane
            assert s1.lane_position == pytest.approx(spec.depart_pos + spec.depart_speed * seconds, abs=1e-3)


def test_truth_boxes_are_centres_of_sumo_front_bumper_positions(sumo_cache, push_constant_speed):
    scenario = load_scenario("highway_cut_in")
    with SumoWorld(scenario, 3, cache_dir=sumo_cache) as world:
        world.start()
        truth = push_constant_speed(world, 40)
        assert len(truth.vehicles) > 100
        for v in truth.vehicles:
            front_x, front_y = libsumo.vehicle.getPosition(v.vehicle_id)
            heading = math.radians(90.0 - libsumo.vehicle.getAngle(v.vehicle_id))
            assert v.x + 0.5 * v.length * math.cos(heading) == pytest.approx(front_x, abs=1e-9)
            assert v.y + 0.5 * v.length * math.sin(heading) == pytest.approx(front_y, abs=1e-9)
            assert v.length == libsumo.vehicle.getLength(v.vehicle_id)
            assert v.fuel_rate == pytest.approx(libsumo.vehicle.getFuelConsumption(v.vehicle_id) * 1e-6)
        moving = [v.fuel_rate for v in truth.vehicles if v.speed > 20.0]
        # A passenger car at 20-35 m/s burns roughly 0.5-5 g/s of petrol.
        assert 5e-4 < float(np.median(moving)) < 5e-3


def test_cav_pose_with_lateral_offset_and_heading_is_kept(sumo_cache):
    scenario = load_scenario("highway_cut_in")
    with SumoWorld(scenario, 7, cache_dir=sumo_cache) as world:
        world.start()
        s = world.cav_initial_state("cav_0")
        world.set_cav_state("cav_0", s.x + 1.3, s.y + 0.6, 0.05, 26.0)
        v = world.step().vehicle("cav_0")
        assert (v.x, v.y, v.yaw, v.speed) == pytest.approx((s.x + 1.3, s.y + 0.6, 0.05, 26.0), abs=1e-9)
        assert v.lane_index == 1


def test_same_seed_same_truth_and_other_seed_other_traffic(sumo_cache, push_constant_speed, truth_digest):
    scenario = load_scenario("highway_cut_in")

    def run(seed):
        with SumoWorld(scenario, seed, cache_dir=sumo_cache) as world:
            truths = [world.start()]
            for _ in range(60):
                truths.append(push_constant_speed(world, 1))
            return truths

    first, again, other = run(21), run(21), run(22)
    assert truth_digest(first) == truth_digest(again)
    positions = {v.vehicle_id: (v.x, v.lane_index) for v in first[-1].vehicles if not v.is_cav}
    other_positions = {v.vehicle_id: (v.x, v.lane_index) for v in other[-1].vehicles if not v.is_cav}
    common = positions.keys() & other_positions.keys()
    assert len(common) > 100
    assert sum(positions[k] != other_positions[k] for k in common) > 0.9 * len(common)


def test_traci_backend_gives_the_same_truth_as_libsumo(sumo_cache, push_constant_speed, truth_digest):
    scenario = load_scenario("signalized_corridor")
    digests = []
    for backend in ("libsumo", "traci"):
        with SumoWorld(scenario, 5, cache_dir=sumo_cache, backend=backend) as world:
            truths = [world.start()]
            for _ in range(40):
                truths.append(push_constant_speed(world, 1))
            digests.append(truth_digest(truths))
    assert digests[0] == digests[1]


def test_highway_cut_in_traffic_and_cut_in(sumo_cache, push_constant_speed):
    scenario = load_scenario("highway_cut_in")
    (event,) = scenario.events
    background: set[str] = set()
    step_times = []
    truths = {}
    with SumoWorld(scenario, scenario.seed, cache_dir=sumo_cache) as world:
        t_start = world.start().stamp
        s = world.cav_initial_state("cav_0")
        while world.time < 60.0 - 1e-9:
            world.set_cav_state("cav_0", s.x + s.speed * (world.time + DT - t_start), s.y, s.yaw, s.speed)
            t0 = time.perf_counter()
            truth = world.step()
            step_times.append(time.perf_counter() - t0)
            background.update(v.vehicle_id for v in truth.vehicles if not v.is_cav)
            truths[round(truth.stamp, 2)] = truth
        (record,) = [r for r in world.event_log if r.kind == "cut_in"]
    assert len(background) >= 150
    assert event.time <= record.time < event.time + event.timeout and record.event_index == 0
    assert abs(record.values["gap_m"] - event.gap) <= event.tolerance and record.cav == "cav_0"
    assert abs(record.values["actor_lane"] - record.values["cav_lane"]) == 1
    after = truths[round(record.time + scenario.lane_change_duration + 1.0, 2)]
    cav, cutter = after.vehicle("cav_0"), after.vehicle("cutter")
    assert cutter.lane_index == cav.lane_index and cutter.edge_id == cav.edge_id
    bumper_gap = (cutter.x - cav.x) - 0.5 * (cutter.length + cav.length)
    assert 0.5 * event.gap < bumper_gap < 2.0 * event.gap
    mean_ms = 1e3 * float(np.mean(step_times))
    print(f"\nhighway_cut_in libsumo step (with truth): mean {mean_ms:.2f} ms, "
          f"p95 {1e3 * float(np.percentile(step_times, 95)):.2f} ms")
    assert mean_ms < 50.0


def test_platoon_leader_follows_its_speed_profile(sumo_cache, push_constant_speed):
    scenario = load_scenario("platoon")
    (profile,) = scenario.events
    with SumoWorld(scenario, scenario.seed, cache_dir=sumo_cache) as world:
        world.start()
        speeds = {}
        for _ in range(round(50.0 / DT)):
            truth = push_constant_speed(world, 1)
            speeds[round(truth.stamp, 2)] = truth.vehicle("leader").speed
    for t in (10.0, 21.0, 30.0, 42.0, 49.0):
        assert speeds[t] == pytest.approx(profile.speed_at(t), abs=1e-6)


def test_hard_brake_of_the_vehicle_ahead(tmp_path, sumo_cache, push_constant_speed):
    def mutate(data):
        data["events"] = [{"type": "hard_brake", "time": 5.0, "vehicle": "leader_of:cav_0",
                           "decel": 6.0, "to_speed": 10.0, "hold": 2.0}]
    scenario = _scenario_copy(tmp_path, "platoon", mutate)
    with SumoWorld(scenario, 1, cache_dir=sumo_cache) as world:
        world.start()
        speeds = {}
        for _ in range(round(12.0 / DT)):
            truth = push_constant_speed(world, 1)
            speeds[round(truth.stamp, 2)] = truth.vehicle("leader").speed
        (record,) = world.event_log
    assert record.vehicle == "leader" and record.time == pytest.approx(5.0)
    v5 = speeds[5.0]
    assert v5 > 20.0
    for t in (5.5, 6.0, 7.0):  # decelerates at the event's 6 m/s^2, above the type's 4.5 m/s^2
        assert speeds[t] == pytest.approx(v5 - 6.0 * (t - 5.0), abs=1e-6)
    reach = 5.0 + (v5 - 10.0) / 6.0
    assert speeds[round(reach + 1.0, 1)] == pytest.approx(10.0)
    assert speeds[round(reach + 2.0 + 0.5, 1)] > 10.5  # released after the hold, drives on freely


def test_cav_departing_later_is_not_placeable_before(tmp_path, sumo_cache):
    scenario = _scenario_copy(tmp_path, "platoon", lambda d: d["cavs"][7].update(depart=1.0))
    with SumoWorld(scenario, 1, cache_dir=sumo_cache) as world:
        world.start()
        with pytest.raises(LookupError, match="cav_7"):
            world.set_cav_state("cav_7", 0.0, 0.0, 0.0, 25.0)
        with pytest.raises(LookupError, match="cav_7"):
            world.cav_initial_state("cav_7")
        while world.time < 1.0 + 2 * DT:
            truth = world.step()
        assert truth.vehicle("cav_7").is_cav
        assert world.cav_initial_state("cav_7").lane_position == pytest.approx(scenario.cav("cav_7").depart_pos)


def test_signals_are_reported(sumo_cache, push_constant_speed):
    scenario = load_scenario("signalized_corridor")
    with SumoWorld(scenario, 5, cache_dir=sumo_cache) as world:
        world.start()
        truth = push_constant_speed(world, 20)
        assert [s.tls_id for s in truth.signals] == ["J1", "J2", "J3"]
        for signal in truth.signals:
            assert len(signal.state) == 14
            assert signal.next_switch > truth.stamp
            assert signal.state == libsumo.trafficlight.getRedYellowGreenState(signal.tls_id)


def test_missing_sumo_raises_not_available(tmp_path, monkeypatch, sumo_cache):
    monkeypatch.setenv("SUMO_HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "sumo", None)  # the eclipse-sumo wheel "not installed"
    world = SumoWorld(load_scenario("platoon"), 1, cache_dir=sumo_cache, backend="traci")
    with pytest.raises(SumoNotAvailableError, match=r"pip install 'cav_stack\[sim\]'"):
        world.start()
    with pytest.raises(RuntimeError, match="closed"):
        world.step()


@pytest.mark.parametrize("backend", ["libsumo", "traci"])
def test_sumo_refusing_the_scenario_is_a_clear_error(tmp_path, sumo_cache, backend):
    def mutate(data):
        data["vehicle_types"][0]["emission_class"] = "HBEFA4/no_such_class"
    scenario = _scenario_copy(tmp_path, "platoon", mutate)
    world = SumoWorld(scenario, 1, cache_dir=sumo_cache, backend=backend)
    t0 = time.monotonic()
    with pytest.raises(SumoStartError, match="no_such_class"):
        world.start()
    assert time.monotonic() - t0 < 30.0
    assert not libsumo.simulation.isLoaded()


def test_unknown_route_edge_names_the_scenario_key(tmp_path, sumo_cache):
    scenario = _scenario_copy(tmp_path, "platoon", lambda d: d["cavs"][3].update(route=["sl_0", "hw_9"]))
    with pytest.raises(ParamsError, match=r"cavs\[3\]\.route.*hw_9"):
        SumoWorld(scenario, 1, cache_dir=sumo_cache).start()
    assert not libsumo.simulation.isLoaded()


def test_close_on_every_path(sumo_cache):
    scenario = load_scenario("platoon")
    with pytest.raises(ZeroDivisionError):
        with SumoWorld(scenario, 1, cache_dir=sumo_cache) as world:
            world.start()
            _ = 1 / 0
    assert not libsumo.simulation.isLoaded()
    with pytest.raises(RuntimeError, match="closed"):
        world.step()
    world.close()  # idempotent

    first = SumoWorld(scenario, 1, cache_dir=sumo_cache)
    first.start()
    try:
        with pytest.raises(SumoStartError, match="one per process"):
            SumoWorld(scenario, 2, cache_dir=sumo_cache).start()
        assert first.step().vehicle("leader") is not None
    finally:
        first.close()
    assert not libsumo.simulation.isLoaded()
    never_started = SumoWorld(scenario, 1, cache_dir=sumo_cache)
    never_started.close()
    assert list(sumo_cache.glob("run-*")) == []


def test_invalid_arguments():
    scenario = load_scenario("platoon")
    with pytest.raises(ValueError, match="backend"):
        SumoWorld(scenario, 1, cache_dir=".", backend="carla")
    with pytest.raises(ValueError, match="step_length"):
        SumoWorld(scenario, 1, cache_dir=".", step_length=0.0)


def test_non_finite_cav_state_is_rejected(sumo_cache):
    with SumoWorld(load_scenario("platoon"), 1, cache_dir=sumo_cache) as world:
        world.start()
        with pytest.raises(ValueError, match="non-finite"):
            world.set_cav_state("cav_0", float("nan"), 0.0, 0.0, 20.0)
        with pytest.raises(LookupError, match="not a CAV"):
            world.set_cav_state("leader", 0.0, 0.0, 0.0, 20.0)


def test_road_map_matches_the_world(sumo_cache):
    scenario = load_scenario("highway_cut_in")
    with SumoWorld(scenario, 1, cache_dir=sumo_cache) as world:
        truth = world.start()
        road_map = world.road_map()
        for v in truth.vehicles[:50]:
            edge, lane, offset, _ = road_map.locate(v.x, v.y, v.yaw)
            assert (edge, lane) == (v.edge_id, v.lane_index)
            assert abs(offset) < 0.5
    assert dataclasses.is_dataclass(truth)
