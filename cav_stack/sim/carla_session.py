"""One synchronous CARLA episode: settings, Traffic Manager, CAVs with their rig, ticks, truth, teardown.

Shared by the stand-alone world (:mod:`cav_stack.sim.carla`) and the co-simulation with SUMO
(:mod:`cav_stack.sim.carla_cosim`). The session puts the server in synchronous mode with a fixed
``fixed_delta_seconds`` and the Traffic Manager in synchronous mode with the run's seed, and
restores the server's previous settings on :meth:`CarlaSession.close`.

Per tick (:meth:`CarlaSession.tick`): the CAV commands stored for this tick are applied in one
synchronous batch (each command is applied in the tick it was computed for), the world ticks, the
snapshot of that frame gives the truth, and the sensor frames of that frame are collected and
converted (:mod:`cav_stack.sim.carla_sensors`); a sensor without its frame is reported in
:attr:`SensorMessages.missing`, never filled from another tick.

Vehicle geometry: truth positions are bounding-box centres in ``map``; a CAV's ``base_link`` (rear
axle on the ground) is located in the actor from its physics control (rear wheels: those that do
not steer; wheel positions are world positions in centimetres in CARLA 0.9.x).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.core.messages import (MAP_FRAME, CameraFrame, ControlCommand, EgoState, GnssFix, Header, ImuSample,
                                     PointCloud, RadarFrame, WheelOdometry)
from cav_stack.core.truth import VehicleTruth
from cav_stack.world.sensor_rig import SensorRig
from cav_stack.sim.carla_actuation import LongitudinalModel, SteeringMap, vehicle_control
from cav_stack.sim.carla_client import require_carla
from cav_stack.sim.carla_frames import CarlaFrame, Pose3, relative_transform, vector_to_rep103
from cav_stack.sim.carla_sensors import (CarlaSensorRealisation, SensorSpec, gnss_fix, imu_sample, instance_boxes,
                                         lidar_cloud, publish_period_ticks, radar_frame, rig_sensor_specs)
from cav_stack.sim.carla_sync import SensorFrameMatcher, TickFrames

#: CARLA blueprint ``base_type`` -> SUMO vehicle class used in truth.
VCLASS_BY_BASE_TYPE = {"car": "passenger", "van": "delivery", "truck": "truck", "bus": "bus",
                       "motorcycle": "motorcycle", "bicycle": "bicycle"}
_CM_PER_M = 100.0


@dataclass(frozen=True)
class SensorMessages:
    """What one CAV's rig delivered at one tick, as core messages (empty for sensors not due).

    stamp [s]; missing: names of due sensors whose frame did not arrive for this tick;
    discarded: (sensor, frame) of late frames of earlier ticks that were thrown away.
    """

    stamp: float
    lidar: tuple[PointCloud, ...] = ()
    radar: tuple[RadarFrame, ...] = ()
    camera: tuple[CameraFrame, ...] = ()
    gnss: GnssFix | None = None
    imu: ImuSample | None = None
    odometry: WheelOdometry | None = None
    missing: tuple[str, ...] = ()
    discarded: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ActorGeometry:
    """Static geometry of a vehicle actor: box size [m], box centre and ``base_link`` in the actor
    frame (REP 103 axes) [m], SUMO vehicle class."""

    length: float
    width: float
    height: float
    centre_x: float
    centre_y: float
    base_link: Pose3
    vehicle_class: str


def base_link_in_actor(actor_transform: Any, wheel_positions_cm: list[Any], steer_angles: list[float],
                       bounding_box: Any) -> Pose3:
    """Pose of ``base_link`` (rear-axle centre on the ground) in the actor frame (REP 103 axes).

    actor_transform: the actor's ``carla.Transform`` when the wheel positions were read;
    wheel_positions_cm: world positions of the wheels [cm, UE]; steer_angles: each wheel's
    ``max_steer_angle`` [deg] (rear wheels have 0); bounding_box: the actor's ``bounding_box``.
    """
    rear = [p for p, angle in zip(wheel_positions_cm, steer_angles, strict=True) if angle <= 0.0]
    if not rear:
        raise ValueError("vehicle has no non-steering (rear) wheel to place base_link on")
    inverse = np.array(actor_transform.get_inverse_matrix())
    local = [inverse @ np.array([p.x / _CM_PER_M, p.y / _CM_PER_M, p.z / _CM_PER_M, 1.0]) for p in rear]
    rear_x = float(np.mean([q[0] for q in local]))
    ground_z = float(bounding_box.location.z - bounding_box.extent.z)
    return Pose3(rear_x, 0.0, ground_z)


def actor_geometry(actor: Any, base_link: Pose3) -> ActorGeometry:
    """:class:`ActorGeometry` of a vehicle actor with its ``base_link`` pose."""
    box = actor.bounding_box
    base_type = str(actor.attributes.get("base_type", "car")).lower()
    return ActorGeometry(2.0 * box.extent.x, 2.0 * box.extent.y, 2.0 * box.extent.z, float(box.location.x),
                         -float(box.location.y), base_link, VCLASS_BY_BASE_TYPE.get(base_type, "passenger"))


def vehicle_truth(vehicle_id: str, snapshot: Any, geometry: ActorGeometry, frame: CarlaFrame, *,
                  is_cav: bool, road: tuple[str, int, float] = ("", 0, 0.0)) -> VehicleTruth:
    """Truth of a vehicle from its ``carla.ActorSnapshot`` (box centre in ``map``; pitch and roll ignored).

    road: (edge_id, lane_index, lane_position [m]) when the caller knows them.
    """
    pose = frame.to_pose(snapshot.get_transform())
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    vx, vy, _ = vector_to_rep103(snapshot.get_velocity())
    ax, ay, _ = vector_to_rep103(snapshot.get_acceleration())
    return VehicleTruth(
        vehicle_id=vehicle_id, x=pose.x + c * geometry.centre_x - s * geometry.centre_y,
        y=pose.y + s * geometry.centre_x + c * geometry.centre_y, yaw=pose.yaw,
        speed=c * vx + s * vy, accel=c * ax + s * ay, length=geometry.length, width=geometry.width,
        height=geometry.height, edge_id=road[0], lane_index=road[1], lane_position=road[2],
        vehicle_class=geometry.vehicle_class, is_cav=is_cav)


class _Cav:
    """A CAV actor with its rig, command slot and actuation maps."""

    def __init__(self, cav_id: str, actor: Any, geometry: ActorGeometry, steering: SteeringMap,
                 specs: tuple[SensorSpec, ...], matcher: SensorFrameMatcher):
        self.cav_id = cav_id
        self.actor = actor
        self.geometry = geometry
        self.steering = steering
        self.specs = specs
        self.matcher = matcher
        self.sensors: list[Any] = []
        self.command: ControlCommand | None = None
        self.speed = 0.0
        self.yaw_rate = 0.0


class CarlaSession:
    """A synchronous CARLA episode on ``client``'s current world (module docstring).

    fixed_delta [s]; seed seeds the Traffic Manager, sensor noise and spawn choices;
    sensor_timeout [s] bounds the wait for one tick's sensor frames; tick_timeout [s] the wait for
    the server to finish a tick.
    """

    def __init__(self, client: Any, *, fixed_delta: float, traffic_manager_port: int, seed: int,
                 rig: SensorRig, realisation: CarlaSensorRealisation, longitudinal: LongitudinalModel,
                 sensor_timeout: float, tick_timeout: float, frame: CarlaFrame):
        self.client = client
        self.world = client.get_world()
        self.fixed_delta = float(fixed_delta)
        self.seed = int(seed)
        self.rig = rig
        self.realisation = realisation
        self.longitudinal = longitudinal
        self.sensor_timeout = float(sensor_timeout)
        self.tick_timeout = float(tick_timeout)
        self.frame = frame
        self.rng = np.random.default_rng(self.seed)
        self.map = self.world.get_map()
        self._original_settings = self.world.get_settings()
        self._traffic_manager_port = int(traffic_manager_port)
        self.traffic_manager: Any = None
        self.cavs: dict[str, _Cav] = {}
        self.geometry: dict[int, ActorGeometry] = {}
        self._own_actors: list[Any] = []
        self.tick_index = 0
        self.frame_number = -1
        self.snapshot: Any = None
        self._closed = False
        try:
            self.traffic_manager = client.get_trafficmanager(self._traffic_manager_port)
            self.traffic_manager.set_synchronous_mode(True)
            self.traffic_manager.set_random_device_seed(self.seed)
            settings = self.world.get_settings()
            settings.synchronous_mode = True
            settings.fixed_delta_seconds = self.fixed_delta
            self.world.apply_settings(settings)
        except BaseException:
            self.close()
            raise

    @property
    def traffic_manager_port(self) -> int:
        return self._traffic_manager_port

    # --- actors -----------------------------------------------------------------------------

    def blueprint(self, blueprint_id: str, role_name: str) -> Any:
        """The blueprint ``blueprint_id`` with ``role_name`` set (ValueError if unknown)."""
        try:
            blueprint = self.world.get_blueprint_library().find(blueprint_id)
        except (IndexError, RuntimeError) as exc:
            raise ValueError(f"CARLA has no blueprint '{blueprint_id}'") from exc
        if blueprint.has_attribute("role_name"):
            blueprint.set_attribute("role_name", role_name)
        return blueprint

    def spawn_vehicle(self, blueprint_id: str, transform: Any, role_name: str) -> Any:
        """Spawn a vehicle (owned by the session); RuntimeError naming the place if it is blocked."""
        actor = self.world.try_spawn_actor(self.blueprint(blueprint_id, role_name), transform)
        if actor is None:
            loc = transform.location
            raise RuntimeError(f"CARLA could not spawn {blueprint_id} ('{role_name}') at "
                               f"({loc.x:.1f}, {loc.y:.1f}, {loc.z:.1f}) UE: the place is occupied or off the map")
        self._own_actors.append(actor)
        self.geometry[actor.id] = actor_geometry(actor, Pose3(0.0, 0.0, 0.0))
        return actor

    def add_cav(self, cav_id: str, blueprint_id: str, transform: Any, speed: float) -> None:
        """Spawn CAV ``cav_id`` at ``transform`` moving at ``speed`` [m/s] and attach its rig."""
        carla = require_carla()
        actor = self.spawn_vehicle(blueprint_id, transform, cav_id)
        physics = actor.get_physics_control()
        base_link = base_link_in_actor(actor.get_transform(), [w.position for w in physics.wheels],
                                       [float(w.max_steer_angle) for w in physics.wheels], actor.bounding_box)
        geometry = actor_geometry(actor, base_link)
        self.geometry[actor.id] = geometry
        reference = self.map.transform_to_geolocation(carla.Location(0.0, 0.0, 0.0))
        specs = rig_sensor_specs(self.rig, self.realisation, 1.0 / self.fixed_delta,
                                 int(self.rng.integers(0, 2 ** 31 - 2)), reference.latitude)
        cav = _Cav(cav_id, actor, geometry, SteeringMap.from_physics_control(physics), specs,
                   SensorFrameMatcher([spec.name for spec in specs], self.sensor_timeout))
        self.cavs[cav_id] = cav
        for spec in specs:
            blueprint = self.blueprint(spec.blueprint, f"{cav_id}/{spec.name}")
            for key, value in spec.attributes.items():
                blueprint.set_attribute(key, value)
            mount = Pose3(base_link.x + spec.mounting.x, base_link.y + spec.mounting.y,
                          base_link.z + spec.mounting.z, spec.mounting.roll, spec.mounting.pitch, spec.mounting.yaw)
            sensor = self.world.spawn_actor(blueprint, relative_transform(mount), attach_to=actor)
            cav.sensors.append(sensor)
            sensor.listen(cav.matcher.callback(spec.name))
        forward = transform.get_forward_vector()
        actor.set_target_velocity(carla.Vector3D(forward.x * speed, forward.y * speed, forward.z * speed))
        cav.speed = float(speed)

    def destroy(self, actor: Any) -> None:
        """Destroy a session-owned actor."""
        if actor in self._own_actors:
            self._own_actors.remove(actor)
        self.geometry.pop(actor.id, None)
        actor.destroy()

    # --- stepping ---------------------------------------------------------------------------

    def set_command(self, cav_id: str, command: ControlCommand) -> None:
        """Store ``command`` for the next :meth:`tick` of CAV ``cav_id`` (KeyError if unknown)."""
        if cav_id not in self.cavs:
            raise KeyError(f"'{cav_id}' is not a CAV of this CARLA session (CAVs: {', '.join(self.cavs)})")
        if not (math.isfinite(command.accel) and math.isfinite(command.steer)):
            raise ValueError(f"non-finite command for {cav_id}: accel={command.accel}, steer={command.steer}")
        self.cavs[cav_id].command = command

    def tick(self) -> int:
        """Apply the stored commands in one batch, tick the world; return the new frame number."""
        carla = require_carla()
        batch = [carla.command.ApplyVehicleControl(cav.actor.id, vehicle_control(
                     cav.command, cav.speed, self.longitudinal, cav.steering))
                 for cav in self.cavs.values() if cav.command is not None]
        if batch:
            for response in self.client.apply_batch_sync(batch, False):
                if response.error:
                    raise RuntimeError(f"CARLA refused a vehicle control: {response.error}")
        self.frame_number = int(self.world.tick(self.tick_timeout))
        self.tick_index += 1
        self.snapshot = self.world.get_snapshot()
        if self.snapshot.frame != self.frame_number:
            raise RuntimeError(f"CARLA snapshot is of frame {self.snapshot.frame}, the tick was frame "
                               f"{self.frame_number}")
        for cav in self.cavs.values():
            state = self.snapshot.find(cav.actor.id)
            if state is None:
                raise RuntimeError(f"CAV '{cav.cav_id}' (actor {cav.actor.id}) is gone from the CARLA world")
            yaw = self.frame.to_pose(state.get_transform()).yaw
            vx, vy, _ = vector_to_rep103(state.get_velocity())
            cav.speed = math.cos(yaw) * vx + math.sin(yaw) * vy
            cav.yaw_rate = math.radians(-state.get_angular_velocity().z)
        return self.frame_number

    def truth_of(self, actor_id: int, vehicle_id: str, *, is_cav: bool,
                 road: tuple[str, int, float] = ("", 0, 0.0)) -> VehicleTruth | None:
        """Truth of a session-known actor in the last tick's snapshot (None if it is gone)."""
        state = self.snapshot.find(actor_id) if self.snapshot is not None else None
        if state is None:
            return None
        return vehicle_truth(vehicle_id, state, self.geometry[actor_id], self.frame, is_cav=is_cav, road=road)

    def ego_state(self, cav_id: str, stamp: float) -> EgoState:
        """True ``base_link`` state of CAV ``cav_id`` in ``map`` at the last tick (for baselines/metrics)."""
        cav = self.cavs[cav_id]
        state = self.snapshot.find(cav.actor.id)
        pose = self.frame.to_pose(state.get_transform())
        c, s = math.cos(pose.yaw), math.sin(pose.yaw)
        b = cav.geometry.base_link
        ax, ay, _ = vector_to_rep103(state.get_acceleration())
        return EgoState(Header(stamp, MAP_FRAME), pose.x + c * b.x - s * b.y, pose.y + s * b.x + c * b.y,
                        float(wrap_angle(pose.yaw)), cav.speed, c * ax + s * ay, cav.yaw_rate,
                        cav.command.steer if cav.command is not None else 0.0)

    def sensor_messages(self, cav_id: str, stamp: float) -> SensorMessages:
        """Collect CAV ``cav_id``'s frames of the last tick and convert those due at this tick."""
        cav = self.cavs[cav_id]
        frames = cav.matcher.collect(self.frame_number)
        due = [spec for spec in cav.specs if (self.tick_index - 1) % spec.period_ticks == 0]
        return self._convert(cav, frames, due, stamp)

    def _convert(self, cav: _Cav, frames: TickFrames, due: list[SensorSpec], stamp: float) -> SensorMessages:
        lidar, radar, camera = [], [], []
        gnss = imu = None
        rig = self.rig
        for spec in due:
            data = frames.data.get(spec.name)
            if data is None:
                continue
            if spec.kind == "lidar":
                lidar_params = next(p for p in rig.lidars if p.frame_id == spec.frame_id)
                lidar.append(lidar_cloud(data.raw_data, stamp, spec.frame_id, lidar_params.min_range,
                                         lidar_params.max_range))
            elif spec.kind == "radar":
                radar_params = next(p for p in rig.radars if p.frame_id == spec.frame_id)
                radar.append(radar_frame(data.raw_data, stamp, spec.frame_id, self.realisation.radar_rcs_dbsm,
                                         radar_params.min_range))
            elif spec.kind == "camera":
                camera_params = next(p for p in rig.cameras if p.frame_id == spec.frame_id)
                camera.append(instance_boxes(data.raw_data, data.width, data.height, stamp, camera_params,
                                             self.realisation.camera_min_pixels, self.rng,
                                             frozenset({cav.actor.id})))
            elif spec.kind == "gnss":
                gnss = gnss_fix(data.latitude, data.longitude, data.altitude, self.map, self.frame, stamp,
                                rig.gnss.sigma)
            elif spec.kind == "imu":
                imu = imu_sample(data.accelerometer, data.gyroscope, stamp, spec.frame_id)
        odo = rig.wheel_odometry
        odometry = None
        if (self.tick_index - 1) % publish_period_ticks(odo.rate, 1.0 / self.fixed_delta, "wheel odometry") == 0:
            odometry = WheelOdometry(Header(stamp, odo.frame_id), cav.speed * (1.0 + odo.scale_error)
                                     + float(self.rng.normal(0.0, odo.speed_sigma)))
        due_names = {spec.name for spec in due}
        return SensorMessages(stamp, tuple(lidar), tuple(radar), tuple(camera), gnss, imu, odometry,
                              tuple(n for n in frames.missing if n in due_names), frames.discarded)

    # --- teardown ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop and destroy sensors and owned actors, restore the server's settings. Idempotent."""
        if self._closed:
            return
        self._closed = True
        errors: list[str] = []
        for cav in self.cavs.values():
            for sensor in cav.sensors:
                try:
                    sensor.stop()
                    sensor.destroy()
                except RuntimeError as exc:
                    errors.append(str(exc))
        for actor in self._own_actors:
            try:
                actor.destroy()
            except RuntimeError as exc:
                errors.append(str(exc))
        self._own_actors.clear()
        try:
            if self.traffic_manager is not None:
                self.traffic_manager.set_synchronous_mode(False)
            self.world.apply_settings(self._original_settings)
        except RuntimeError as exc:
            errors.append(str(exc))
        if errors:
            raise RuntimeError("CARLA teardown incomplete: " + "; ".join(errors))
