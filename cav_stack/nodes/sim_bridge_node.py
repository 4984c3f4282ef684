"""Simulation bridge node: steps the world and the CAV plants, publishes per-CAV topics.

In-process only (it holds the simulator handle). Each tick it applies the latest control
command of every CAV to that CAV's plant, pushes the resulting poses into the world, steps
the world, hands the ground truth to the observers (metrics) and publishes, under each
CAV's namespace: ``truth/ego_state``, ``truth/objects`` and ``truth/signal_timing`` (ground
truth for baselines only: every signal's current state until its next switch), ``vehicle/status``
(the vehicle's own speed, acceleration and steering-angle report), and the
scenario's ``mission/route`` (latched). While ``objects_silenced(cav_id, t)`` is true (a scripted
perception dropout) the CAV's ``truth/objects`` is not published: to its stack that is what a
dead sensor looks like. A CAV within ``ROUTE_END_HANDOVER`` of the end of its route's last edge
is handed to the world: SUMO's own driver model drives it on until it arrives and leaves the world
(worlds without a road map keep driving it). Each CAV's driver model (``drivers``) watches its
``planning/mode`` and reports ``driver/state`` every tick; once the driver holds the controls the
CAV is handed to the world the same way (MANUAL), and a CAV handed over at its route's end reports
its controls held too, so its stack knows it no longer drives. With an air interface, the frames each CAV's V2X
node sends on ``v2x/tx`` cross the radio model and arrive on the receivers' ``v2x/rx``. In a world
that takes routes (SUMO ``set_cav_route``), a new ``planning/route`` of a CAV (its route planner's)
becomes the CAV's route in the world from the edge it is on (once it is on one of the route's edges,
not inside a junction), so the world maps the CAV onto the planned streets and ends its trip at
the planned destination. CAVs of flows with a CAV share (``entering``) are taken over the step they
appear in the world (a plant from their state, their topics, their mission route; the runner adds
their nodes) and released once handed to the world or gone (their nodes removed; the observers keep
their records).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, cast
from collections.abc import Callable

from cav_stack.control.vehicle_models import VehicleParams
from cav_stack.core.messages import (
    BASE_LINK_FRAME, MAP_FRAME, CameraFrame, ControlCommand, DriverState, EgoState, GnssFix, Header, ImuSample,
    ModeCommand, ObjectClass, PointCloud, RadarFrame, Route, SignalPhaseWindow, SignalTiming, SignalTimingList,
    TrackedObject, TrackList, V2xFrame, VehicleStatus, WheelOdometry,
)
from cav_stack.core.params import validate_positive
from cav_stack.core.truth import SignalTruth, VehicleTruth, WorldTruth
from cav_stack.runtime.node import LATCHED_QOS, SENSOR_QOS, Node, NodeContext, Publisher
from cav_stack.sim.driver import DriverModel
from cav_stack.sim.plant import VehiclePlant
from cav_stack.sim.onboard_sensors import OnboardSensors
from cav_stack.sim.sensors.ego import EgoMotion
from cav_stack.sim.v2x_air import V2xAirInterface

#: Topics (relative to a CAV's namespace) of its onboard sensors and their message types.
SENSOR_TOPICS = {"sensors/lidar": PointCloud, "sensors/radar": RadarFrame, "sensors/camera": CameraFrame,
                 "sensors/gnss": GnssFix, "sensors/imu": ImuSample, "sensors/odometry": WheelOdometry}


@dataclass(frozen=True)
class SimBridgeParams:
    """rate_hz: world step rate [Hz]; truth_object_range: radius of truth/objects [m]."""

    rate_hz: float
    truth_object_range: float

    def __post_init__(self) -> None:
        validate_positive(rate_hz=self.rate_hz, truth_object_range=self.truth_object_range)


class World(Protocol):
    """What the bridge needs of a world (SUMO, CARLA, replay). A world that also has
    ``apply_control(cav_id, command)`` and ``ego_state(cav_id)`` (CARLA) moves the CAVs itself;
    otherwise the bridge's plants move them and push them in with ``set_cav_state``."""

    time: float

    def step(self) -> WorldTruth: ...

    def set_cav_state(self, cav_id: str, x: float, y: float, yaw: float, speed: float) -> None: ...


class RoutableWorld(World, Protocol):
    """A world that takes a CAV's new route (SUMO)."""

    def set_cav_route(self, cav_id: str, edges: tuple[str, ...]) -> None: ...


class DrivingWorld(World, Protocol):
    """A world whose physics moves the CAVs (CARLA)."""

    def apply_control(self, cav_id: str, command: ControlCommand) -> None: ...

    def ego_state(self, cav_id: str) -> EgoState: ...


ROUTE_END_HANDOVER = 10.0
"""Distance [m] before the end of its route where a CAV is left to the world to arrive in."""

_CLASS_BY_VCLASS = {"passenger": ObjectClass.CAR, "truck": ObjectClass.TRUCK, "trailer": ObjectClass.TRUCK,
                    "bus": ObjectClass.BUS, "motorcycle": ObjectClass.MOTORCYCLE,
                    "bicycle": ObjectClass.BICYCLE, "pedestrian": ObjectClass.PEDESTRIAN}


class SimBridgeNode(Node):
    node_name = "sim_bridge"
    params_type = SimBridgeParams

    def __init__(self, context: NodeContext, *, world: World, initial_truth: WorldTruth,
                 cav_routes: dict[str, tuple[str, ...]], vehicle: VehicleParams,
                 observers: tuple[Callable[[WorldTruth, dict[str, ControlCommand]], None], ...] = (),
                 air: V2xAirInterface | None = None,
                 objects_silenced: Callable[[str, float], bool] | None = None,
                 onboard: Callable[[str], OnboardSensors] | None = None,
                 sensor_dropouts: Callable[[str, float], frozenset[str]] | None = None,
                 drivers: Callable[[str], DriverModel] | None = None,
                 entering: dict[str, tuple[str, ...]] | None = None,
                 on_enter: Callable[[str], None] | None = None,
                 on_leave: Callable[[str], None] | None = None):
        """cav_routes: the CAVs in the world at the start, each with its mission route (edges);
        onboard(cav_id): the sensor models whose frames are published under a CAV's namespace;
        sensor_dropouts(cav_id, t): its sensors (frame IDs or kinds) in a scripted dropout;
        drivers(cav_id): the person in a CAV's seat; entering: CAVs (with their routes) taken
        over when they appear in the world (flows with a CAV share): the bridge then calls
        ``on_enter(cav_id)`` (the runner adds the CAV's nodes) and, once the CAV is handed to the
        world (route end, driver) or has left it, ``on_leave(cav_id)`` (the runner removes them)."""
        super().__init__(context)
        self._make_driver = drivers
        self._make_onboard = onboard
        self._drivers: dict[str, DriverModel] = {}
        self._driver_pubs: dict[str, Publisher] = {}
        self._onboard: dict[str, OnboardSensors] = {}
        self._dropouts = sensor_dropouts or (lambda cav_id, t: frozenset())
        self._sensor_pubs: dict[str, dict[str, Publisher]] = {}
        self._status_pubs: dict[str, Publisher] = {}
        self._silenced = objects_silenced or (lambda cav_id, t: False)
        self._gone: set[str] = set()
        self._world = world
        self._world_drives = hasattr(world, "apply_control")  # CARLA: its physics moves the CAVs
        self._air = air
        self._outbox: list[tuple[str, V2xFrame]] = []
        self._rx_pubs: dict[str, Publisher] = {}
        self._vehicle = vehicle
        self._observers = observers
        self._dt = 1.0 / self.params.rate_hz
        self._plants: dict[str, VehiclePlant] = {}
        self._commands: dict[str, ControlCommand] = {}
        self._ego_pubs: dict[str, Publisher] = {}
        self._object_pubs: dict[str, Publisher] = {}
        self._signal_pubs: dict[str, Publisher] = {}
        self._track_ids: dict[str, int] = {}
        self._applied_routes: dict[str, tuple[str, ...]] = {}
        self._pending_routes: dict[str, tuple[str, ...]] = {}
        self._road_map = world.road_map() if hasattr(world, "road_map") else None
        self._goal_end: dict[str, tuple[str, float]] = {}
        self._entering = dict(entering or {})
        self._on_enter = on_enter or (lambda cav_id: None)
        self._on_leave = on_leave or (lambda cav_id: None)
        self._taken_over: set[str] = set()     # admitted on entering (released when they leave)
        for cav_id, edges in cav_routes.items():
            start = initial_truth.vehicle(cav_id)
            if start is None:
                raise ValueError(f"CAV {cav_id} is not in the world at start")
            self._admit(cav_id, edges, start)
        self._take_over_entering(initial_truth)
        self._publish(initial_truth)
        self.create_timer(self._dt, self._tick)

    def _admit(self, cav_id: str, edges: tuple[str, ...], start: VehicleTruth) -> None:
        """Drive CAV ``cav_id`` from its state ``start``: its plant, topics and mission route."""
        self._plants[cav_id] = VehiclePlant(self._vehicle, start.x, start.y, start.yaw, start.speed)
        self._applied_routes[cav_id] = tuple(edges)
        if self._road_map is not None:
            self._goal_end[cav_id] = (edges[-1], self._road_map.edge_length(edges[-1]) - ROUTE_END_HANDOVER)
        if self._make_driver is not None:
            driver = self._drivers[cav_id] = self._make_driver(cav_id)
            self._driver_pubs[cav_id] = self.create_publisher(DriverState, f"/{cav_id}/driver/state")

            def observe(msg: ModeCommand, d: DriverModel = driver) -> None:
                d.observe(msg, self.rng)
            self.create_subscription(ModeCommand, f"/{cav_id}/planning/mode", observe)
        if self._make_onboard is not None:
            self._onboard[cav_id] = self._make_onboard(cav_id)
            self._sensor_pubs[cav_id] = {topic: self.create_publisher(msg_type, f"/{cav_id}/{topic}", SENSOR_QOS)
                                         for topic, msg_type in SENSOR_TOPICS.items()}
        self._status_pubs[cav_id] = self.create_publisher(VehicleStatus, f"/{cav_id}/vehicle/status")
        self._ego_pubs[cav_id] = self.create_publisher(EgoState, f"/{cav_id}/truth/ego_state")
        self._object_pubs[cav_id] = self.create_publisher(TrackList, f"/{cav_id}/truth/objects")
        self._signal_pubs[cav_id] = self.create_publisher(SignalTimingList, f"/{cav_id}/truth/signal_timing")
        self.create_subscription(ControlCommand, f"/{cav_id}/control/command", self._command_handler(cav_id))
        if self._air is not None:
            self._rx_pubs[cav_id] = self.create_publisher(V2xFrame, f"/{cav_id}/v2x/rx")
            self.create_subscription(V2xFrame, f"/{cav_id}/v2x/tx", self._outbox_handler(cav_id))
        if hasattr(self._world, "set_cav_route"):
            self.create_subscription(Route, f"/{cav_id}/planning/route", self._route_handler(cav_id), LATCHED_QOS)
        route_pub = self.create_publisher(Route, f"/{cav_id}/mission/route", LATCHED_QOS)
        route_pub.publish(Route(Header(self.now(), MAP_FRAME), tuple(edges), reason="scenario mission"))

    def _take_over_entering(self, truth: WorldTruth) -> None:
        """Admit every entering CAV that has appeared in the world, then have its nodes added."""
        if not self._entering:
            return
        for vehicle in truth.vehicles:
            edges = self._entering.pop(vehicle.vehicle_id, None)
            if edges is not None:
                self._admit(vehicle.vehicle_id, edges, vehicle)
                self._taken_over.add(vehicle.vehicle_id)
                self._on_enter(vehicle.vehicle_id)

    def _release(self, cav_id: str) -> None:
        """Forget a CAV that was taken over on entering, once it is the world's: its nodes go
        (``on_leave``), its plant and publishers too; its report entry stays (the observers')."""
        for table in (self._plants, self._commands, self._drivers, self._driver_pubs, self._onboard,
                      self._sensor_pubs, self._status_pubs, self._ego_pubs, self._object_pubs, self._signal_pubs,
                      self._goal_end, self._pending_routes, self._rx_pubs, self._applied_routes):
            table.pop(cav_id, None)
        self._on_leave(cav_id)

    def _command_handler(self, cav_id: str):
        def store(msg: ControlCommand) -> None:
            self._commands[cav_id] = msg
        return store

    def _route_handler(self, cav_id: str):
        def store(msg: Route) -> None:
            if cav_id in self._applied_routes and tuple(msg.edges) != self._applied_routes[cav_id]:
                self._pending_routes[cav_id] = tuple(msg.edges)
        return store

    def _apply_routes(self, truth: WorldTruth) -> None:
        """Hand each CAV's newly planned route to the world, from the edge the CAV is on."""
        for cav_id, edges in list(self._pending_routes.items()):
            vehicle = truth.vehicle(cav_id)
            if cav_id in self._gone or vehicle is None:
                del self._pending_routes[cav_id]
            elif vehicle.edge_id in edges:      # not inside a junction or off the route: apply now
                del self._pending_routes[cav_id]
                try:
                    cast(RoutableWorld, self._world).set_cav_route(cav_id, edges[edges.index(vehicle.edge_id):])
                    self._applied_routes[cav_id] = edges
                except ValueError as exc:
                    self.logger.warning("%.2f s: route of %s not applied: %s", truth.stamp, cav_id, exc)

    def _outbox_handler(self, cav_id: str):
        def queue(msg: V2xFrame) -> None:
            self._outbox.append((cav_id, msg))
        return queue

    def _hand_over(self, cav_id: str) -> None:
        """The world's own driver model drives the CAV from now on (its driver took over, or its
        route ends); the bridge no longer places it nor publishes its state."""
        if cav_id in self._gone:
            return
        self._gone.add(cav_id)
        if cav_id in self._drivers:
            self._drivers[cav_id].hand_over()
        try:
            getattr(self._world, "hand_over", lambda _: None)(cav_id)
        except LookupError:    # it has already left the world
            pass
        if cav_id in self._taken_over:
            self._release(cav_id)

    def _tick(self) -> None:
        for cav_id, driver in list(self._drivers.items()):
            if driver.state(self.now()).in_control:
                self._hand_over(cav_id)
        for cav_id, plant in list(self._plants.items()):
            if cav_id in self._gone:
                continue
            command = self._commands.get(cav_id)
            if self._world_drives:
                if command is not None:
                    cast(DrivingWorld, self._world).apply_control(cav_id, command)
                continue
            plant.step(command.accel if command else 0.0, command.steer if command else 0.0, self._dt)
            x, y = plant.centre
            try:
                self._world.set_cav_state(cav_id, x, y, plant.yaw, plant.speed)
            except LookupError:   # reached the end of its route and left the world
                self._hand_over(cav_id)
        truth = self._with_plant_motion(self._world.step())
        self._take_over_entering(truth)
        for cav_id, (goal, handover) in list(self._goal_end.items()):
            vehicle = truth.vehicle(cav_id)
            if vehicle is not None and vehicle.edge_id == goal and vehicle.lane_position >= handover:
                self._hand_over(cav_id)
        self._apply_routes(truth)
        for observer in self._observers:
            observer(truth, self._commands)
        self._publish(truth)
        for cav_id, driver in self._drivers.items():
            self._driver_pubs[cav_id].publish(driver.state(truth.stamp))
        self._publish_sensors(truth)
        if self._air is not None:
            outbox, self._outbox = self._outbox, []
            for cav_id, frames in self._air.step(truth.stamp, truth, outbox, self.rng).items():
                publisher = self._rx_pubs.get(cav_id)      # None: not (or no longer) driven by the stack
                for frame in frames:
                    if publisher is not None:
                        publisher.publish(frame)

    def _publish_sensors(self, truth: WorldTruth) -> None:
        for cav_id, sensors in self._onboard.items():
            plant = self._plants.get(cav_id)
            if plant is None or cav_id in self._gone:
                continue
            pubs = self._sensor_pubs[cav_id]
            motion = EgoMotion(cav_id, float(plant.state[0]), float(plant.state[1]), plant.yaw, plant.speed,
                               plant.accel, plant.yaw_rate)
            sensors.measure(truth.stamp, truth, motion, self.rng, self._dropouts(cav_id, truth.stamp))
            for topic, message in sensors.deliveries(truth.stamp):
                pubs[topic].publish(message)

    def _with_plant_motion(self, truth: WorldTruth) -> WorldTruth:
        """The truth with each placed CAV's speed and acceleration from its plant: the plant is the
        CAV's true motion (SUMO differentiates the poses it is pushed, which spikes when moveToXY maps
        a CAV onto another lane or edge); a CAV handed to the world moves as the world says."""
        if self._world_drives or not self._plants:
            return truth
        vehicles = tuple(replace(v, speed=self._plants[v.vehicle_id].speed, accel=self._plants[v.vehicle_id].accel)
                         if v.vehicle_id in self._plants and v.vehicle_id not in self._gone else v
                         for v in truth.vehicles)
        return replace(truth, vehicles=vehicles)

    def _publish(self, truth: WorldTruth) -> None:
        header = Header(truth.stamp, MAP_FRAME)
        signals = SignalTimingList(header, tuple(_current_timings(truth.signals, truth.stamp)))
        objects: dict[str, TrackedObject] = {}
        for cav_id, plant in self._plants.items():
            if cav_id in self._gone:
                continue
            if self._world_drives:
                ego = cast(DrivingWorld, self._world).ego_state(cav_id)
                centre = truth.vehicle(cav_id)
                cx, cy = (centre.x, centre.y) if centre is not None else (ego.x, ego.y)
            else:
                ego = EgoState(header, float(plant.state[0]), float(plant.state[1]), plant.yaw, plant.speed,
                               plant.accel, plant.yaw_rate, plant.steer)
                self._status_pubs[cav_id].publish(VehicleStatus(Header(truth.stamp, BASE_LINK_FRAME), plant.speed,
                                                                plant.accel, plant.steer))
                cx, cy = plant.centre
            self._ego_pubs[cav_id].publish(ego)
            near = tuple(self._as_object(v, objects) for v in truth.vehicles if v.vehicle_id != cav_id
                         and (v.x - cx) ** 2 + (v.y - cy) ** 2 <= self.params.truth_object_range ** 2)
            if not self._silenced(cav_id, truth.stamp):
                self._object_pubs[cav_id].publish(TrackList(header, near))
            if signals.timings:
                self._signal_pubs[cav_id].publish(signals)

    def _as_object(self, vehicle: VehicleTruth, built: dict[str, TrackedObject]) -> TrackedObject:
        """``vehicle`` as a tracked object, built once per step for every CAV near it (``built``:
        this step's objects by vehicle ID; messages are frozen, so the CAVs share them)."""
        tracked = built.get(vehicle.vehicle_id)
        if tracked is None:
            track_id = self._track_ids.setdefault(vehicle.vehicle_id, len(self._track_ids) + 1)
            tracked = built[vehicle.vehicle_id] = TrackedObject(
                track_id, vehicle.x, vehicle.y, vehicle.yaw, vehicle.speed, vehicle.length, vehicle.width,
                vehicle.height, vehicle.accel, _CLASS_BY_VCLASS.get(vehicle.vehicle_class, ObjectClass.UNKNOWN))
        return tracked


_STATE_OF_CHAR = {"G": "green", "g": "green", "s": "green", "y": "yellow", "Y": "yellow"}
"""SUMO link state character -> the phase a driver sees (every other character shows red)."""


def _current_timings(signals: tuple[SignalTruth, ...], now: float):
    """Every controlled link's current state, from ``now`` [s] until the light's next switch."""
    for signal in signals:
        for link, char in enumerate(signal.state):
            window = SignalPhaseWindow(_STATE_OF_CHAR.get(char, "red"), now, max(signal.next_switch, now + 1e-3))
            yield SignalTiming(signal.tls_id, link, (window,))
