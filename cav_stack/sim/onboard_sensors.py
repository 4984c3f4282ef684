"""One CAV's onboard sensors in simulation: every sensor of its rig at its own rate and latency.

Each world tick (``tick`` [s]) the bridge asks :meth:`OnboardSensors.measure` which sensors are due;
a due sensor measures the world at the tick time and its message is held back by the sensor's
latency (rounded up to whole ticks: the world only advances in ticks). Sensors faster than the
tick rate measure once per tick. Sensors in a scripted dropout produce nothing.
Messages go to topics by kind: ``sensors/lidar``, ``sensors/radar``, ``sensors/camera`` (several
sensors of a kind share a topic and are told apart by ``header.frame_id``), ``sensors/gnss``,
``sensors/imu``, ``sensors/odometry``; plus ``vehicle/status`` (the vehicle's own CAN report of
speed, acceleration and steering angle, every tick, no latency).
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cav_stack.core.truth import WorldTruth
from cav_stack.world.sensor_rig import SensorRig
from cav_stack.sim.sensors.ego import EgoMotion
from cav_stack.sim.sensors.suite import build_sensor_models

TOPIC_BY_MODEL = {"gnss": "sensors/gnss", "imu": "sensors/imu", "wheel_odometry": "sensors/odometry"}


@dataclass(order=True)
class _Pending:
    deliver_at: float
    seq: int
    topic: str = field(compare=False)
    message: Any = field(compare=False)


class OnboardSensors:
    """The sensor models of one CAV's rig with their schedules and delivery queue."""

    def __init__(self, rig: SensorRig, cav_id: str, tick: float):
        self.cav_id = cav_id
        self._tick = tick
        self._models = build_sensor_models(rig)
        self._topics = {name: TOPIC_BY_MODEL[name] for name in self._models if name in TOPIC_BY_MODEL}
        for lidar in rig.lidars:
            self._topics[lidar.frame_id] = "sensors/lidar"
        for radar in rig.radars:
            self._topics[radar.frame_id] = "sensors/radar"
        for camera in rig.cameras:
            self._topics[camera.frame_id] = "sensors/camera"
        self._kinds = {name: kind for kind, names in (
            ("lidar", [p.frame_id for p in rig.lidars]), ("radar", [p.frame_id for p in rig.radars]),
            ("camera", [p.frame_id for p in rig.cameras]), ("gnss", ["gnss"]), ("imu", ["imu"]),
            ("wheel_odometry", ["wheel_odometry"])) for name in names}
        self._next_due = {name: 0.0 for name in self._models}
        self._queue: list[_Pending] = []
        self._seq = 0

    def measure(self, now: float, truth: WorldTruth, ego: EgoMotion, rng: np.random.Generator,
                dropouts: frozenset[str] = frozenset()) -> None:
        """Measure with every sensor due at ``now`` [s] that is not in ``dropouts`` (frame IDs or kinds)."""
        for name, model in self._models.items():
            if now + 1e-9 < self._next_due[name]:
                continue
            self._next_due[name] = now + 1.0 / model.rate - 1e-9
            if name in dropouts or self._kinds[name] in dropouts:
                continue
            message = model.measure(truth, ego, now, rng)
            delay = math.ceil(model.latency / self._tick - 1e-9) * self._tick
            heapq.heappush(self._queue, _Pending(now + delay, self._seq, self._topics[name], message))
            self._seq += 1

    def deliveries(self, now: float) -> list[tuple[str, Any]]:
        """(topic, message) of every measurement whose latency has passed by ``now`` [s], in order."""
        due = []
        while self._queue and self._queue[0].deliver_at <= now + 1e-9:
            pending = heapq.heappop(self._queue)
            due.append((pending.topic, pending.message))
        return due
