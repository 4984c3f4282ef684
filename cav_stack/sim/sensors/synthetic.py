"""A scripted straight highway for sensor and perception tests and benchmarks (no SUMO needed).

Lanes run along +x in ``map`` with centres at y = lane * lane_width. The ego drives lane 0 at
constant speed; other vehicles keep their lane and speed, except one optional cut-in vehicle
that moves from lane 1 into lane 0 with a smooth (cosine) lateral profile.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.sim.sensors.ego import EgoMotion

EGO_ID = "ego"
#: (SUMO class, length, width, height) [m] of the vehicle types used.
VEHICLE_TYPES = (("passenger", 4.6, 1.8, 1.5), ("passenger", 4.2, 1.75, 1.45), ("truck", 12.0, 2.5, 3.6))
EGO_REAR_AXLE_TO_CENTRE = 1.4  # [m] box centre ahead of the rear axle


@dataclass(frozen=True)
class ScriptedVehicle:
    """Initial state of a scripted vehicle: x [m] at t=0, lane, speed [m/s], type index."""

    vehicle_id: str
    x0: float
    lane: int
    speed: float
    type_index: int
    cut_in_start: float | None = None
    cut_in_duration: float = 4.0


class SyntheticHighway:
    """Scripted highway traffic; :meth:`truth` gives the snapshot at any time t [s]."""

    def __init__(self, vehicles: tuple[ScriptedVehicle, ...], ego_speed: float, lane_width: float = 3.5):
        self.vehicles = vehicles
        self.ego_speed = ego_speed
        self.lane_width = lane_width

    @staticmethod
    def random(n_vehicles: int, rng: np.random.Generator, ego_speed: float = 25.0, span: float = 120.0,
               lanes: tuple[int, ...] = (-1, 0, 1, 2), truck_share: float = 0.15,
               cut_in: bool = False) -> SyntheticHighway:
        """``n_vehicles`` spread over [-span, span] m around the ego with at least 12 m gaps per lane."""
        vehicles: list[ScriptedVehicle] = []
        occupied: dict[int, list[float]] = {lane: [0.0] if lane == 0 else [] for lane in lanes}
        attempts = 0
        while len(vehicles) < n_vehicles and attempts < 100 * n_vehicles:
            attempts += 1
            lane = int(rng.choice(lanes))
            x0 = float(rng.uniform(-span, span))
            if any(abs(x0 - other) < 18.0 for other in occupied[lane]):
                continue
            occupied[lane].append(x0)
            type_index = 2 if rng.random() < truck_share else int(rng.integers(0, 2))
            speed = ego_speed if lane == 0 else ego_speed + float(rng.uniform(-3.0, 3.0))
            vehicles.append(ScriptedVehicle(f"veh{len(vehicles)}", x0, lane, speed, type_index))
        if cut_in:
            vehicles.append(ScriptedVehicle("cut_in", 25.0, 1, ego_speed - 1.0, 0, cut_in_start=2.0))
        return SyntheticHighway(tuple(vehicles), ego_speed)

    def ego(self, t: float) -> EgoMotion:
        """The ego's true ``base_link`` motion at t [s]."""
        return EgoMotion(EGO_ID, self.ego_speed * t, 0.0, 0.0, self.ego_speed)

    def _lateral(self, v: ScriptedVehicle, t: float) -> tuple[float, float]:
        """Lateral position [m] and lateral speed [m/s] of a vehicle at t."""
        y0 = v.lane * self.lane_width
        if v.cut_in_start is None or t <= v.cut_in_start:
            return y0, 0.0
        phase = min((t - v.cut_in_start) / v.cut_in_duration, 1.0)
        y = y0 - self.lane_width * 0.5 * (1.0 - math.cos(math.pi * phase))
        vy = 0.0 if phase >= 1.0 else -self.lane_width * 0.5 * math.pi / v.cut_in_duration * math.sin(math.pi * phase)
        return y, vy

    def truth(self, t: float) -> WorldTruth:
        """Snapshot at t [s]; includes the ego's own box (ID ``ego``)."""
        ego = self.ego(t)
        states = [VehicleTruth(EGO_ID, ego.x + EGO_REAR_AXLE_TO_CENTRE, ego.y, 0.0, ego.speed, 0.0, 4.6, 1.8, 1.5,
                               "e0", 0, ego.x, is_cav=True)]
        for v in self.vehicles:
            vclass, length, width, height = VEHICLE_TYPES[v.type_index]
            y, vy = self._lateral(v, t)
            yaw = math.atan2(vy, v.speed)
            states.append(VehicleTruth(v.vehicle_id, v.x0 + v.speed * t, y, yaw, math.hypot(v.speed, vy), 0.0,
                                       length, width, height, "e0", v.lane, v.x0 + v.speed * t, vclass))
        return WorldTruth(t, tuple(states))


def vehicle_box(vehicle_id: str, x: float, y: float, yaw: float = 0.0, speed: float = 0.0, length: float = 4.5,
                width: float = 1.8, height: float = 1.5, vehicle_class: str = "passenger") -> VehicleTruth:
    """A vehicle centred at (x, y) [m, map] with heading yaw [rad] and speed [m/s] along it."""
    return VehicleTruth(vehicle_id, x, y, yaw, speed, 0.0, length, width, height, "e0", 0, 0.0, vehicle_class)


def ego_scene(t: float, *vehicles: VehicleTruth, ego_speed: float = 0.0) -> tuple[WorldTruth, EgoMotion]:
    """A snapshot at t [s] with the ego's ``base_link`` at the origin heading +x, its own box included."""
    ego = EgoMotion(EGO_ID, 0.0, 0.0, 0.0, ego_speed)
    own = vehicle_box(EGO_ID, EGO_REAR_AXLE_TO_CENTRE, 0.0, speed=ego_speed, length=4.6)
    return WorldTruth(t, (own, *vehicles)), ego
