"""A stand-in for the CARLA server, replaying ``fixtures/recorded_frames.npz`` (tests only).

Only what needs a server is faked: client/world/actor handles and the sensor streams. Every
value object handed to the bridge is a real ``carla`` type (Transform, Location, Vector3D,
BoundingBox, VehiclePhysicsControl, WheelPhysicsControl, WorldSettings, GeoLocation) and the map
is a real ``carla.Map`` parsed from the fixture's OpenDRIVE, so the bridge's conversions run on
exactly what the client library gives it.
"""
from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

import carla
import numpy as np

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "recorded_frames.npz"
CLIENT_VERSION = carla.Client("127.0.0.1", 1).get_client_version()


def load_fixture() -> tuple[dict, dict[str, np.ndarray]]:
    data = np.load(FIXTURE)
    meta = json.loads(str(data["meta"]))
    return meta, {key: data[key] for key in data.files if key != "meta"}


def ue_transform(x: float, y: float, z: float, yaw_rep: float) -> carla.Transform:
    """A ``carla.Transform`` from REP 103 map values (written out here, independently of the bridge)."""
    return carla.Transform(carla.Location(x=x, y=-y, z=z), carla.Rotation(yaw=-math.degrees(yaw_rep)))


@dataclass
class Measurement:
    frame: int
    timestamp: float
    transform: carla.Transform
    raw_data: bytes = b""
    width: int = 0
    height: int = 0
    latitude: float = 0.0
    longitude: float = 0.0
    altitude: float = 0.0
    accelerometer: Any = None
    gyroscope: Any = None


class Attribute:
    def __init__(self, value: str):
        self.value = value

    def as_int(self) -> int:
        return int(self.value)


class Blueprint:
    def __init__(self, blueprint_id: str, attributes: dict[str, str]):
        self.id = blueprint_id
        self.attributes = dict(attributes)

    def has_attribute(self, name: str) -> bool:
        return name in self.attributes

    def set_attribute(self, name: str, value: str) -> None:
        if name not in self.attributes and not self.id.startswith("sensor."):
            raise IndexError(f"blueprint {self.id} has no attribute {name}")
        self.attributes[name] = value

    def get_attribute(self, name: str) -> Attribute:
        return Attribute(self.attributes[name])


class Library(list):
    def find(self, blueprint_id: str) -> Blueprint:
        for bp in self:
            if bp.id == blueprint_id:
                return Blueprint(bp.id, bp.attributes)
        raise IndexError(f"blueprint '{blueprint_id}' not found")

    def filter(self, pattern: str) -> Library:
        return Library(bp for bp in self if fnmatch.fnmatch(bp.id, pattern))


class ActorList(list):
    def filter(self, pattern: str) -> ActorList:
        return ActorList(a for a in self if fnmatch.fnmatch(a.type_id, pattern))


@dataclass
class ActorSnapshot:
    transform: carla.Transform
    velocity: carla.Vector3D
    acceleration: carla.Vector3D
    angular_velocity: carla.Vector3D

    def get_transform(self): return self.transform

    def get_velocity(self): return self.velocity

    def get_acceleration(self): return self.acceleration

    def get_angular_velocity(self): return self.angular_velocity


@dataclass
class WorldSnapshot:
    frame: int
    actors: dict[int, ActorSnapshot]

    def find(self, actor_id: int):
        return self.actors.get(actor_id)


class Vehicle:
    def __init__(self, server: FakeServer, actor_id: int, blueprint: Blueprint, transform: carla.Transform,
                 box: dict):
        self.server = server
        self.id = actor_id
        self.type_id = blueprint.id
        self.attributes = dict(blueprint.attributes)
        self.transform = transform
        self.velocity = carla.Vector3D()
        self.bounding_box = carla.BoundingBox(carla.Location(*box["location"]), carla.Vector3D(*box["extent"]))
        self.physics = True
        self.autopilot = False
        self.destroyed = False

    def get_transform(self): return self.transform

    def set_transform(self, transform): self.transform = transform

    def set_target_velocity(self, velocity): self.velocity = velocity

    def set_simulate_physics(self, enabled): self.physics = enabled

    def set_autopilot(self, enabled, port): self.autopilot = (enabled, port)

    def get_physics_control(self) -> carla.VehiclePhysicsControl:
        w = self.server.meta["wheels"]
        matrix = np.array(self.transform.get_matrix())
        wheels = []
        for x, steer in ((w["front_x"], w["max_steer_deg"]), (w["rear_x"], 0.0)):
            for y in (-w["half_track"], w["half_track"]):
                world = matrix @ np.array([x, y, w["z"], 1.0]) * 100.0
                wheels.append(carla.WheelPhysicsControl(max_steer_angle=steer, position=carla.Vector3D(
                    float(world[0]), float(world[1]), float(world[2]))))
        physics = carla.VehiclePhysicsControl()
        physics.wheels = wheels
        physics.steering_curve = [carla.Vector2D(0.0, 1.0), carla.Vector2D(120.0, 0.5)]
        return physics

    def destroy(self):
        self.destroyed = True
        self.server.actors.pop(self.id, None)
        return True


class Sensor:
    def __init__(self, server: FakeServer, actor_id: int, blueprint: Blueprint, transform, parent):
        self.server = server
        self.id = actor_id
        self.type_id = blueprint.id
        self.attributes = dict(blueprint.attributes)
        self.relative = transform
        self.parent = parent
        self.callback: Callable | None = None
        self.destroyed = False

    @property
    def name(self) -> str:
        return self.attributes["role_name"].split("/", 1)[1]

    def listen(self, callback): self.callback = callback

    def stop(self): self.callback = None

    def destroy(self):
        self.destroyed = True
        self.server.actors.pop(self.id, None)
        return True


class TrafficManager:
    def __init__(self, port):
        self.port = port
        self.sync = None
        self.seed = None

    def set_synchronous_mode(self, enabled): self.sync = enabled

    def set_random_device_seed(self, seed): self.seed = seed

    def get_port(self): return self.port


class TrafficLight:
    type_id = "traffic.traffic_light"

    def __init__(self, actor_id: int, opendrive_id: str):
        self.id = actor_id
        self.opendrive_id = opendrive_id
        self.state = carla.TrafficLightState.Green
        self.set_count = 0

    def get_opendrive_id(self): return self.opendrive_id

    def get_state(self): return self.state

    def set_state(self, state):
        self.state = state
        self.set_count += 1


@dataclass
class Response:
    actor_id: int = 0
    error: str = ""


@dataclass
class FakeServer:
    """State of the fake server; ``world`` and ``client`` are its handles."""

    version: str = "0.9.16"
    scripted: bool = True       # False: vehicles coast at their target velocity, no sensor frames
    meta: dict = field(default_factory=dict)
    buffers: dict = field(default_factory=dict)
    actors: dict = field(default_factory=dict)
    settings: carla.WorldSettings = field(default_factory=carla.WorldSettings)
    settings_log: list = field(default_factory=list)
    batches: list = field(default_factory=list)
    ticks_after_batch: list = field(default_factory=list)
    frame: int = 0
    next_id: int = 500
    loaded: list = field(default_factory=list)
    generated: list = field(default_factory=list)
    managers: dict = field(default_factory=dict)
    lights_frozen: bool = False

    def __post_init__(self):
        self.meta, self.buffers = load_fixture()
        self.map = carla.Map("fixture", self.meta["xodr"])
        self.frame = self.meta["first_frame"] - 1
        self.library = Library([
            Blueprint("vehicle.lincoln.mkz_2020", {"role_name": "", "base_type": "car", "number_of_wheels": "4"}),
            Blueprint("vehicle.tesla.model3", {"role_name": "", "base_type": "car", "number_of_wheels": "4"}),
            Blueprint("vehicle.yamaha.yzf", {"role_name": "", "base_type": "motorcycle", "number_of_wheels": "2"}),
            *[Blueprint(b, {"role_name": ""}) for b in (
                "sensor.lidar.ray_cast", "sensor.other.radar", "sensor.camera.instance_segmentation",
                "sensor.camera.rgb", "sensor.other.gnss", "sensor.other.imu")]])

    # --- scripted motion: the fixture scene ------------------------------------------------

    def time(self) -> float:
        return (self.frame - self.meta["first_frame"] + 1) * self.meta["dt"]

    def cav(self) -> Vehicle | None:
        return next((a for a in self.actors.values() if isinstance(a, Vehicle)
                     and a.attributes.get("role_name") == "cav_0"), None)

    def ego_pose(self, t: float) -> tuple[float, float, float]:
        m = self.meta
        c, s = math.cos(m["ego_yaw"]), math.sin(m["ego_yaw"])
        return m["ego_start"][0] + m["ego_speed"] * t * c, m["ego_start"][1] + m["ego_speed"] * t * s, m["ego_yaw"]

    # --- client and world handles ----------------------------------------------------------

    @property
    def client(self) -> FakeClient:
        return FakeClient(self)

    @property
    def world(self) -> FakeWorld:
        return FakeWorld(self)


class FakeClient:
    def __init__(self, server: FakeServer):
        self.server = server
        self.timeout = None

    def set_timeout(self, seconds): self.timeout = seconds

    def get_client_version(self): return CLIENT_VERSION

    def get_server_version(self): return self.server.version

    def get_world(self): return FakeWorld(self.server)

    def load_world(self, name):
        self.server.loaded.append(name)
        return FakeWorld(self.server)

    def generate_opendrive_world(self, xodr, parameters):
        server = self.server
        server.generated.append(xodr)
        server.map = carla.Map("generated", xodr)
        for landmark in server.map.get_all_landmarks():
            server.actors[server.next_id] = TrafficLight(server.next_id, landmark.id)
            server.next_id += 1
        return FakeWorld(self.server)

    def get_trafficmanager(self, port):
        return self.server.managers.setdefault(port, TrafficManager(port))

    def apply_batch_sync(self, commands, do_tick=False):
        self.server.batches.append(list(commands))
        self.server.ticks_after_batch.append(self.server.frame)
        return [Response() for _ in commands]

    def apply_batch(self, commands):
        self.server.batches.append(list(commands))
        for command in commands:
            if isinstance(command, carla.command.ApplyTransform):
                self.server.actors[command.actor_id].set_transform(command.transform)


class FakeWorld:
    def __init__(self, server: FakeServer):
        self.server = server

    def get_settings(self):
        s = self.server.settings
        return carla.WorldSettings(synchronous_mode=s.synchronous_mode,
                                   fixed_delta_seconds=s.fixed_delta_seconds or 0.0)

    def apply_settings(self, settings):
        self.server.settings = settings
        self.server.settings_log.append((settings.synchronous_mode, settings.fixed_delta_seconds))
        return self.server.frame

    def get_map(self): return self.server.map

    def get_blueprint_library(self): return self.server.library

    def get_actors(self): return ActorList(self.server.actors.values())

    def freeze_all_traffic_lights(self, frozen): self.server.lights_frozen = frozen

    def try_spawn_actor(self, blueprint, transform):
        server = self.server
        if blueprint.attributes.get("role_name") == "cav_0":
            actor_id = server.meta["ego_id"]
        else:
            actor_id, server.next_id = server.next_id, server.next_id + 1
        box = server.meta["ego_box"] if actor_id == server.meta["ego_id"] else server.meta["target_box"]
        vehicle = Vehicle(server, actor_id, blueprint, transform, box)
        server.actors[actor_id] = vehicle
        return vehicle

    def spawn_actor(self, blueprint, transform, attach_to=None):
        server = self.server
        sensor = Sensor(server, server.next_id, blueprint, transform, attach_to)
        server.next_id += 1
        server.actors[sensor.id] = sensor
        return sensor

    def tick(self, seconds=10.0):
        server = self.server
        server.frame += 1
        if not server.scripted:
            for actor in server.actors.values():
                if isinstance(actor, Vehicle) and actor.physics:
                    loc, v, dt = actor.transform.location, actor.velocity, server.meta["dt"]
                    actor.transform = carla.Transform(carla.Location(loc.x + v.x * dt, loc.y + v.y * dt, loc.z),
                                                      actor.transform.rotation)
            return server.frame
        cav = server.cav()
        if cav is not None:
            x, y, yaw = server.ego_pose(server.time())
            cav.transform = ue_transform(x, y, 0.0, yaw)
        self._deliver()
        return server.frame

    def get_snapshot(self):
        server = self.server
        m = server.meta
        actors = {}
        yaw = m["ego_yaw"]
        for actor in server.actors.values():
            if not isinstance(actor, Vehicle):
                continue
            speed = m["ego_speed"] if actor.id == m["ego_id"] else 0.0
            velocity = carla.Vector3D(speed * math.cos(yaw), -speed * math.sin(yaw), 0.0) if server.scripted \
                else actor.velocity
            actors[actor.id] = ActorSnapshot(actor.transform, velocity, carla.Vector3D(1.0 * math.cos(yaw),
                                             -1.0 * math.sin(yaw), 0.0), carla.Vector3D(0.0, 0.0, -5.0))
        return WorldSnapshot(server.frame, actors)

    def _deliver(self) -> None:
        server = self.server
        m = server.meta
        index = server.frame - m["first_frame"]
        if not 0 <= index < len(m["deliveries"]):
            return
        sensors = {a.name: a for a in server.actors.values() if isinstance(a, Sensor) and a.callback is not None}
        for name, frame in m["deliveries"][index]:
            sensor = sensors.get(name)
            if sensor is not None:
                sensor.callback(self._measurement(name, frame))

    def _measurement(self, name: str, frame: int) -> Measurement:
        m = self.server.meta
        stamp = (frame - m["first_frame"] + 1) * m["dt"]
        common = dict(frame=frame, timestamp=stamp, transform=carla.Transform())
        kind = name.split("/")[0]
        if kind == "camera":
            return Measurement(**common, raw_data=self.server.buffers[f"{name}@{frame}"].tobytes(),
                               width=m["camera"]["width"], height=m["camera"]["height"])
        if kind in ("lidar", "radar"):
            return Measurement(**common, raw_data=self.server.buffers[f"{name}@{frame}"].tobytes())
        if kind == "gnss":
            lat, lon, alt = m["gnss"][str(frame)]
            return Measurement(**common, latitude=lat, longitude=lon, altitude=alt)
        ax, ay, az = m["imu_accel_rep"]
        return Measurement(**common, accelerometer=carla.Vector3D(ax, -ay, az),
                           gyroscope=carla.Vector3D(0.0, 0.0, -m["imu_yaw_rate_rep"]))
