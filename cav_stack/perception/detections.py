"""Detections handed from the per-sensor processing to the tracker, in ``map``.

One :class:`DetectionSet` holds the detections of one sensor at one measurement time, all of one
:class:`MeasurementKind` (which fixes the measurement vector ``z`` and its model in the tracker).
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.core.messages import EgoState, ObjectClass
from cav_stack.world.sensor_rig import Mounting


class MeasurementKind(enum.Enum):
    """What a detection measures (``z`` layout, all in ``map``, SI units).

    POSITION: (x, y) of the object centre [m].
    POSITION_YAW: (x, y [m], yaw [rad] modulo pi: front and back are not told apart).
    POSITION_RADIAL: (x, y [m], ground radial speed [m/s]: the object's velocity along the line
    of sight from ``sensor_position``, positive receding).
    FULL_STATE: (x, y [m], yaw [rad], speed [m/s], yaw rate [rad/s], acceleration [m/s^2]).
    """

    POSITION = "position"
    POSITION_YAW = "position_yaw"
    POSITION_RADIAL = "position_radial"
    FULL_STATE = "full_state"

    @property
    def size(self) -> int:
        """Length of the measurement vector."""
        return _KIND_SIZES[self]


_KIND_SIZES = {MeasurementKind.POSITION: 2, MeasurementKind.POSITION_YAW: 3,
               MeasurementKind.POSITION_RADIAL: 3, MeasurementKind.FULL_STATE: 6}


@dataclass(frozen=True)
class Coverage:
    """Horizontal sector a sensor covers in ``map``: apex (x, y) [m], heading and half_fov [rad],
    max_range [m]. A confirmed or tentative track inside it that gets no detection has been missed."""

    x: float
    y: float
    heading: float
    half_fov: float
    max_range: float

    def contains(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Boolean mask of the points (px, py) [m, map] inside the sector."""
        dx, dy = np.asarray(px) - self.x, np.asarray(py) - self.y
        inside = np.hypot(dx, dy) <= self.max_range
        return inside & (np.abs(wrap_angle(np.arctan2(dy, dx) - self.heading)) <= self.half_fov)


@dataclass(frozen=True, eq=False)
class DetectionSet:
    """Detections of one sensor at one time, in ``map``.

    stamp: measurement time [s]; source: sensor name (``lidar_top``, ``v2x``...); kind: layout of z;
    z: (M, k) measurements; covariance: (M, k, k) in SI units squared;
    sensor_position, sensor_velocity: (2,) of the sensor in ``map`` [m, m/s];
    coverage: sector where a missing detection counts as a miss (None: never a miss, e.g. V2X);
    lengths, widths: (M,) box extents [m] (NaN: not measured); extent_shift: (M, 2, 2) unit vectors
    (length axis, width axis) along which the true centre lies further when the object is longer /
    wider than measured (zero where that extent was fully seen); classes: per detection;
    station_ids: (M,) V2X station IDs (-1: none); initiates: whether unmatched detections start tracks;
    surface_offset: (M,) [m] how far beyond the sensed surface (along the line of sight from
    sensor_position) the detector placed each position as a stand-in for the object's unseen depth,
    which a tracker that knows the object's box replaces by the box's own (None: positions are
    centres, no surface model).
    """

    stamp: float
    source: str
    kind: MeasurementKind
    z: np.ndarray
    covariance: np.ndarray
    sensor_position: np.ndarray
    sensor_velocity: np.ndarray
    coverage: Coverage | None
    lengths: np.ndarray
    widths: np.ndarray
    extent_shift: np.ndarray
    classes: tuple[ObjectClass, ...]
    station_ids: np.ndarray
    initiates: bool
    surface_offset: np.ndarray | None = None

    def __post_init__(self) -> None:
        m, k = self.z.shape[0], self.kind.size
        if self.z.shape != (m, k) or self.covariance.shape != (m, k, k):
            raise ValueError(f"{self.source}: z {self.z.shape} / covariance {self.covariance.shape} do not fit "
                             f"{self.kind.name} with {m} detections")
        for name in ("lengths", "widths", "station_ids"):
            if getattr(self, name).shape != (m,):
                raise ValueError(f"{self.source}: {name} must have shape ({m},)")
        if self.extent_shift.shape != (m, 2, 2) or len(self.classes) != m:
            raise ValueError(f"{self.source}: extent_shift must be ({m}, 2, 2) and classes {m} long")
        if self.surface_offset is not None and self.surface_offset.shape != (m,):
            raise ValueError(f"{self.source}: surface_offset must have shape ({m},)")
        if not (np.all(np.isfinite(self.z)) and np.all(np.isfinite(self.covariance))):
            raise ValueError(f"{self.source}: non-finite measurement at stamp {self.stamp}")

    def __len__(self) -> int:
        return int(self.z.shape[0])

    @staticmethod
    def build(stamp: float, source: str, kind: MeasurementKind, z: np.ndarray, covariance: np.ndarray,
              sensor_position: np.ndarray, sensor_velocity: np.ndarray, coverage: Coverage | None,
              initiates: bool, classes: tuple[ObjectClass, ...] | None = None,
              lengths: np.ndarray | None = None, widths: np.ndarray | None = None,
              extent_shift: np.ndarray | None = None, station_ids: np.ndarray | None = None,
              surface_offset: np.ndarray | None = None) -> DetectionSet:
        """A set with unknown sizes, no extent shifts, UNKNOWN class, no station IDs and no surface
        model unless given."""
        k = kind.size
        z = np.asarray(z, dtype=float)
        covariance = np.asarray(covariance, dtype=float)
        z = z.reshape(0, k) if z.size == 0 else z
        covariance = covariance.reshape(0, k, k) if covariance.size == 0 else covariance
        m = z.shape[0]
        nan = np.full(m, np.nan)
        return DetectionSet(
            stamp=float(stamp), source=source, kind=kind, z=z, covariance=covariance,
            sensor_position=np.asarray(sensor_position, dtype=float),
            sensor_velocity=np.asarray(sensor_velocity, dtype=float), coverage=coverage,
            lengths=nan.copy() if lengths is None else np.asarray(lengths, dtype=float),
            widths=nan.copy() if widths is None else np.asarray(widths, dtype=float),
            extent_shift=np.zeros((m, 2, 2)) if extent_shift is None else np.asarray(extent_shift, dtype=float),
            classes=classes if classes is not None else (ObjectClass.UNKNOWN,) * m,
            station_ids=np.full(m, -1, dtype=np.int64) if station_ids is None
            else np.asarray(station_ids, dtype=np.int64),
            initiates=initiates,
            surface_offset=None if surface_offset is None else np.asarray(surface_offset, dtype=float))


@dataclass(frozen=True)
class SensorPlacement:
    """Pose of a sensor in ``map`` at a measurement time, from the ego estimate and the mounting:
    x, y, z [m], yaw [rad]; velocity (vx, vy) [m/s] of the sensor point in ``map``."""

    x: float
    y: float
    z: float
    yaw: float
    vx: float
    vy: float

    def to_map(self, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sensor-frame points (px, py) [m] in ``map``."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return self.x + c * px - s * py, self.y + s * px + c * py


def place_sensor(ego: EgoState, mounting: Mounting) -> SensorPlacement:
    """Sensor pose and velocity in ``map`` from an ego estimate (``base_link`` in ``map``)."""
    c, s = math.cos(ego.yaw), math.sin(ego.yaw)
    ox, oy = c * mounting.x - s * mounting.y, s * mounting.x + c * mounting.y
    return SensorPlacement(ego.x + ox, ego.y + oy, mounting.z, ego.yaw + mounting.yaw,
                           ego.speed * c - ego.yaw_rate * oy, ego.speed * s + ego.yaw_rate * ox)
