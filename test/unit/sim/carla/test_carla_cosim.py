"""CARLA + SUMO co-simulation: real SUMO (libsumo) with the fake CARLA server standing in for CARLA."""
import dataclasses
import math

import carla
import pytest

from cav_stack.core.messages import ControlCommand, Header
from cav_stack.world.scenario import load_scenario
from cav_stack.world.sensor_rig import load_rig
from cav_stack.core.share import share_path
from cav_stack.sim.carla import load_bridge_params
from cav_stack.sim.carla_cosim import CarlaSumoWorld
from cav_stack.sim.carla_frames import CarlaFrame
from cav_stack.sim.carla_maps import carla_light_state, signal_link
from carla_fake_server import FakeServer, TrafficLight, Vehicle

pytest.importorskip("libsumo")
DT = 0.05


@pytest.fixture
def server(monkeypatch):
    fake = FakeServer(scripted=False)
    monkeypatch.setattr(carla, "Client", lambda host, port: fake.client)
    return fake


def make_world(tmp_path):
    params = dataclasses.replace(load_bridge_params(), sensor_timeout=0.01)
    return CarlaSumoWorld(load_scenario("signalized_corridor"), 3, host="127.0.0.1", port=2000, cache_dir=tmp_path,
                          params=params, rig=load_rig(share_path("sensors", params.rig)))


def check_lights(server, signals):
    by_tls = {s.tls_id: s.state for s in signals}
    lights = [a for a in server.actors.values() if isinstance(a, TrafficLight)]
    assert lights
    for light in lights:
        tls, index = signal_link(light.opendrive_id)
        assert light.state == carla_light_state(by_tls[tls][index]), light.opendrive_id


def test_one_clock_mirroring_signals_and_cav_push(server, tmp_path):
    frame = CarlaFrame()
    with make_world(tmp_path) as world:
        truth = world.start()
        assert server.generated and server.lights_frozen
        sumo = world._sumo
        assert truth.stamp == pytest.approx(sumo.time)
        background = [v for v in truth.vehicles if not v.is_cav]
        mirrored = [a for a in server.actors.values() if isinstance(a, Vehicle) and a.attributes["role_name"] ==
                    "sumo_driver"]
        assert len(mirrored) == len(background) > 0 and not any(a.physics for a in mirrored)
        check_lights(server, truth.signals)
        cav_start = truth.vehicle("cav_0")
        world.apply_control("cav_0", ControlCommand(Header(world.time, "base_link"), accel=0.5, steer=0.0))
        previous = truth
        for _ in range(40):
            truth = world.step()
            assert truth.stamp == pytest.approx(previous.stamp + DT, abs=1e-9)
            # SUMO holds the CAV where CARLA had it one step earlier (pushed with moveToXY)
            in_sumo = sumo.truth.vehicle("cav_0")
            before = previous.vehicle("cav_0")
            assert math.hypot(in_sumo.x - before.x, in_sumo.y - before.y) < 0.05
            previous = truth
        cav = truth.vehicle("cav_0")
        expected = cav_start.speed * 40 * DT                   # the fake coasts the CAV at its spawn speed
        assert math.hypot(cav.x - cav_start.x, cav.y - cav_start.y) == pytest.approx(expected, rel=0.02)
        actors = {a.attributes["role_name"]: a for a in server.actors.values() if isinstance(a, Vehicle)}
        assert "cav_0" in actors
        for vehicle in truth.vehicles:
            if vehicle.is_cav:
                continue
            actor = world._mirrored[vehicle.vehicle_id]
            x, y, _ = frame.to_map(actor.transform.location)  # target box centred on the actor origin
            assert (x, y) == pytest.approx((vehicle.x, vehicle.y), abs=1e-3), vehicle.vehicle_id
        check_lights(server, truth.signals)
        assert any(b for b in server.batches if isinstance(b[0], carla.command.ApplyVehicleControl))
        assert world.sensor_messages("cav_0").missing      # the fake delivers no frames: all reported missing
    assert server.settings.synchronous_mode is False
    assert sumo._sim is None
