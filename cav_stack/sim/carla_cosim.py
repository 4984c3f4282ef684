"""CARLA + SUMO co-simulation on one clock, in the manner of CARLA's own SUMO co-simulation bridge.

SUMO runs the scenario (background traffic, signals, scripted events) with the same fixed step
as CARLA's ``fixed_delta_seconds``; CARLA runs the scenario's network generated from its
OpenDRIVE export (frames coincide, see :mod:`cav_stack.sim.carla_maps`) and the CAVs' physics and
sensors. One :meth:`CarlaSumoWorld.step` advances both by one step:

1. SUMO steps (CAVs at the poses pushed after the previous CARLA tick);
2. SUMO vehicles are mirrored into CARLA (spawned on departure without physics, moved to their
   new SUMO pose, destroyed on arrival) and SUMO's signal states are written into CARLA's frozen
   traffic lights (light OpenDRIVE id ``<tls>_<link>`` -> that link's state);
3. CARLA ticks with the CAV commands stored for this step;
4. the CAVs' new CARLA states are pushed to SUMO (``moveToXY`` in its next step).

SUMO therefore sees the CAVs one step late, as in CARLA's bridge. The truth is SUMO's with the CAV
entries taken from CARLA (pose, speed, acceleration; SUMO's road position and fuel kept). The two
clocks are checked every step: a drift raises RuntimeError.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from cav_stack.core.truth import SignalTruth, VehicleTruth, WorldTruth
from cav_stack.world.scenario import Scenario
from cav_stack.world.sensor_rig import SensorRig
from cav_stack.world.road_map import RoadMap
from cav_stack.sim.carla import CarlaBridgeParams, CarlaRun, generate_world, on_road
from cav_stack.sim.carla_client import connect, require_carla
from cav_stack.sim.carla_frames import Pose3
from cav_stack.sim.carla_maps import carla_light_state, scenario_opendrive, signal_link
from cav_stack.sim.carla_session import CarlaSession
from cav_stack.sim.network_build import build_network
from cav_stack.sim.sumo import EventRecord, SumoWorld

_CLOCK_TOLERANCE_S = 1e-6


def light_states(signals: tuple[SignalTruth, ...], links: dict[int, tuple[str, int]]) -> dict[int, str]:
    """SUMO link-state character for each CARLA light id of ``links`` (light id -> (tls_id, link index)).

    Lights whose controller or link index SUMO does not have are left out.
    """
    by_tls = {signal.tls_id: signal.state for signal in signals}
    states = {}
    for light_id, (tls_id, index) in links.items():
        state = by_tls.get(tls_id)
        if state is not None and 0 <= index < len(state):
            states[light_id] = state[index]
    return states


class CarlaSumoWorld(CarlaRun):
    """SUMO and CARLA stepped together (module docstring); ``backend`` is SUMO's (libsumo or traci)."""

    def __init__(self, scenario: Scenario, seed: int, *, host: str, port: int, cache_dir: str | Path,
                 params: CarlaBridgeParams, rig: SensorRig, backend: str = "libsumo", timeout: float | None = None):
        super().__init__(scenario, seed, host=host, port=port, cache_dir=cache_dir, params=params, rig=rig,
                         timeout=timeout)
        self.backend = backend
        self._sumo: SumoWorld | None = None
        self._mirrored: dict[str, Any] = {}
        self._lights: dict[int, Any] = {}
        self._links: dict[int, tuple[str, int]] = {}
        self._light_state: dict[int, str] = {}
        self._cav_ids = {cav.id for cav in scenario.cavs}

    @property
    def event_log(self) -> list[EventRecord]:
        """SUMO's scripted-event log plus the co-simulation's own records."""
        return self._sumo.event_log if self._sumo is not None else []

    def _start(self) -> WorldTruth:
        client = connect(self.host, self.port, self.timeout)
        self._sumo = SumoWorld(self.scenario, self.seed, backend=self.backend, cache_dir=self._cache_dir,
                               step_length=self.params.fixed_delta_seconds)
        sumo_truth = self._sumo.start()
        net_file = build_network(self.scenario.network_dir, self._cache_dir)
        self._road_map = RoadMap.from_net_file(net_file)
        generate_world(client, scenario_opendrive(net_file, self._cache_dir))
        session = self._open_session(client)
        session.world.freeze_all_traffic_lights(True)
        for light in session.world.get_actors().filter("traffic.traffic_light"):
            link = signal_link(str(light.get_opendrive_id()))
            if link is not None:
                self._lights[light.id] = light
                self._links[light.id] = link
        self._mirror(session, sumo_truth)
        return self._tick(session, sumo_truth)

    def _sumo_world(self) -> SumoWorld:
        if self._sumo is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._sumo

    def step(self) -> WorldTruth:
        """Advance SUMO and CARLA by one step (module docstring); return the merged truth."""
        session = self._require()
        sumo = self._sumo_world()
        before = sumo.time
        sumo_truth = sumo.step()
        if abs(sumo_truth.stamp - before - session.fixed_delta) > _CLOCK_TOLERANCE_S:
            raise RuntimeError(f"SUMO advanced {sumo_truth.stamp - before:.6f} s, CARLA ticks "
                               f"{session.fixed_delta:.6f} s: the co-simulation clocks diverged")
        self._mirror(session, sumo_truth)
        return self._tick(session, sumo_truth)

    def _tick(self, session: CarlaSession, sumo_truth: WorldTruth) -> WorldTruth:
        session.tick()
        vehicles: list[VehicleTruth] = []
        for vehicle in sumo_truth.vehicles:
            cav = session.cavs.get(vehicle.vehicle_id)
            if cav is None:
                vehicles.append(vehicle)
                continue
            carla_truth = session.truth_of(cav.actor.id, vehicle.vehicle_id, is_cav=True)
            assert carla_truth is not None, "a CAV's actor is in every tick's snapshot"
            vehicles.append(dataclasses.replace(
                vehicle, x=carla_truth.x, y=carla_truth.y, yaw=carla_truth.yaw, speed=carla_truth.speed,
                accel=carla_truth.accel))
            try:
                self._sumo_world().set_cav_state(vehicle.vehicle_id, carla_truth.x, carla_truth.y, carla_truth.yaw,
                                         max(carla_truth.speed, 0.0))
            except LookupError as exc:
                self._sumo_world().event_log.append(EventRecord(sumo_truth.stamp, "cav_not_pushed", vehicle.vehicle_id,
                                                        str(exc)))
        self._truth = WorldTruth(sumo_truth.stamp, tuple(vehicles), sumo_truth.signals)
        self._after_tick(session, sumo_truth.stamp)
        return self._truth

    def _mirror(self, session: CarlaSession, sumo_truth: WorldTruth) -> None:
        carla = require_carla()
        present = set()
        moves = []
        for vehicle in sumo_truth.vehicles:
            present.add(vehicle.vehicle_id)
            if vehicle.vehicle_id in self._cav_ids:
                if vehicle.vehicle_id not in session.cavs:
                    pose = on_road(session, Pose3(vehicle.x, vehicle.y, 0.0, 0.0, 0.0, vehicle.yaw),
                                   self.params.spawn_lift)
                    session.add_cav(vehicle.vehicle_id, self.params.cav_blueprint,
                                    session.frame.to_transform(_origin_pose(session, None, pose)), vehicle.speed)
                continue
            actor = self._mirrored.get(vehicle.vehicle_id)
            pose = on_road(session, Pose3(vehicle.x, vehicle.y, 0.0, 0.0, 0.0, vehicle.yaw), 0.0)
            if actor is None:
                self._spawn_mirror(session, vehicle, pose)
            else:
                moves.append(carla.command.ApplyTransform(
                    actor.id, session.frame.to_transform(_origin_pose(session, actor.id, pose))))
        if moves:
            session.client.apply_batch(moves)
        for vehicle_id in [v for v in self._mirrored if v not in present]:
            session.destroy(self._mirrored.pop(vehicle_id))
        for light_id, state in light_states(sumo_truth.signals, self._links).items():
            if self._light_state.get(light_id) != state:
                self._lights[light_id].set_state(carla_light_state(state))
                self._light_state[light_id] = state

    def _spawn_mirror(self, session: CarlaSession, vehicle: VehicleTruth, pose: Pose3) -> None:
        blueprint = self.params.sumo_blueprints.get(vehicle.vehicle_class, self.params.sumo_blueprints["passenger"])
        lifted = Pose3(pose.x, pose.y, pose.z + self.params.spawn_lift, 0.0, 0.0, pose.yaw)
        try:
            actor = session.spawn_vehicle(blueprint, session.frame.to_transform(lifted), "sumo_driver")
        except RuntimeError as exc:
            sumo = self._sumo_world()
            sumo.event_log.append(EventRecord(sumo.time, "mirror_blocked", vehicle.vehicle_id, str(exc)))
            return
        actor.set_simulate_physics(False)
        actor.set_transform(session.frame.to_transform(_origin_pose(session, actor.id, pose)))
        self._mirrored[vehicle.vehicle_id] = actor

    def _close_extra(self) -> None:
        sumo, self._sumo = self._sumo, None
        if sumo is not None:
            sumo.close()


def _origin_pose(session: CarlaSession, actor_id: int | None, centre: Pose3) -> Pose3:
    """Actor-origin pose whose bounding-box centre is at ``centre`` (x, y) (no offset when unknown)."""
    geometry = session.geometry.get(actor_id) if actor_id is not None else None
    if geometry is None:
        return centre
    c, s = math.cos(centre.yaw), math.sin(centre.yaw)
    return Pose3(centre.x - (c * geometry.centre_x - s * geometry.centre_y),
                 centre.y - (s * geometry.centre_x + c * geometry.centre_y), centre.z, 0.0, 0.0, centre.yaw)
