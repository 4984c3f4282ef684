"""The sensor rig realised with CARLA sensors, and CARLA sensor frames turned into core messages.

Realisation (:func:`rig_sensor_specs`): every rig sensor becomes one CARLA sensor that captures on
every tick (``sensor_tick`` 0) so that a missing frame is unambiguous; slower rig rates are
obtained by publishing every n-th tick (:func:`publish_period_ticks`). The LiDAR spins at the tick
rate so that each frame is one full revolution. Cameras become ``sensor.camera.instance_segmentation``
(2D boxes are derived from it; an RGB camera with the same intrinsics is added for recording).
CARLA cannot model what the rig does not say in CARLA's terms, so the extra numbers (radar
vertical field of view, ray budget and the RCS it does not report) come from
:class:`CarlaSensorRealisation`.

Conversions take the buffers exactly as CARLA delivers them (``raw_data`` of the measurement):

* LiDAR (``sensor.lidar.ray_cast``): float32 (x, y, z, intensity) per point in the sensor frame
  (UE axes); returned in REP 103 axes, cut to the rig's [min_range, max_range].
* Radar (``sensor.other.radar``): float32 (velocity [m/s, positive receding], azimuth [rad, positive
  to the right], altitude [rad, positive up], depth [m]) per detection (CARLA ``RadarDetection``);
  returned with azimuth positive left and the range projected onto the horizontal plane.
* Instance segmentation: BGRA uint8 image; R = semantic tag (CARLA ``CityObjectLabel``),
  G = low byte and B = high byte of the actor id. Each actor with road-user pixels gives one box.
* GNSS: latitude/longitude/altitude through the map's own geo-projection
  (``carla.Map.geolocation_to_transform``) into ``map``.
* IMU: accelerometer [m/s^2] and gyroscope [rad/s] in the sensor frame (UE axes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cav_stack.core.messages import (MAP_FRAME, CameraDetection, CameraFrame, GnssFix, Header, ImuSample,
                                     ObjectClass, PointCloud, RadarDetection, RadarFrame)
from cav_stack.core.params import validate_positive
from cav_stack.world.sensor_rig import CameraParams, LidarParams, Mounting, RadarParams, SensorRig
from cav_stack.sim.carla_client import require_carla
from cav_stack.sim.carla_frames import CarlaFrame, Pose3, angular_to_rep103, points_to_rep103, vector_to_rep103

#: CARLA semantic tags (``carla.CityObjectLabel``, CARLA >= 0.9.14) of road users -> detector class.
ROAD_USER_TAGS: dict[int, ObjectClass] = {
    12: ObjectClass.PEDESTRIAN,   # Pedestrians
    13: ObjectClass.BICYCLE,      # Rider (only when no vehicle pixel of the same actor is seen)
    14: ObjectClass.CAR,          # Car
    15: ObjectClass.TRUCK,        # Truck
    16: ObjectClass.BUS,          # Bus
    17: ObjectClass.UNKNOWN,      # Train
    18: ObjectClass.MOTORCYCLE,   # Motorcycle
    19: ObjectClass.BICYCLE,      # Bicycle
}
RIDER_TAG = 13
#: Earth radius of CARLA's geo-projection (WGS84 equatorial) [m], to express the GNSS noise in degrees.
EARTH_RADIUS = 6378137.0

LIDAR_BLUEPRINT = "sensor.lidar.ray_cast"
RADAR_BLUEPRINT = "sensor.other.radar"
INSTANCE_CAMERA_BLUEPRINT = "sensor.camera.instance_segmentation"
RGB_CAMERA_BLUEPRINT = "sensor.camera.rgb"
GNSS_BLUEPRINT = "sensor.other.gnss"
IMU_BLUEPRINT = "sensor.other.imu"


@dataclass(frozen=True)
class CarlaSensorRealisation:
    """What CARLA needs beyond the rig.

    radar_vertical_fov: full vertical field of view of the radars [rad];
    radar_points_per_second: rays cast per second by each radar;
    radar_rcs_dbsm: RCS written into every radar detection [dBsm] (CARLA's radar reports none);
    camera_min_pixels: fewest pixels of an actor that make a 2D box;
    record_rgb: also spawn an RGB camera beside each instance camera (for recordings).
    """

    radar_vertical_fov: float
    radar_points_per_second: int
    radar_rcs_dbsm: float
    camera_min_pixels: int
    record_rgb: bool

    def __post_init__(self) -> None:
        validate_positive(radar_vertical_fov=self.radar_vertical_fov,
                          radar_points_per_second=self.radar_points_per_second,
                          camera_min_pixels=self.camera_min_pixels)


@dataclass(frozen=True)
class SensorSpec:
    """One CARLA sensor of the rig.

    name: unique key (``<kind>/<frame_id>``); kind: lidar, radar, camera, camera_rgb, gnss, imu;
    blueprint: CARLA blueprint id; attributes: blueprint attributes (strings, CARLA units);
    mounting: pose in ``base_link`` (REP 103); frame_id: frame of the produced message;
    period_ticks: publish every n-th tick (the rig rate over the tick rate).
    """

    name: str
    kind: str
    blueprint: str
    attributes: dict[str, str]
    mounting: Pose3
    frame_id: str
    period_ticks: int


def publish_period_ticks(rate: float, tick_rate: float, what: str) -> int:
    """Ticks between publications of a sensor of ``rate`` [Hz] at ``tick_rate`` [Hz].

    Rates at or above the tick rate give 1 (CARLA delivers at most one frame per tick); lower
    rates must divide the tick rate, else ValueError naming ``what``.
    """
    if rate >= tick_rate - 1e-9:
        return 1
    ratio = tick_rate / rate
    if abs(ratio - round(ratio)) > 1e-6:
        raise ValueError(f"{what}: rate {rate:g} Hz does not divide the CARLA tick rate {tick_rate:g} Hz")
    return int(round(ratio))


def camera_fov(camera: CameraParams) -> float:
    """Horizontal field of view [rad] of a rig camera; ValueError if CARLA's pinhole cannot model it.

    CARLA cameras have square pixels and the principal point at the image centre.
    """
    if abs(camera.fx - camera.fy) > 1e-6 * camera.fx or abs(camera.cx - 0.5 * camera.width) > 0.5 \
            or abs(camera.cy - 0.5 * camera.height) > 0.5:
        raise ValueError(f"camera '{camera.frame_id}': CARLA cameras need fx == fy and the principal point at "
                         f"the image centre, got fx={camera.fx}, fy={camera.fy}, cx={camera.cx}, cy={camera.cy} "
                         f"for {camera.width}x{camera.height}")
    return camera.horizontal_fov


def _num(value: float) -> str:
    """A blueprint attribute number (CARLA parses attributes from strings)."""
    return f"{value:.9g}"


def _mounting_pose(mounting: Mounting) -> Pose3:
    return Pose3(mounting.x, mounting.y, mounting.z, 0.0, 0.0, mounting.yaw)


def _lidar_spec(lidar: LidarParams, tick_rate: float) -> SensorSpec:
    attributes = {
        "channels": str(lidar.beams),
        "range": _num(lidar.max_range),
        "rotation_frequency": _num(tick_rate),
        "points_per_second": str(int(round(lidar.beams * lidar.azimuth_steps * tick_rate))),
        "upper_fov": _num(math.degrees(lidar.elevation_max)),
        "lower_fov": _num(math.degrees(lidar.elevation_min)),
        "horizontal_fov": "360.0",
        "noise_stddev": _num(lidar.range_sigma),
        "dropoff_general_rate": _num(lidar.dropout_probability),
        "dropoff_intensity_limit": "1.0",
        "dropoff_zero_intensity": "0.0",
        "sensor_tick": "0.0",
    }
    return SensorSpec(f"lidar/{lidar.frame_id}", "lidar", LIDAR_BLUEPRINT, attributes, _mounting_pose(lidar.mounting),
                      lidar.frame_id, publish_period_ticks(lidar.rate, tick_rate, f"lidar '{lidar.frame_id}'"))


def _radar_spec(radar: RadarParams, real: CarlaSensorRealisation, tick_rate: float) -> SensorSpec:
    attributes = {
        "horizontal_fov": _num(math.degrees(radar.fov)),
        "vertical_fov": _num(math.degrees(real.radar_vertical_fov)),
        "range": _num(radar.max_range),
        "points_per_second": str(real.radar_points_per_second),
        "sensor_tick": "0.0",
    }
    return SensorSpec(f"radar/{radar.frame_id}", "radar", RADAR_BLUEPRINT, attributes, _mounting_pose(radar.mounting),
                      radar.frame_id, publish_period_ticks(radar.rate, tick_rate, f"radar '{radar.frame_id}'"))


def _camera_specs(camera: CameraParams, real: CarlaSensorRealisation, tick_rate: float) -> list[SensorSpec]:
    attributes = {"image_size_x": str(camera.width), "image_size_y": str(camera.height),
                  "fov": _num(math.degrees(camera_fov(camera))), "sensor_tick": "0.0"}
    period = publish_period_ticks(camera.rate, tick_rate, f"camera '{camera.frame_id}'")
    pose = _mounting_pose(camera.mounting)
    specs = [SensorSpec(f"camera/{camera.frame_id}", "camera", INSTANCE_CAMERA_BLUEPRINT, attributes, pose,
                        camera.frame_id, period)]
    if real.record_rgb:
        specs.append(SensorSpec(f"camera_rgb/{camera.frame_id}", "camera_rgb", RGB_CAMERA_BLUEPRINT, dict(attributes),
                                pose, camera.frame_id, period))
    return specs


def rig_sensor_specs(rig: SensorRig, real: CarlaSensorRealisation, tick_rate: float, noise_seed: int,
                     reference_latitude: float) -> tuple[SensorSpec, ...]:
    """CARLA sensors realising ``rig`` at ``tick_rate`` [Hz].

    noise_seed: seed of CARLA's GNSS and IMU noise (derive it from the run seed);
    reference_latitude: latitude [deg] of the map's geo reference, to express the GNSS sigma [m]
    in degrees. GNSS and IMU sit at ``base_link``; the IMU yaw-rate bias is given in REP 103 sign
    and written in CARLA's (negated z).
    """
    validate_positive(tick_rate=tick_rate)
    specs: list[SensorSpec] = [_lidar_spec(lidar, tick_rate) for lidar in rig.lidars]
    specs += [_radar_spec(radar, real, tick_rate) for radar in rig.radars]
    for camera in rig.cameras:
        specs += _camera_specs(camera, real, tick_rate)
    metres_per_degree = EARTH_RADIUS * math.pi / 180.0
    gnss = rig.gnss
    specs.append(SensorSpec(f"gnss/{gnss.frame_id}", "gnss", GNSS_BLUEPRINT, {
        "noise_lat_stddev": _num(gnss.sigma / metres_per_degree),
        "noise_lon_stddev": _num(gnss.sigma / (metres_per_degree * math.cos(math.radians(reference_latitude)))),
        "noise_alt_stddev": "0.0", "noise_seed": str(noise_seed), "sensor_tick": "0.0"},
        Pose3(0.0, 0.0, 0.0), MAP_FRAME, publish_period_ticks(gnss.rate, tick_rate, "gnss")))
    imu = rig.imu
    specs.append(SensorSpec(f"imu/{imu.frame_id}", "imu", IMU_BLUEPRINT, {
        "noise_accel_stddev_x": _num(imu.accel_sigma), "noise_accel_stddev_y": _num(imu.accel_sigma),
        "noise_accel_stddev_z": _num(imu.accel_sigma), "noise_gyro_stddev_x": _num(imu.yaw_rate_sigma),
        "noise_gyro_stddev_y": _num(imu.yaw_rate_sigma), "noise_gyro_stddev_z": _num(imu.yaw_rate_sigma),
        "noise_gyro_bias_z": _num(-imu.yaw_rate_bias), "noise_seed": str(noise_seed + 1), "sensor_tick": "0.0"},
        Pose3(0.0, 0.0, 0.0), imu.frame_id, publish_period_ticks(imu.rate, tick_rate, "imu")))
    names = [spec.name for spec in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"sensor rig has several sensors named {', '.join(duplicates)} (frame_id must be unique)")
    return tuple(specs)


# --- frame conversions -------------------------------------------------------------------------


def _float_records(raw: Any, fields: int, what: str) -> np.ndarray:
    buffer = np.frombuffer(raw, dtype="<f4")
    if buffer.size % fields:
        raise ValueError(f"{what} buffer of {buffer.size * 4} bytes is not a whole number of "
                         f"{fields * 4}-byte records")
    return buffer.reshape(-1, fields)


def lidar_cloud(raw: Any, stamp: float, frame_id: str, min_range: float, max_range: float) -> PointCloud:
    """A CARLA LiDAR ``raw_data`` buffer -> :class:`PointCloud` in the LiDAR frame (REP 103 axes).

    Points outside [min_range, max_range] [m] are dropped (CARLA has no minimum range).
    """
    points = points_to_rep103(_float_records(raw, 4, "LiDAR")).astype(np.float32, copy=False)
    ranges = np.linalg.norm(points[:, :3], axis=1)
    keep = (ranges >= min_range) & (ranges <= max_range)
    return PointCloud(Header(stamp, frame_id), np.ascontiguousarray(points[keep]))


def radar_frame(raw: Any, stamp: float, frame_id: str, rcs_dbsm: float, min_range: float) -> RadarFrame:
    """A CARLA radar ``raw_data`` buffer -> :class:`RadarFrame` in the radar frame.

    range_m is the horizontal range ``depth * cos(altitude)`` [m]; range_rate is CARLA's
    line-of-sight relative velocity [m/s, positive receding]; every detection carries ``rcs_dbsm``.
    Detections nearer than ``min_range`` [m] are dropped.
    """
    records = _float_records(raw, 4, "radar").astype(np.float64)
    velocity, azimuth, altitude, depth = records.T
    horizontal = depth * np.cos(altitude)
    detections = tuple(RadarDetection(range_m=float(r), azimuth=float(-a), range_rate=float(v), rcs_dbsm=rcs_dbsm)
                       for r, a, v in zip(horizontal, azimuth, velocity, strict=True) if r >= min_range)
    return RadarFrame(Header(stamp, frame_id), detections)


def instance_boxes(raw: Any, width: int, height: int, stamp: float, camera: CameraParams, min_pixels: int,
                   rng: np.random.Generator, ignore_ids: frozenset[int] = frozenset()) -> CameraFrame:
    """A CARLA instance-segmentation image (BGRA bytes) -> 2D boxes of road users.

    Every actor id (G + 256 B) with at least ``min_pixels`` road-user pixels (R in
    :data:`ROAD_USER_TAGS`) gives the pixel-edge box of those pixels, class by its most frequent
    tag (a rider counts only without vehicle pixels). Boxes lower than ``camera.min_box_height``
    are dropped; the rest are kept with ``camera.detection_probability`` and get
    ``camera.pixel_sigma`` Gaussian edge noise [px]; score 1 (the boxes come from labels).
    ``ignore_ids``: actor ids never reported (the ego's own body).
    """
    image = np.frombuffer(raw, dtype=np.uint8)
    if image.size != width * height * 4:
        raise ValueError(f"instance image of {image.size} bytes does not match {width}x{height} BGRA")
    image = image.reshape(height, width, 4)
    tags = image[..., 2]
    ids = image[..., 1].astype(np.int64) | (image[..., 0].astype(np.int64) << 8)
    road_user = np.isin(tags, np.fromiter(ROAD_USER_TAGS, dtype=np.uint8))
    v_idx, u_idx = np.nonzero(road_user)
    detections: list[CameraDetection] = []
    if v_idx.size:
        pixel_ids = ids[v_idx, u_idx]
        pixel_tags = tags[v_idx, u_idx].astype(np.int64)
        order = np.argsort(pixel_ids, kind="stable")
        pixel_ids, pixel_tags = pixel_ids[order], pixel_tags[order]
        u_sorted, v_sorted = u_idx[order], v_idx[order]
        starts = np.flatnonzero(np.r_[True, pixel_ids[1:] != pixel_ids[:-1]])
        counts = np.diff(np.r_[starts, pixel_ids.size])
        u_min, u_max = np.minimum.reduceat(u_sorted, starts), np.maximum.reduceat(u_sorted, starts)
        v_min, v_max = np.minimum.reduceat(v_sorted, starts), np.maximum.reduceat(v_sorted, starts)
        for k, start in enumerate(starts):
            actor_id = int(pixel_ids[start])
            if actor_id in ignore_ids or counts[k] < min_pixels:
                continue
            box = (float(u_min[k]), float(v_min[k]), float(u_max[k]) + 1.0, float(v_max[k]) + 1.0)
            if box[3] - box[1] < camera.min_box_height:
                continue
            if rng.random() >= camera.detection_probability:
                continue
            noise = rng.normal(0.0, camera.pixel_sigma, 4)
            detections.append(CameraDetection(box[0] + float(noise[0]), box[1] + float(noise[1]),
                                              box[2] + float(noise[2]), box[3] + float(noise[3]),
                                              _majority_class(pixel_tags[start:start + counts[k]]), 1.0))
    return CameraFrame(Header(stamp, camera.frame_id), tuple(detections))


def _majority_class(tags: np.ndarray) -> ObjectClass:
    values, counts = np.unique(tags, return_counts=True)
    if values.size > 1:
        counts = np.where(values == RIDER_TAG, 0, counts)
    return ROAD_USER_TAGS[int(values[int(np.argmax(counts))])]


def gnss_fix(latitude: float, longitude: float, altitude: float, carla_map: Any, frame: CarlaFrame,
             stamp: float, sigma: float) -> GnssFix:
    """A CARLA GNSS measurement [deg, deg, m] -> :class:`GnssFix` in ``map`` with ``sigma`` [m].

    Uses the map's own projection (``carla.Map.geolocation_to_transform``), the inverse of what
    the server used to produce the fix.
    """
    carla = require_carla()
    location = carla_map.geolocation_to_transform(carla.GeoLocation(latitude, longitude, altitude))
    x, y, _ = frame.to_map(location)
    return GnssFix(Header(stamp, MAP_FRAME), x, y, sigma)


def imu_sample(accelerometer: Any, gyroscope: Any, stamp: float, frame_id: str) -> ImuSample:
    """A CARLA IMU measurement (accelerometer [m/s^2], gyroscope [rad/s], UE axes) -> :class:`ImuSample`."""
    accel_x, accel_y, _ = vector_to_rep103(accelerometer)
    _, _, yaw_rate = angular_to_rep103(gyroscope)
    return ImuSample(Header(stamp, frame_id), accel_x, accel_y, yaw_rate)
