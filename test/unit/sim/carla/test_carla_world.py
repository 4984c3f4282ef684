"""CarlaWorld end to end against the fake server replaying the recorded frames (no live CARLA here)."""
import argparse
import dataclasses
import math
import socket

import carla
import pytest

from cav_stack.core.messages import ControlCommand, Header
from cav_stack.world.scenario import load_scenario
from cav_stack.world.sensor_rig import load_rig
from cav_stack.core.share import share_path
from cav_stack.app.world_selection import add_sim_arguments, open_world
from cav_stack.sim.carla import CarlaWorld, load_bridge_params
from cav_stack.sim.carla_client import CarlaConnectionError
from carla_fake_server import FakeServer
from make_recorded_frames import base_link, ego_origin

DT = 0.05


@pytest.fixture
def server(monkeypatch):
    fake = FakeServer()
    monkeypatch.setattr(carla, "Client", lambda host, port: fake.client)
    return fake


def fixture_rig(meta):
    rig = load_rig(share_path("sensors", "rig_32.yaml"))
    c = meta["camera"]
    camera = dataclasses.replace(rig.cameras[0], width=c["width"], height=c["height"], fx=c["fx"], fy=c["fy"],
                                 cx=c["cx"], cy=c["cy"], pixel_sigma=1e-9, detection_probability=1.0)
    # the recorded frames hold the front radar only (recorded before the rear-corner radars)
    return dataclasses.replace(rig, radars=rig.radars[:1], cameras=(camera,))


def make_world(server, tmp_path, town="Fixture"):
    params = dataclasses.replace(load_bridge_params(), sensor_timeout=0.2, background_vehicles=0)
    return CarlaWorld(load_scenario("highway_cut_in"), 5, host="127.0.0.1", port=2000, town=town,
                      cache_dir=tmp_path, params=params, rig=fixture_rig(server.meta))


def test_start_configures_sync_mode_spawns_and_converts(server, tmp_path):
    with make_world(server, tmp_path) as world:
        truth = world.start()
        assert server.loaded == ["Fixture"]
        assert server.settings_log[0] == (True, DT)
        manager = server.managers[8000]
        assert manager.sync is True and manager.seed == 5
        assert truth.stamp == pytest.approx(DT) and world.time == pytest.approx(DT)
        (cav,) = truth.vehicles
        origin = ego_origin(DT)
        yaw = server.meta["ego_yaw"]
        assert cav.vehicle_id == "cav_0" and cav.is_cav
        assert (cav.x, cav.y) == pytest.approx((origin[0] + 0.1 * math.cos(yaw), origin[1] + 0.1 * math.sin(yaw)),
                                               abs=1e-4)
        assert cav.yaw == pytest.approx(yaw, abs=1e-6) and cav.speed == pytest.approx(10.0, abs=1e-4)
        assert (cav.length, cav.width) == pytest.approx((4.8, 2.0))
        ego = world.ego_state("cav_0")
        assert (ego.x, ego.y) == pytest.approx(tuple(base_link(DT)), abs=1e-4)   # rear axle from wheel positions
        lidar = next(a for a in server.actors.values() if getattr(a, "type_id", "") == "sensor.lidar.ray_cast")
        loc = lidar.relative.location
        assert (loc.x, loc.y, loc.z) == pytest.approx((1.3 - 1.45, 0.0, 1.9), abs=1e-5)
        assert lidar.attributes["channels"] == "32"
        msgs = world.sensor_messages("cav_0")
        assert msgs.missing == () and msgs.stamp == pytest.approx(DT)
        assert len(msgs.lidar) == 1 and len(msgs.radar[0].detections) == 6
        assert len(msgs.camera[0].detections) == 3           # target, pedestrian, bicycle; own bonnet ignored
        assert (msgs.gnss.x, msgs.gnss.y) == pytest.approx(tuple(base_link(DT)), abs=0.02)
        assert msgs.imu.yaw_rate == pytest.approx(server.meta["imu_yaw_rate_rep"])
        assert msgs.odometry is not None


def test_steps_report_missing_and_stale_frames_and_apply_commands_in_their_tick(server, tmp_path):
    with make_world(server, tmp_path) as world:
        world.start()
        truth = world.step()                                  # frame 1002: the radar frame was lost
        assert truth.stamp == pytest.approx(2 * DT)
        msgs = world.sensor_messages("cav_0")
        assert msgs.missing == ("radar/radar_front",) and msgs.radar == ()
        assert msgs.lidar == () and msgs.gnss is None         # 10 Hz sensors are not due on even ticks
        world.apply_control("cav_0", ControlCommand(Header(world.time, "base_link"), accel=1.0, steer=0.05))
        world.step()                                          # frame 1003: stale camera frame 1002 first
        (batch,) = [b for b in server.batches if b]
        (command,) = batch
        assert command.actor_id == server.meta["ego_id"]
        assert server.ticks_after_batch == [1002]             # applied before the tick that follows it
        assert command.control.throttle > 0.0 and command.control.brake == 0.0 and command.control.steer < 0.0
        msgs = world.sensor_messages("cav_0")
        assert ("camera/camera_front", 1002) in msgs.discarded and msgs.missing == ()
        assert len(msgs.lidar) == 1 and len(msgs.camera) == 1
    assert server.settings.synchronous_mode is False          # settings restored on close
    assert server.managers[8000].sync is False
    assert not server.actors                                  # sensors and vehicles destroyed


def test_control_and_state_errors(server, tmp_path):
    world = make_world(server, tmp_path)
    with pytest.raises(RuntimeError, match="not started"):
        world.step()
    world.start()
    with pytest.raises(KeyError, match="'cav_9' is not a CAV"):
        world.apply_control("cav_9", ControlCommand(Header(0.0, "base_link"), 0.0, 0.0))
    with pytest.raises(ValueError, match="non-finite"):
        world.apply_control("cav_0", ControlCommand(Header(0.0, "base_link"), math.nan, 0.0))
    with pytest.raises(ValueError, match="non-finite"):
        world.set_cav_state("cav_0", 0.0, math.inf, 0.0, 1.0)
    world.close()
    with pytest.raises(RuntimeError, match="closed"):
        world.step()


def test_teleport_places_the_box_centre(server, tmp_path):
    with make_world(server, tmp_path) as world:
        world.start()
        world.set_cav_state("cav_0", 20.0, 5.0, 1.0, 3.0)
        actor = server.cav()
        loc = actor.transform.location
        # actor origin is 0.1 m behind the box centre along yaw; UE y is mirrored
        assert (loc.x, -loc.y) == pytest.approx((20.0 - 0.1 * math.cos(1.0), 5.0 - 0.1 * math.sin(1.0)), abs=1e-4)
        assert actor.transform.rotation.yaw == pytest.approx(-math.degrees(1.0), abs=1e-4)
        assert math.hypot(actor.velocity.x, actor.velocity.y) == pytest.approx(3.0, abs=1e-5)


def test_unreachable_server_is_reported_by_start(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    params = load_bridge_params()
    world = CarlaWorld(load_scenario("highway_cut_in"), 1, host="127.0.0.1", port=port, town=None,
                       cache_dir=tmp_path, params=params, rig=load_rig(share_path("sensors", params.rig)),
                       timeout=1.0)
    with pytest.raises(CarlaConnectionError, match=f"127.0.0.1:{port}"):
        world.start()


def parse(*argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--sumo-backend", default="libsumo")
    add_sim_arguments(parser)
    return parser.parse_args(argv)


def test_open_world_selects_and_validates(tmp_path):
    scenario = load_scenario("highway_cut_in")
    world = open_world(parse("--sim", "carla", "--host", "h", "--port", "2345", "--town", "Town04"), scenario, 1,
                       tmp_path)
    assert isinstance(world, CarlaWorld) and (world.host, world.port, world.town) == ("h", 2345, "Town04")
    assert world.timeout == load_bridge_params().connect_timeout
    from cav_stack.sim.carla_cosim import CarlaSumoWorld
    from cav_stack.sim.sumo import SumoWorld
    assert isinstance(open_world(parse("--sim", "carla+sumo", "--carla-timeout", "2"), scenario, 1, tmp_path),
                      CarlaSumoWorld)
    assert isinstance(open_world(parse(), scenario, 1, tmp_path), SumoWorld)
    with pytest.raises(ValueError, match="--town cannot be used with --sim carla\\+sumo"):
        open_world(parse("--sim", "carla+sumo", "--town", "Town04"), scenario, 1, tmp_path)
    with pytest.raises(ValueError, match="--town needs --sim carla"):
        open_world(parse("--town", "Town04"), scenario, 1, tmp_path)
    with pytest.raises(ValueError, match="--carla-timeout must be > 0"):
        open_world(parse("--sim", "carla", "--carla-timeout", "0"), scenario, 1, tmp_path)
