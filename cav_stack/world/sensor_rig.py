"""Sensor rig description: where each sensor sits on the vehicle, what it covers, how it errs.

Shared by the sensor models (simulation) and the per-sensor processing (perception), read from
``sensors/<rig>.yaml`` (ROS 2 layout, node name ``sensor_rig``). Angles are stored in radians
(YAML keys with ``_deg``), times in seconds (``_ms``), rates in Hz, lengths in metres.
Mountings are poses in ``base_link`` (rear-axle centre on the ground, x forward, y left, z up).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from cav_stack.core.params import load_node_params, validate_positive

RIG_NODE_NAME = "sensor_rig"


def _check_probability(**values: float) -> None:
    for name, value in values.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value}")


@dataclass(frozen=True)
class Mounting:
    """Sensor pose in ``base_link``: x, y, z [m]; yaw [rad] of the sensor x axis (sensor is level)."""

    x: float
    y: float
    z: float
    yaw: float

    def __post_init__(self) -> None:
        validate_positive(z=self.z)


@dataclass(frozen=True)
class LidarParams:
    """Spinning LiDAR.

    frame_id: sensor frame name; rate [Hz]; latency: delivery delay after the scan time [s];
    beams: number of lasers, spread evenly over [elevation_min, elevation_max] [rad];
    azimuth_steps: firings per revolution (360 deg); min_range, max_range [m];
    range_sigma: 1-sigma range noise [m]; dropout_probability: chance a return is lost [0..1].
    """

    frame_id: str
    mounting: Mounting
    rate: float
    latency: float
    beams: int
    elevation_min: float
    elevation_max: float
    azimuth_steps: int
    min_range: float
    max_range: float
    range_sigma: float
    dropout_probability: float

    def __post_init__(self) -> None:
        validate_positive(rate=self.rate, beams=self.beams, azimuth_steps=self.azimuth_steps,
                          min_range=self.min_range, max_range=self.max_range, range_sigma=self.range_sigma)
        if not self.elevation_min < self.elevation_max:
            raise ValueError("elevation_min must be below elevation_max")
        _check_probability(dropout_probability=self.dropout_probability)


@dataclass(frozen=True)
class RadarParams:
    """Automotive radar.

    fov: full horizontal field of view [rad]; min_range, max_range [m];
    range_sigma [m], azimuth_sigma [rad], range_rate_sigma [m/s], rcs_sigma [dB]: 1-sigma noise;
    detection_probability: for a fully visible target [0..1]; min_visible_fraction: share of a
    target that must be unoccluded to detect it at all; extra_points_mean: mean number of
    additional detections per target (Poisson); false_alarms_mean: mean clutter detections per
    scan (Poisson, uniform over the field of view).
    """

    frame_id: str
    mounting: Mounting
    rate: float
    latency: float
    fov: float
    min_range: float
    max_range: float
    range_sigma: float
    azimuth_sigma: float
    range_rate_sigma: float
    rcs_sigma: float
    detection_probability: float
    min_visible_fraction: float
    extra_points_mean: float
    false_alarms_mean: float

    def __post_init__(self) -> None:
        validate_positive(rate=self.rate, fov=self.fov, max_range=self.max_range, range_sigma=self.range_sigma,
                          azimuth_sigma=self.azimuth_sigma, range_rate_sigma=self.range_rate_sigma)
        if self.fov > 2.0 * math.pi:
            raise ValueError(f"fov must be at most 2 pi rad, got {self.fov}")
        _check_probability(detection_probability=self.detection_probability,
                           min_visible_fraction=self.min_visible_fraction)


@dataclass(frozen=True)
class CameraParams:
    """Pinhole camera with a 2D object detector.

    width, height: image size [px]; fx, fy: focal lengths [px]; cx, cy: principal point [px];
    pixel_sigma: 1-sigma noise of box edges [px]; max_range [m];
    detection_probability: for a near, fully visible object [0..1]; half_probability_range:
    distance at which that probability has halved [m]; min_visible_fraction: share of the object
    that must be unoccluded to detect it; min_box_height: smallest detectable box [px].
    """

    frame_id: str
    mounting: Mounting
    rate: float
    latency: float
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    pixel_sigma: float
    max_range: float
    detection_probability: float
    half_probability_range: float
    min_visible_fraction: float
    min_box_height: float

    def __post_init__(self) -> None:
        validate_positive(rate=self.rate, width=self.width, height=self.height, fx=self.fx, fy=self.fy,
                          pixel_sigma=self.pixel_sigma, max_range=self.max_range,
                          half_probability_range=self.half_probability_range)
        _check_probability(detection_probability=self.detection_probability,
                           min_visible_fraction=self.min_visible_fraction)
        if self.min_visible_fraction >= 1.0:
            raise ValueError("min_visible_fraction must be below 1")

    @property
    def horizontal_fov(self) -> float:
        """Full horizontal field of view [rad]."""
        return 2.0 * math.atan2(0.5 * self.width, self.fx)


@dataclass(frozen=True)
class GnssParams:
    """GNSS receiver reporting the ``base_link`` position in ``map``: sigma [m] per axis."""

    frame_id: str
    rate: float
    latency: float
    sigma: float

    def __post_init__(self) -> None:
        validate_positive(rate=self.rate, sigma=self.sigma)


@dataclass(frozen=True)
class ImuParams:
    """IMU in ``base_link``: accel_sigma [m/s^2], yaw_rate_sigma [rad/s], yaw_rate_bias [rad/s]."""

    frame_id: str
    rate: float
    latency: float
    accel_sigma: float
    yaw_rate_sigma: float
    yaw_rate_bias: float

    def __post_init__(self) -> None:
        validate_positive(rate=self.rate, accel_sigma=self.accel_sigma, yaw_rate_sigma=self.yaw_rate_sigma)


@dataclass(frozen=True)
class WheelOdometryParams:
    """Wheel-speed odometry: speed_sigma [m/s]; scale_error: relative wheel-radius error [-]."""

    frame_id: str
    rate: float
    latency: float
    speed_sigma: float
    scale_error: float

    def __post_init__(self) -> None:
        validate_positive(rate=self.rate, speed_sigma=self.speed_sigma)


@dataclass(frozen=True)
class SensorRig:
    """All sensors of one vehicle."""

    lidars: tuple[LidarParams, ...]
    radars: tuple[RadarParams, ...]
    cameras: tuple[CameraParams, ...]
    gnss: GnssParams
    imu: ImuParams
    wheel_odometry: WheelOdometryParams


def load_rig(path: str | Path) -> SensorRig:
    """Load a sensor rig from a ROS 2 params file (section ``sensor_rig``); raises ParamsError."""
    return load_node_params(path, RIG_NODE_NAME, SensorRig)
