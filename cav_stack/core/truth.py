"""Ground truth of the simulated world.

Produced by world bridges (SUMO, CARLA, replay) and consumed only by sensor models,
radio models and metrics: the stack's algorithms never see it.
All positions in ``map`` (x east, y north, z up), SI units.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VehicleTruth:
    """True state of one vehicle at the snapshot time.

    x, y: centre of the bounding box in ``map`` [m]; yaw [rad] (REP 103, from +x, CCW);
    speed [m/s]; accel [m/s^2]; length, width, height [m];
    edge_id, lane_index, lane_position: SUMO road position (lane_position [m] from lane start);
    vehicle_class: SUMO vClass (``passenger``, ``truck``...); is_cav: driven by this stack;
    fuel_rate: fuel consumption from SUMO's emission model [kg/s].
    """

    vehicle_id: str
    x: float
    y: float
    yaw: float
    speed: float
    accel: float
    length: float
    width: float
    height: float
    edge_id: str
    lane_index: int
    lane_position: float
    vehicle_class: str = "passenger"
    is_cav: bool = False
    fuel_rate: float = 0.0


@dataclass(frozen=True)
class SignalTruth:
    """State of one traffic-light controller.

    state: SUMO signal string, one character per controlled link (``r``, ``y``, ``g``, ``G``...);
    next_switch: absolute time of the next phase change [s]; phase_index: current phase.
    """

    tls_id: str
    state: str
    phase_index: int
    next_switch: float


@dataclass(frozen=True)
class WorldTruth:
    """Snapshot of the world at ``stamp`` [s]."""

    stamp: float
    vehicles: tuple[VehicleTruth, ...] = ()
    signals: tuple[SignalTruth, ...] = ()

    def vehicle(self, vehicle_id: str) -> VehicleTruth | None:
        """The vehicle with this ID, or None when it is not in the world."""
        for vehicle in self.vehicles:
            if vehicle.vehicle_id == vehicle_id:
                return vehicle
        return None
