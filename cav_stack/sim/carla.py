"""World bridge to CARLA (stand-alone), and the ``--sim`` options of ``cav-stack drive``.

:class:`CarlaWorld` (on :class:`CarlaRun`, shared with the co-simulation) runs one synchronous
CARLA episode (:mod:`cav_stack.sim.carla_session`): either on a CARLA town (``--town``; CAVs at
spawn points drawn with the seed) or on the scenario's own road network, generated in CARLA from
its OpenDRIVE export (CAVs at their scenario depart positions). Background traffic is driven by
CARLA's Traffic Manager. CARLA's physics moves the CAVs: :meth:`CarlaRun.apply_control` stores
the stack's command, turned into throttle, brake and steer (:mod:`cav_stack.sim.carla_actuation`)
and applied in the next tick. :meth:`CarlaRun.set_cav_state` instead teleports a CAV (when the
stack's own plant drives it).

The bridge targets CARLA 0.9.16 (``pip install 'cav_stack[carla]'``); ``carla`` is imported
lazily. Parameters: ``sensors/carla_rig.yaml`` (node ``carla_bridge``).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from cav_stack.core.messages import ControlCommand, EgoState
from cav_stack.core.params import load_node_params, validate_positive
from cav_stack.core.truth import SignalTruth, VehicleTruth, WorldTruth
from cav_stack.world.scenario import Scenario
from cav_stack.world.sensor_rig import SensorRig, load_rig
from cav_stack.world.road_map import RoadMap
from cav_stack.core.share import share_path
from cav_stack.sim.carla_actuation import LongitudinalModel
from cav_stack.sim.carla_client import connect, require_carla
from cav_stack.sim.carla_frames import CarlaFrame, Pose3
from cav_stack.sim.carla_maps import lane_pose, scenario_opendrive, sumo_state_char, town_road_map
from cav_stack.sim.carla_sensors import CarlaSensorRealisation
from cav_stack.sim.carla_session import CarlaSession, SensorMessages
from cav_stack.sim.network_build import build_network

__all__ = ["CarlaBridgeParams", "CarlaRun", "CarlaWorld", "SensorMessages", "load_bridge_params"]

BRIDGE_NODE_NAME = "carla_bridge"


@dataclass(frozen=True)
class CarlaBridgeParams:
    """CARLA bridge parameters (``sensors/carla_rig.yaml``).

    rig: sensor rig file in ``sensors/``; fixed_delta_seconds: CARLA tick [s]; connect_timeout:
    client timeout of every RPC [s]; sensor_timeout: longest wait for one tick's sensor frames
    [s]; traffic_manager_port; cav_blueprint: CARLA blueprint of the CAVs; background_vehicles:
    Traffic-Manager vehicles in a stand-alone run; background_filter: their blueprint pattern;
    spawn_lift: height above the road at which vehicles are placed [m]; sumo_blueprints: SUMO
    vClass -> CARLA blueprint of mirrored SUMO vehicles (co-simulation); sensors: what CARLA
    needs beyond the rig; longitudinal: the calibrated pedal model of ``cav_blueprint``.
    """

    rig: str
    fixed_delta_seconds: float
    connect_timeout: float
    sensor_timeout: float
    traffic_manager_port: int
    cav_blueprint: str
    background_vehicles: int
    background_filter: str
    spawn_lift: float
    sumo_blueprints: dict[str, str]
    sensors: CarlaSensorRealisation
    longitudinal: LongitudinalModel

    def __post_init__(self) -> None:
        validate_positive(fixed_delta_seconds=self.fixed_delta_seconds, connect_timeout=self.connect_timeout,
                          sensor_timeout=self.sensor_timeout, traffic_manager_port=self.traffic_manager_port)
        if self.background_vehicles < 0 or self.spawn_lift < 0.0:
            raise ValueError("background_vehicles and spawn_lift must be >= 0")
        if "passenger" not in self.sumo_blueprints:
            raise ValueError("sumo_blueprints needs at least the 'passenger' class (the fallback)")


def load_bridge_params(path: str | Path | None = None) -> CarlaBridgeParams:
    """Load :class:`CarlaBridgeParams` (default ``sensors/carla_rig.yaml``); raises ParamsError."""
    return load_node_params(path or share_path("sensors", "carla_rig.yaml"), BRIDGE_NODE_NAME, CarlaBridgeParams)


def load_bridge_rig(params: CarlaBridgeParams) -> SensorRig:
    """The sensor rig named by ``params.rig`` (a file in ``sensors/``)."""
    return load_rig(share_path("sensors", params.rig))


class CarlaRun(ABC):
    """What the stand-alone and the co-simulated CARLA worlds share: lifecycle, clock, truth and
    the per-CAV outputs. Subclasses implement ``_start()`` and ``step()``.

    Use as a context manager or call :meth:`close`; the server's settings are restored on exit.
    """

    def __init__(self, scenario: Scenario, seed: int, *, host: str, port: int, cache_dir: str | Path,
                 params: CarlaBridgeParams, rig: SensorRig, timeout: float | None = None):
        """``timeout`` [s] overrides ``params.connect_timeout``."""
        self.scenario = scenario
        self.seed = int(seed)
        self.host, self.port = host, int(port)
        self.params = params
        self.rig = rig
        self.timeout = params.connect_timeout if timeout is None else float(timeout)
        if not self.timeout > 0.0:
            raise ValueError(f"CARLA client timeout must be > 0 s, got {self.timeout}")
        self._cache_dir = Path(cache_dir)
        self._session: CarlaSession | None = None
        self._road_map: RoadMap | None = None
        self._messages: dict[str, SensorMessages] = {}
        self._time = 0.0
        self._truth = WorldTruth(0.0)
        self._started = False
        self._closed = False

    def start(self) -> WorldTruth:
        """Connect, build the world, spawn the CAVs with their rigs, tick once; return the truth.

        Raises the errors of :func:`~cav_stack.sim.carla_client.connect`; everything spawned so
        far is removed before an error propagates.
        """
        if self._started:
            raise RuntimeError(f"{type(self).__name__}.start() may be called once")
        self._started = True
        try:
            return self._start()
        except BaseException:
            self.close()
            raise

    @abstractmethod
    def _start(self) -> WorldTruth:
        """Connect, set up the episode and return the first truth (CarlaWorld, CarlaSumoWorld)."""

    @abstractmethod
    def step(self) -> WorldTruth:
        """Advance one synchronous tick and return the truth."""

    def _open_session(self, client: Any) -> CarlaSession:
        p = self.params
        self._session = CarlaSession(
            client, fixed_delta=p.fixed_delta_seconds, traffic_manager_port=p.traffic_manager_port, seed=self.seed,
            rig=self.rig, realisation=p.sensors, longitudinal=p.longitudinal, sensor_timeout=p.sensor_timeout,
            tick_timeout=self.timeout, frame=CarlaFrame())
        return self._session

    def _after_tick(self, session: CarlaSession, stamp: float) -> None:
        self._time = stamp
        self._messages = {cav_id: session.sensor_messages(cav_id, stamp) for cav_id in session.cavs}

    def close(self) -> None:
        """Destroy what the run spawned and restore the server's settings. Idempotent."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        try:
            self._close_extra()
        finally:
            if session is not None:
                session.close()

    def _close_extra(self) -> None:  # noqa: B027 -- an optional hook, empty by default, not abstract
        """Hook for subclasses: release what they own besides the CARLA session."""

    def __enter__(self) -> CarlaRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def time(self) -> float:
        """Simulation time [s] of the last truth."""
        return self._time

    @property
    def truth(self) -> WorldTruth:
        """The last truth returned by :meth:`start` or :meth:`step`."""
        return self._truth

    def apply_control(self, cav_id: str, command: ControlCommand) -> None:
        """Use ``command`` for CAV ``cav_id`` in the next :meth:`step` (held until replaced)."""
        self._require().set_command(cav_id, command)

    def set_cav_state(self, cav_id: str, x: float, y: float, yaw: float, speed: float) -> None:
        """Teleport CAV ``cav_id`` for the next :meth:`step`: box centre (x, y) [m, map], yaw [rad],
        speed [m/s] along yaw (for runs where the stack's own plant drives the CAV)."""
        teleport(self._require(), cav_id, x, y, yaw, speed)

    def sensor_messages(self, cav_id: str) -> SensorMessages:
        """What CAV ``cav_id``'s rig delivered at the last tick (KeyError for an unknown CAV)."""
        if cav_id not in self._messages:
            raise KeyError(f"no sensor messages for '{cav_id}' (CAVs: {', '.join(self._messages) or 'none yet'})")
        return self._messages[cav_id]

    def ego_state(self, cav_id: str) -> EgoState:
        """True ``base_link`` state of CAV ``cav_id`` at the last tick (baselines and metrics only)."""
        return self._require().ego_state(cav_id, self._time)

    def road_map(self) -> RoadMap:
        """Road map of the world (available after :meth:`start`)."""
        if self._road_map is None:
            raise RuntimeError("the road map is available after start()")
        return self._road_map

    def _require(self) -> CarlaSession:
        if self._session is None:
            raise RuntimeError(f"{type(self).__name__} is closed" if self._closed
                               else f"{type(self).__name__} is not started")
        return self._session


class CarlaWorld(CarlaRun):
    """A stand-alone CARLA world for one scenario's CAVs (see the module docstring)."""

    def __init__(self, scenario: Scenario, seed: int, *, host: str, port: int, town: str | None,
                 cache_dir: str | Path, params: CarlaBridgeParams, rig: SensorRig, timeout: float | None = None):
        """``town``: CARLA map to load (None: the scenario's network); ``timeout`` [s] overrides
        ``params.connect_timeout``."""
        super().__init__(scenario, seed, host=host, port=port, cache_dir=cache_dir, params=params, rig=rig,
                         timeout=timeout)
        self.town = town
        self._background: dict[int, str] = {}

    def _start(self) -> WorldTruth:
        client = connect(self.host, self.port, self.timeout)
        if self.town is not None:
            client.load_world(self.town)
            placements = None
        else:
            net_file = build_network(self.scenario.network_dir, self._cache_dir)
            self._road_map = RoadMap.from_net_file(net_file)
            generate_world(client, scenario_opendrive(net_file, self._cache_dir))
            placements = self._scenario_placements()
        session = self._open_session(client)
        spawn_points = _spawn_points(session.map)
        order = [int(i) for i in session.rng.permutation(len(spawn_points))]
        for cav in self.scenario.cavs:
            if placements is not None:
                pose, speed = placements[cav.id]
                transform = session.frame.to_transform(on_road(session, pose, self.params.spawn_lift))
            else:
                if not order:
                    raise RuntimeError(f"CARLA map '{session.map.name}' has too few spawn points for the CAVs")
                transform, speed = spawn_points[order.pop(0)], 0.0
            session.add_cav(cav.id, self.params.cav_blueprint, transform, speed)
        self._spawn_background(session, [spawn_points[i] for i in order])
        if self._road_map is None:
            self._road_map = town_road_map(session.map, self._cache_dir)
        return self._tick()

    def _scenario_placements(self) -> dict[str, tuple[Pose3, float]]:
        placements = {}
        road_map = self.road_map()
        for cav in self.scenario.cavs:
            x, y, yaw = lane_pose(road_map, cav.route[0], cav.depart_lane, cav.depart_pos,
                                  self.scenario.vehicle_type(cav.type).length)
            placements[cav.id] = (Pose3(x, y, 0.0, 0.0, 0.0, yaw), cav.depart_speed)
        return placements

    def _spawn_background(self, session: CarlaSession, spawn_points: list[Any]) -> None:
        library = session.world.get_blueprint_library().filter(self.params.background_filter)
        candidates = sorted(bp.id for bp in library if bp.has_attribute("number_of_wheels")
                            and bp.get_attribute("number_of_wheels").as_int() == 4)
        if self.params.background_vehicles and not candidates:
            raise ValueError(f"no 4-wheeled CARLA blueprint matches '{self.params.background_filter}'")
        for transform in spawn_points[:self.params.background_vehicles]:
            name = candidates[int(session.rng.integers(len(candidates)))]
            try:
                actor = session.spawn_vehicle(name, transform, "background")
            except RuntimeError:
                continue
            actor.set_autopilot(True, session.traffic_manager_port)
            self._background[actor.id] = f"carla_{actor.id}"

    def step(self) -> WorldTruth:
        """Advance one tick (stored commands applied in it); return the truth after it."""
        self._require()
        return self._tick()

    def _tick(self) -> WorldTruth:
        session = self._require()
        session.tick()
        stamp = session.tick_index * session.fixed_delta
        vehicles = [t for t in (session.truth_of(cav.actor.id, cav_id, is_cav=True)
                                for cav_id, cav in session.cavs.items()) if t is not None]
        for actor_id, vehicle_id in list(self._background.items()):
            truth = session.truth_of(actor_id, vehicle_id, is_cav=False)
            if truth is None:
                del self._background[actor_id]
            else:
                vehicles.append(truth)
        vehicles = [self._with_road(v) for v in vehicles]
        self._truth = WorldTruth(stamp, tuple(sorted(vehicles, key=lambda v: v.vehicle_id)),
                                 self._signals(session, stamp))
        self._after_tick(session, stamp)
        return self._truth

    def _with_road(self, vehicle: VehicleTruth) -> VehicleTruth:
        try:
            edge, lane, _, s = self.road_map().locate(vehicle.x, vehicle.y, vehicle.yaw)
        except ValueError:
            return vehicle
        return dataclasses.replace(vehicle, edge_id=edge, lane_index=lane, lane_position=s)

    @staticmethod
    def _signals(session: CarlaSession, stamp: float) -> tuple[SignalTruth, ...]:
        signals = []
        for light in session.world.get_actors().filter("traffic.traffic_light"):
            state = light.get_state()
            duration = {"Red": light.get_red_time, "Yellow": light.get_yellow_time,
                        "Green": light.get_green_time}.get(str(state))
            remaining = max(duration() - light.get_elapsed_time(), 0.0) if duration is not None else math.inf
            signals.append(SignalTruth(str(light.get_opendrive_id()), sumo_state_char(state), 0, stamp + remaining))
        return tuple(sorted(signals, key=lambda s: s.tls_id))


def generate_world(client: Any, xodr: str) -> Any:
    """Make CARLA build a world from an OpenDRIVE document (flat terrain, no buildings)."""
    carla = require_carla()
    parameters = carla.OpendriveGenerationParameters(vertex_distance=2.0, max_road_length=500.0, wall_height=0.0,
                                                     additional_width=0.6, smooth_junctions=True,
                                                     enable_mesh_visibility=True)
    return client.generate_opendrive_world(xodr, parameters)


def teleport(session: CarlaSession, cav_id: str, x: float, y: float, yaw: float, speed: float) -> None:
    """Place CAV ``cav_id`` with its box centre at (x, y) [m, map], yaw [rad], moving at ``speed`` [m/s]."""
    if not all(math.isfinite(v) for v in (x, y, yaw, speed)):
        raise ValueError(f"non-finite state for CAV '{cav_id}': x={x}, y={y}, yaw={yaw}, speed={speed}")
    if cav_id not in session.cavs:
        raise KeyError(f"'{cav_id}' is not a CAV of this CARLA session")
    carla = require_carla()
    cav = session.cavs[cav_id]
    g = cav.geometry
    c, s = math.cos(yaw), math.sin(yaw)
    origin_x, origin_y = x - (c * g.centre_x - s * g.centre_y), y - (s * g.centre_x + c * g.centre_y)
    z = float(cav.actor.get_transform().location.z)
    transform = session.frame.to_transform(Pose3(origin_x, origin_y, z, 0.0, 0.0, yaw))
    cav.actor.set_transform(transform)
    forward = transform.get_forward_vector()
    cav.actor.set_target_velocity(carla.Vector3D(forward.x * speed, forward.y * speed, 0.0))
    cav.speed = float(speed)


def on_road(session: CarlaSession, pose: Pose3, lift: float) -> Pose3:
    """``pose`` level at the road surface under it plus ``lift`` [m] (the pose's z if off the road)."""
    waypoint = session.map.get_waypoint(session.frame.to_location(pose.x, pose.y, pose.z))
    z = float(waypoint.transform.location.z) if waypoint is not None else pose.z
    return Pose3(pose.x, pose.y, z + lift, 0.0, 0.0, pose.yaw)


def _spawn_points(carla_map: Any) -> list[Any]:
    points = list(carla_map.get_spawn_points())
    if points:
        return points
    return [w.transform for w in carla_map.generate_waypoints(25.0)]
