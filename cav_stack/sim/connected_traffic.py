"""V2X-equipped background traffic: BSM content of connected SUMO vehicles with a GNSS error.

A seeded share (``penetration``) of the world's non-CAV vehicles is equipped. Each equipped
vehicle has its own generator, seeded from the run seed and its vehicle ID (so the set of
equipped vehicles and their errors do not depend on which other vehicles exist), its own
temporary station ID, a random phase of its BSM period, and a GNSS position error per ``map``
axis: a first-order Gauss-Markov bias (``bias_sigma``, ``bias_time_constant``) plus white noise
(``noise_sigma``). Reports carry the vehicle's true box centre plus that error, its heading,
speed and acceleration plus white noise, and the total 1-sigma position accuracy. Only vehicles
within the ``active_radius`` of the run's radio technology of a CAV report (farther ones
cannot reach a CAV's radio). Units SI,
positions in ``map`` [m]. Sim only: the air interface signs, encodes and transmits the reports.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.core.messages import MAP_FRAME, Header, V2xVehicleReport
from cav_stack.core.params import load_node_params, validate_positive
from cav_stack.core.truth import VehicleTruth, WorldTruth


@dataclass(frozen=True)
class ConnectedTrafficParams:
    """``connected_traffic`` section of ``v2x/connected_traffic.yaml`` (SI units after loading).

    penetration: default share of background vehicles equipped [0..1]; bsm_period [s];
    bias_sigma [m] and bias_time_constant [s]: stationary per-axis sigma and correlation time
    of the GNSS bias; noise_sigma: per-axis white position noise [m]; speed_sigma [m/s],
    heading_sigma [rad], accel_sigma [m/s^2]: white noise of the reported speed, heading and
    acceleration; active_radius: per radio technology (``dsrc``, ``cv2x``), equipped vehicles
    farther than this from every CAV stay silent [m].
    """

    penetration: float
    bsm_period: float
    bias_sigma: float
    bias_time_constant: float
    noise_sigma: float
    speed_sigma: float
    heading_sigma: float
    accel_sigma: float
    active_radius: dict[str, float]

    def __post_init__(self) -> None:
        validate_positive(bsm_period=self.bsm_period, bias_time_constant=self.bias_time_constant,
                          **{f"active_radius.{k}": v for k, v in self.active_radius.items()})
        check_penetration(self.penetration)
        for name in ("bias_sigma", "noise_sigma", "speed_sigma", "heading_sigma", "accel_sigma"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be finite and >= 0, got {value}")

    @property
    def position_sigma(self) -> float:
        """Total per-axis 1-sigma position error [m] (what the BSMs report as accuracy)."""
        return math.hypot(self.bias_sigma, self.noise_sigma)


def check_penetration(penetration: float) -> None:
    """ValueError unless ``penetration`` is a share in [0, 1]."""
    if not (math.isfinite(penetration) and 0.0 <= penetration <= 1.0):
        raise ValueError(f"penetration must be in [0, 1], got {penetration}")


def load_connected_traffic_params(path: str | Path) -> ConnectedTrafficParams:
    """Load ``v2x/connected_traffic.yaml`` (ParamsError naming file and key when invalid)."""
    return load_node_params(path, "connected_traffic", ConnectedTrafficParams)


class _Equipped:
    """Per-vehicle sender state: generator, station ID, next send time [s], bias [m], counter."""

    def __init__(self, rng: np.random.Generator, first_send: float, bias: np.ndarray):
        self.rng = rng
        self.station_id = int(rng.integers(1, 2 ** 32))
        self.next_send = first_send
        self.bias = bias
        self.bias_time = first_send
        self.msg_count = int(rng.integers(0, 128))
        self.last_yaw: tuple[float, float] | None = None


class ConnectedTraffic:
    """Decides which background vehicles are equipped and generates their BSM content."""

    def __init__(self, params: ConnectedTrafficParams, penetration: float, seed: int, technology: str,
                 excluded: frozenset[str] = frozenset()):
        """penetration: share equipped in this run [0..1] (overrides ``params.penetration``);
        seed: the run seed; technology: the run's radio (a key of ``params.active_radius``);
        excluded: vehicle IDs never equipped here (the CAVs: their own stacks transmit; vehicles a
        scenario moves by placing them, whose reported positions would jump)."""
        check_penetration(penetration)
        if technology not in params.active_radius:
            raise ValueError(f"no active_radius for radio technology '{technology}' "
                             f"(known: {', '.join(sorted(params.active_radius))})")
        self.params = params
        self.active_radius = params.active_radius[technology]
        self.penetration = penetration
        self._seed = seed
        self._excluded = excluded
        self._decided: dict[str, _Equipped | None] = {}

    def _sender(self, vehicle_id: str, now: float) -> _Equipped | None:
        if vehicle_id not in self._decided:
            rng = np.random.default_rng([self._seed, zlib.crc32(vehicle_id.encode())])
            equipped = rng.random() < self.penetration and vehicle_id not in self._excluded
            # drawn whether equipped or not: a vehicle's errors do not depend on the penetration
            bias = rng.normal(0.0, self.params.bias_sigma, 2)
            self._decided[vehicle_id] = (_Equipped(rng, now + rng.uniform(0.0, self.params.bsm_period), bias)
                                         if equipped else None)
        return self._decided[vehicle_id]

    def active(self, now: float, truth: WorldTruth,
               cav_positions: tuple[tuple[float, float], ...]) -> tuple[VehicleTruth, ...]:
        """Equipped background vehicles within ``active_radius`` of a CAV at ``now`` [s] (their
        radios are on the air; equipment is decided on a vehicle's first sight, then fixed)."""
        r2 = self.active_radius ** 2
        return tuple(v for v in truth.vehicles
                     if not v.is_cav and v.vehicle_id not in self._excluded
                     and any((v.x - x) ** 2 + (v.y - y) ** 2 <= r2 for x, y in cav_positions)
                     and self._sender(v.vehicle_id, now) is not None)

    def reports(self, now: float, vehicles: tuple[VehicleTruth, ...]) -> list[tuple[str, V2xVehicleReport]]:
        """(vehicle ID, report) of each of the (equipped, :meth:`active`) ``vehicles`` whose BSM is
        due at ``now`` [s]."""
        due = []
        for vehicle in vehicles:
            sender = self._sender(vehicle.vehicle_id, now)
            if sender is None or now + 1e-9 < sender.next_send:
                continue
            while sender.next_send <= now + 1e-9:
                sender.next_send += self.params.bsm_period
            due.append((vehicle.vehicle_id, self._report(sender, vehicle, now)))
        return due

    def _report(self, sender: _Equipped, vehicle: VehicleTruth, now: float) -> V2xVehicleReport:
        p = self.params
        rng = sender.rng
        phi = math.exp(-(now - sender.bias_time) / p.bias_time_constant)
        sender.bias = phi * sender.bias + math.sqrt(1.0 - phi * phi) * rng.normal(0.0, p.bias_sigma, 2)
        sender.bias_time = now
        error = sender.bias + rng.normal(0.0, p.noise_sigma, 2)
        yaw_rate = 0.0
        if sender.last_yaw is not None and now > sender.last_yaw[0]:
            yaw_rate = wrap_angle(vehicle.yaw - sender.last_yaw[1]) / (now - sender.last_yaw[0])
        sender.last_yaw = (now, vehicle.yaw)
        report = V2xVehicleReport(
            Header(now, MAP_FRAME), sender.station_id, sender.msg_count,
            vehicle.x + float(error[0]), vehicle.y + float(error[1]),
            wrap_angle(vehicle.yaw + rng.normal(0.0, p.heading_sigma)),
            max(vehicle.speed + rng.normal(0.0, p.speed_sigma), 0.0),
            vehicle.accel + rng.normal(0.0, p.accel_sigma), yaw_rate, vehicle.length, vehicle.width,
            p.position_sigma)
        sender.msg_count = (sender.msg_count + 1) % 128
        return report
