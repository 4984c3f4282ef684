"""Scenario events consumed by the stack's models (link loss, sensor faults, ghosts), incidents,
detectors and the shipped catalogue."""
from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cav_stack.core.params import ParamsError
from cav_stack.world.scenario import (GhostVehicleEvent, IncidentEvent, LinkLossEvent, SensorFaultEvent,
                                     list_scenarios, load_scenario, scenarios_dir)

NEW = ("on_ramp_merge", "hidden_brake", "dense_lane_change", "comm_degradation", "sensor_failure",
       "urban_incident", "ghost_attack", "mixed_traffic_p0", "mixed_traffic_p25", "mixed_traffic_p50",
       "mixed_traffic_p75", "mixed_traffic_p100")
#: Vehicles in the standing queue of every mixed_traffic_p* scenario (CAVs and human drivers).
MIXED_TRAFFIC_QUEUE = 20


def _write_copy(tmp_path, name, mutate):
    data = yaml.safe_load((scenarios_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    data["network"] = str(scenarios_dir() / data["network"])
    mutate(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_catalogue_has_the_new_scenarios_with_modest_cav_counts():
    names = list_scenarios()
    assert len(names) >= 10 and set(NEW) <= set(names)
    for name in NEW:
        scenario = load_scenario(name)
        assert scenario.description.strip() and scenario.metrics
        limit = MIXED_TRAFFIC_QUEUE if name.startswith("mixed_traffic") else 10
        assert len(scenario.cavs) <= limit


@pytest.mark.parametrize("percent", [0, 25, 50, 75, 100])
def test_mixed_traffic_penetration_is_exact_and_evenly_spread(percent):
    scenario = load_scenario(f"mixed_traffic_p{percent}")
    cav_positions = sorted(c.depart_pos for c in scenario.cavs)
    all_positions = sorted([c.depart_pos for c in scenario.cavs] + [v.depart_pos for v in scenario.demand.vehicles])
    assert len(all_positions) == MIXED_TRAFFIC_QUEUE and len(cav_positions) == MIXED_TRAFFIC_QUEUE * percent // 100
    assert np.allclose(np.diff(all_positions), 7.5)             # one standing queue, same slots
    if 0 < percent < 100:                                        # no two CAV blocks bunch up
        assert np.max(np.diff(cav_positions)) <= 7.5 * math.ceil(100 / percent) + 1e-9
    assert scenario.detector is not None and scenario.detector.position > max(all_positions)


def test_comm_degradation_link_loss_schedule_matches_piecewise_linear_reference():
    scenario = load_scenario("comm_degradation")
    times = np.arange(0.0, 60.0, 0.1)
    reference = np.interp(times, [20.0, 25.0, 30.0, 35.0], [0.0, 1.0, 1.0, 0.0], left=0.0, right=0.0)
    for receiver in ("cav_1", "cav_5"):
        losses = np.array([scenario.link_loss("cav_0", receiver, t) for t in times])
        assert np.allclose(losses, reference, atol=1e-12)
    assert scenario.link_loss("cav_1", "cav_2", 27.0) == 0.0      # other links unaffected
    assert scenario.link_loss("cav_1", "cav_0", 27.0) == 0.0      # the schedule is directional


def test_sensor_dropouts_follow_the_fault_window():
    scenario = load_scenario("sensor_failure")
    assert scenario.sensor_dropouts("cav_0", 19.99) == frozenset()
    assert scenario.sensor_dropouts("cav_0", 20.0) == {"lidar", "radar"}
    assert scenario.sensor_dropouts("cav_0", 31.99) == {"lidar", "radar"}
    assert scenario.sensor_dropouts("cav_0", 32.0) == frozenset()
    permanent = SensorFaultEvent(time=5.0, cav="cav_0", sensors=("gnss",), mode="dropout")
    assert permanent.duration is None


@given(yaw=st.floats(-math.pi, math.pi), forward=st.floats(-50, 50), left=st.floats(-10, 10))
def test_ghost_sits_at_the_offset_in_the_attackers_frame(yaw, forward, left):
    ghost = GhostVehicleEvent(time=1.0, attacker="a", offset=(forward, left), speed_offset=-2.0)
    x, y, ghost_yaw, speed = ghost.ghost_state(100.0, -20.0, yaw, 1.0)
    # Reference: distance and bearing of the offset, rotated by the attacker's heading.
    assert math.hypot(x - 100.0, y + 20.0) == pytest.approx(math.hypot(forward, left), abs=1e-9)
    if math.hypot(forward, left) > 1e-6:
        bearing = math.atan2(y + 20.0, x - 100.0)
        expected = yaw + math.atan2(left, forward)
        assert math.cos(bearing - expected) == pytest.approx(1.0, abs=1e-9)
    assert ghost_yaw == yaw and speed == 0.0                      # 1 - 2 m/s clamps at standstill


def test_ghost_attack_is_active_only_in_its_window():
    scenario = load_scenario("ghost_attack")
    assert scenario.active_ghosts(17.9) == ()                 # ghost_vehicle: time 18 s, duration 15 s
    (ghost,) = scenario.active_ghosts(18.0)
    assert ghost.attacker == "attacker" and scenario.active_ghosts(33.0) == ()


@pytest.mark.parametrize("kwargs, match", [
    (dict(time=1.0, duration=5.0, sender="a", receivers=("a",), loss_start=0.0, loss_end=1.0), "sender"),
    (dict(time=1.0, duration=5.0, sender="a", receivers=("b",), loss_start=0.0, loss_end=1.5), "loss_end"),
    (dict(time=1.0, duration=0.0, sender="a", receivers=("b",), loss_start=0.0, loss_end=1.0), "duration"),
    (dict(time=1.0, duration=5.0, sender="a", receivers=(), loss_start=0.0, loss_end=1.0), "receivers"),
])
def test_link_loss_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LinkLossEvent(**kwargs)


def test_other_events_reject_bad_values():
    with pytest.raises(ValueError, match="mode"):
        SensorFaultEvent(time=1.0, cav="c", sensors=("lidar",), mode="stuck")
    with pytest.raises(ValueError, match="offset"):
        GhostVehicleEvent(time=1.0, attacker="a", offset=(1.0,))
    with pytest.raises(ValueError, match="lanes"):
        IncidentEvent(time=1.0, edge="e", closes=True, position=10.0, vehicle_type="car", lanes=())


@pytest.mark.parametrize("name, mutate, key", [
    ("comm_degradation", lambda d: d["events"][1].update(sender="leader"), "events[1].sender"),
    ("comm_degradation", lambda d: d["events"][1]["receivers"].append("nobody"), "events[1].receivers[5]"),
    ("sensor_failure", lambda d: d["events"][0].update(cav="lead"), "events[0].cav"),
    ("ghost_attack", lambda d: d["events"][0].update(attacker="phantom"), "events[0].attacker"),
    ("urban_incident", lambda d: d["events"][0].update(vehicle_type="tank"), "events[0].vehicle_type"),
    ("urban_incident", lambda d: d["events"][0].update(time=500.0), "events[0].time"),
    ("sensor_failure", lambda d: d["events"][0].update(mode="stuck"), "events[0]"),
])
def test_invalid_event_references_name_the_key(tmp_path, name, mutate, key):
    with pytest.raises(ParamsError) as info:
        load_scenario(_write_copy(tmp_path, name, mutate))
    assert info.value.key == key


def test_a_scenario_without_cavs_is_the_zero_penetration_reference():
    scenario = load_scenario("mixed_traffic_p0")
    assert scenario.cavs == () and len(scenario.demand.vehicles) == MIXED_TRAFFIC_QUEUE
