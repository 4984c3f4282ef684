"""Every new scenario runs closed loop with the IDM baseline and the SUMO baselines, and its
scripted world events do what the scenario says."""
from __future__ import annotations

import math

import libsumo
import pytest
import yaml

from cav_stack.eval.report import read_trajectories
from cav_stack.core.params import ParamsError
from cav_stack.app.runner import run_scenario
from cav_stack.world.scenario import load_scenario, scenarios_dir
from cav_stack.sim.sumo import SumoWorld

NEW = ("on_ramp_merge", "hidden_brake", "dense_lane_change", "comm_degradation", "sensor_failure",
       "urban_incident", "ghost_attack", "mixed_traffic_p0", "mixed_traffic_p25", "mixed_traffic_p50",
       "mixed_traffic_p75", "mixed_traffic_p100")
CONTROLLERS = ("idm_baseline", "sumo_idm", "sumo_acc", "sumo_cacc")


#: Runs with 20+ stack-driven CAVs take > 5 s of wall time on the 2-core machine.
SLOW = {("mixed_traffic_p50", "idm_baseline"), ("mixed_traffic_p75", "idm_baseline"),
        ("mixed_traffic_p100", "idm_baseline")}


@pytest.mark.parametrize("name, controller", [
    pytest.param(n, c, marks=[pytest.mark.slow] if (n, c) in SLOW else []) for n in NEW for c in CONTROLLERS])
def test_scenario_runs_with_baseline(name, controller, tmp_path):
    seconds = 2.0 if name == "mixed_traffic_p100" and controller == "idm_baseline" else 3.0
    report = run_scenario(name, seed=None, out_dir=tmp_path, duration_s=seconds, controller=controller).report
    scenario = load_scenario(name)
    assert report["sim_time_s"] == pytest.approx(seconds)
    assert set(report["cavs"]) == {c.id for c in scenario.cavs}
    assert report["collisions"] == 0
    assert report["max_vehicles"] >= len(scenario.cavs) + len(scenario.demand.vehicles)


def _push(world, cav_speed=None):
    """Keep every CAV on its initial heading at its depart speed (or ``cav_speed``) for one step."""
    for cav in world.scenario.cavs:
        s = world.truth.vehicle(cav.id)
        if s is None:
            continue
        v = s.speed if cav_speed is None else cav_speed
        dt = world.step_length
        world.set_cav_state(cav.id, s.x + v * dt * math.cos(s.yaw), s.y + v * dt * math.sin(s.yaw), s.yaw, v)
    return world.step()


def test_incident_blocks_the_edge_and_traffic_reroutes(eval_cache):
    scenario = load_scenario("urban_incident")
    (incident,) = scenario.events
    with SumoWorld(scenario, scenario.seed, cache_dir=eval_cache) as world:
        world.start()
        routes_before = {}
        while world.time < incident.time - 1e-9:
            _push(world)
            routes_before = {v: libsumo.vehicle.getRoute(v) for v in libsumo.vehicle.getIDList()}
        for _ in range(round(30.0 / world.step_length)):
            truth = _push(world, cav_speed=0.0)
        (record,) = [e for e in world.event_log if e.kind == "incident"]
        # it starts when SUMO has inserted the first blocker: one step after the event's time
        assert record.time == pytest.approx(incident.time + world.step_length) and record.values["rerouted"] >= 1
        blocker = truth.vehicle("incident.0.0")
        assert blocker.edge_id == incident.edge and blocker.speed == 0.0
        assert blocker.lane_position == pytest.approx(incident.position)
        rerouted = [v for v, r in routes_before.items() if incident.edge in r and v != "cav_0"]
        assert rerouted                                      # some traffic was heading there
        for vehicle_id in libsumo.vehicle.getIDList():
            if vehicle_id.startswith("incident.") or vehicle_id == "cav_0":
                continue
            route = libsumo.vehicle.getRoute(vehicle_id)
            remaining = route[libsumo.vehicle.getRouteIndex(vehicle_id):]
            on_edge = libsumo.vehicle.getRoadID(vehicle_id) == incident.edge
            assert on_edge or incident.edge not in remaining, vehicle_id
            if vehicle_id.startswith("same_way"):                # its flow's route used the edge
                assert remaining[-1] == "n21_n22"            # still reaches its destination


@pytest.mark.slow
def test_sumo_driven_cav_merges_from_the_on_ramp(tmp_path):
    run_scenario("on_ramp_merge", seed=None, out_dir=tmp_path, duration_s=35.0, controller="sumo_acc")
    y_last = read_trajectories(tmp_path / "trajectories.csv")["y"][-1]
    assert y_last == pytest.approx(-9.0, abs=0.5)           # centre of the right main lane of main_2


def test_hidden_brake_lead_stops_short_and_the_truck_follows(eval_cache):
    scenario = load_scenario("hidden_brake")
    with SumoWorld(scenario, scenario.seed, cache_dir=eval_cache) as world:
        world.start()
        lowest = {"lead": math.inf, "truck": math.inf}
        while world.time < 24.0:
            truth = _push(world)
            for vid in lowest:
                lowest[vid] = min(lowest[vid], truth.vehicle(vid).speed)
        assert lowest["lead"] == pytest.approx(5.0, abs=0.1)
        assert lowest["truck"] < 12.0                        # the truck brakes hard too
        assert any(e.kind == "hard_brake" and e.vehicle == "lead" for e in world.event_log)


@pytest.mark.parametrize("name, mutate, key", [
    ("mixed_traffic_p25", lambda d: d["detector"].update(edge="nowhere"), "detector.edge"),
    ("mixed_traffic_p25", lambda d: d["detector"].update(position=5000.0), "detector.position"),
    ("urban_incident", lambda d: d["events"][0].update(edge="nowhere"), "events[0].edge"),
    ("urban_incident", lambda d: d["events"][0].update(lanes=[1]), "events[0].lanes"),
    ("urban_incident", lambda d: d["events"][0].update(position=900.0), "events[0].position"),
])
def test_detector_and_incident_places_are_checked_against_the_network(tmp_path, eval_cache, name, mutate, key):
    data = yaml.safe_load((scenarios_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    data["network"] = str(scenarios_dir() / data["network"])
    mutate(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    scenario = load_scenario(path)
    with pytest.raises(ParamsError) as info:
        with SumoWorld(scenario, 1, cache_dir=eval_cache) as world:
            world.start()
    assert info.value.key == key and str(path) in str(info.value)
