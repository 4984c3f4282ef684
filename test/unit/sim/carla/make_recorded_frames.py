"""Generate ``fixtures/recorded_frames.npz``: CARLA sensor frames of a small scripted scene.

No CARLA server is needed (nor used): the scene (an ego car following a target car on a flat
road) is ray-cast and projected here, and every frame is written in the byte layout CARLA
delivers (UE axes: x forward, y right, z up; degrees in transforms):

* LiDAR: float32 (x, y, z, intensity) per point in the sensor frame, intensity exp(-0.004 d);
* radar: float32 (velocity [m/s, + receding], azimuth [rad, + right], altitude [rad], depth [m]);
* instance segmentation: BGRA uint8, R = semantic tag, G/B = low/high byte of the actor id;
* GNSS: latitude/longitude/altitude from the real ``carla.Map.transform_to_geolocation`` of a
  small OpenDRIVE map (stored in the fixture);
* IMU: accelerometer [m/s^2] and gyroscope [rad/s] in UE axes.

The scene parameters go into the fixture's ``meta`` (JSON) so tests derive their expectations
from the geometry, not from the buffers. Tick 2 loses the radar frame and tick 3 first receives
a stale copy of tick 2's camera frame, to exercise tick matching.

Run: ``.venv/bin/python test/unit/sim/carla/make_recorded_frames.py`` (rewrites the fixture).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "recorded_frames.npz"

DT = 0.05
FIRST_FRAME = 1001
TICKS = 3
EGO_ID, TARGET_ID, PEDESTRIAN_ID, BICYCLE_ID = 24, 300, 301, 302
EGO_START = (5.0, -2.0)          # actor origin in map [m]
EGO_YAW = 0.3                    # [rad, REP 103]
EGO_SPEED, TARGET_SPEED = 10.0, 12.0
TARGET_OFFSET = (25.0, 3.0)      # target origin relative to the ego origin, ego frame [m]
EGO_BOX = {"location": [0.1, 0.0, 0.75], "extent": [2.4, 1.0, 0.75]}      # UE actor frame
TARGET_BOX = {"location": [0.0, 0.0, 0.75], "extent": [2.25, 0.95, 0.75]}
WHEELS = {"front_x": 1.4, "rear_x": -1.45, "half_track": 0.8, "z": 0.35, "max_steer_deg": 70.0}
IMU_ACCEL_REP = (0.8, 0.4, 9.81)
IMU_YAW_RATE_REP = 0.1
CAMERA = {"width": 160, "height": 90, "fx": 100.0, "fy": 100.0, "cx": 80.0, "cy": 45.0}
# Mountings in base_link (REP 103); base_link is the rear axle on the ground.
MOUNTS = {"lidar": (1.3, 0.0, 1.9), "radar": (3.7, 0.0, 0.5), "camera": (1.8, 0.0, 1.4)}
LIDAR_ELEVATIONS_DEG = np.linspace(-15.0, 5.0, 8)
LIDAR_AZIMUTHS_DEG = np.arange(-180.0, 180.0, 1.0)
LIDAR_MAX_RANGE = 60.0
RADAR_STATIC_POINT = (40.0, -6.0, 0.5)   # a guard-rail post, radar frame (REP) at tick 1 [m]
SENSORS = ("lidar/lidar_top", "radar/radar_front", "camera/camera_front", "gnss/gnss", "imu/base_link")

XODR = """<?xml version="1.0" standalone="yes"?>
<OpenDRIVE>
  <header revMajor="1" revMinor="4" name="fixture" version="1.00" north="50" south="-50" east="300" west="-50">
    <geoReference><![CDATA[+proj=tmerc +lat_0=49.0 +lon_0=8.4 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m]]></geoReference>
  </header>
  <road name="r0" length="300.0" id="0" junction="-1">
    <link/>
    <planView>
      <geometry s="0.0" x="-50.0" y="0.0" hdg="0.0" length="300.0"><line/></geometry>
    </planView>
    <elevationProfile><elevation s="0" a="0" b="0" c="0" d="0"/></elevationProfile>
    <lateralProfile/>
    <lanes>
      <laneSection s="0">
        <left>
          <lane id="1" type="driving" level="false"><link/><width sOffset="0" a="3.5" b="0" c="0" d="0"/></lane>
        </left>
        <center><lane id="0" type="none" level="false"><link/></lane></center>
        <right>
          <lane id="-1" type="driving" level="false"><link/><width sOffset="0" a="3.5" b="0" c="0" d="0"/></lane>
        </right>
      </laneSection>
    </lanes>
  </road>
</OpenDRIVE>
"""


def rot(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s], [s, c]])


def ego_origin(t: float) -> np.ndarray:
    return np.array(EGO_START) + EGO_SPEED * t * np.array([math.cos(EGO_YAW), math.sin(EGO_YAW)])


def target_origin(t: float) -> np.ndarray:
    start = np.array(EGO_START) + rot(EGO_YAW) @ np.array(TARGET_OFFSET)
    return start + TARGET_SPEED * t * np.array([math.cos(EGO_YAW), math.sin(EGO_YAW)])


def base_link(t: float) -> np.ndarray:
    return ego_origin(t) + rot(EGO_YAW) @ np.array([WHEELS["rear_x"], 0.0])


def sensor_position(t: float, kind: str) -> np.ndarray:
    mx, my, mz = MOUNTS[kind]
    xy = base_link(t) + rot(EGO_YAW) @ np.array([mx, my])
    return np.array([xy[0], xy[1], mz])


def target_box(t: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre (3,) in map and half extents (3,) of the target box (REP axes)."""
    loc = TARGET_BOX["location"]
    centre_xy = target_origin(t) + rot(EGO_YAW) @ np.array([loc[0], -loc[1]])
    return np.array([centre_xy[0], centre_xy[1], loc[2]]), np.array(TARGET_BOX["extent"])


def to_box_frame(points: np.ndarray, t: float) -> np.ndarray:
    centre, _ = target_box(t)
    rel = points - centre
    c, s = math.cos(EGO_YAW), math.sin(EGO_YAW)
    return np.stack([c * rel[..., 0] + s * rel[..., 1], -s * rel[..., 0] + c * rel[..., 1], rel[..., 2]], axis=-1)


def ray_box(origin: np.ndarray, dirs: np.ndarray, t: float) -> np.ndarray:
    """Distance along each unit ray (map) to the target box (inf on a miss); slab method."""
    _, half = target_box(t)
    o = to_box_frame(origin[None, :], t)[0]
    c, s = math.cos(EGO_YAW), math.sin(EGO_YAW)
    d = np.stack([c * dirs[:, 0] + s * dirs[:, 1], -s * dirs[:, 0] + c * dirs[:, 1], dirs[:, 2]], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - o) / d, (half - o) / d
    near = np.nanmax(np.minimum(t1, t2), axis=1)
    far = np.nanmin(np.maximum(t1, t2), axis=1)
    return np.where((near <= far) & (near > 0.0), near, np.inf)


def lidar_frame(t: float) -> np.ndarray:
    az, el = np.meshgrid(np.radians(LIDAR_AZIMUTHS_DEG), np.radians(LIDAR_ELEVATIONS_DEG), indexing="ij")
    sensor_dirs = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1).reshape(-1, 3)
    c, s = math.cos(EGO_YAW), math.sin(EGO_YAW)
    map_dirs = np.stack([c * sensor_dirs[:, 0] - s * sensor_dirs[:, 1], s * sensor_dirs[:, 0] + c * sensor_dirs[:, 1],
                         sensor_dirs[:, 2]], axis=1)
    origin = sensor_position(t, "lidar")
    with np.errstate(divide="ignore"):
        ground = np.where(map_dirs[:, 2] < 0.0, -origin[2] / map_dirs[:, 2], np.inf)
    dist = np.minimum(ground, ray_box(origin, map_dirs, t))
    keep = dist <= LIDAR_MAX_RANGE
    points_rep = sensor_dirs[keep] * dist[keep, None]
    records = np.empty((points_rep.shape[0], 4), dtype=np.float32)
    records[:, 0], records[:, 1], records[:, 2] = points_rep[:, 0], -points_rep[:, 1], points_rep[:, 2]
    records[:, 3] = np.exp(-0.004 * dist[keep])
    return records


def radar_frame(t: float) -> np.ndarray:
    centre, half = target_box(t)
    c, s = math.cos(EGO_YAW), math.sin(EGO_YAW)
    rear = np.array([[centre[0] - c * half[0] - s * lat, centre[1] - s * half[0] + c * lat, 0.5]
                     for lat in np.linspace(-0.8, 0.8, 5)])
    origin = sensor_position(t, "radar")
    v_sensor = EGO_SPEED * np.array([c, s, 0.0])
    rows = []
    for point, v_target in [(p, TARGET_SPEED * np.array([c, s, 0.0])) for p in rear]:
        rows.append(_radar_row(point, origin, v_target - v_sensor))
    static_xy = sensor_position(0.05, "radar")[:2] + rot(EGO_YAW) @ np.array(RADAR_STATIC_POINT[:2])
    rows.append(_radar_row(np.array([static_xy[0], static_xy[1], RADAR_STATIC_POINT[2]]), origin, -v_sensor))
    return np.array(rows, dtype=np.float32)


def _radar_row(point: np.ndarray, origin: np.ndarray, relative_velocity: np.ndarray) -> list[float]:
    rel = point - origin
    depth = float(np.linalg.norm(rel))
    c, s = math.cos(EGO_YAW), math.sin(EGO_YAW)
    fx, fy, fz = c * rel[0] + s * rel[1], -s * rel[0] + c * rel[1], rel[2]
    azimuth_rep = math.atan2(fy, fx)
    altitude = math.atan2(fz, math.hypot(fx, fy))
    return [float(relative_velocity @ (rel / depth)), -azimuth_rep, altitude, depth]


def project_target(t: float) -> tuple[float, float, float, float]:
    """Pixel-edge box (u0, v0, u1, v1) enclosing the target's 8 projected corners (REP optical model)."""
    centre, half = target_box(t)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    c, s = math.cos(EGO_YAW), math.sin(EGO_YAW)
    local = signs * half
    corners = np.stack([centre[0] + c * local[:, 0] - s * local[:, 1], centre[1] + s * local[:, 0] + c * local[:, 1],
                        centre[2] + local[:, 2]], axis=1)
    rel = corners - sensor_position(t, "camera")
    forward, left, up = c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1], rel[:, 2]
    u = CAMERA["cx"] - CAMERA["fx"] * left / forward
    v = CAMERA["cy"] - CAMERA["fy"] * up / forward
    return float(u.min()), float(v.min()), float(u.max()), float(v.max())


def instance_image(t: float) -> np.ndarray:
    h, w = CAMERA["height"], CAMERA["width"]
    tag = np.full((h, w), 11, dtype=np.uint8)          # sky
    ident = np.zeros((h, w), dtype=np.int64)
    tag[h // 2:, :] = 1                                 # road
    u0, v0, u1, v1 = project_target(t)
    tag[int(math.floor(v0)):int(math.ceil(v1)), int(math.floor(u0)):int(math.ceil(u1))] = 14
    ident[int(math.floor(v0)):int(math.ceil(v1)), int(math.floor(u0)):int(math.ceil(u1))] = TARGET_ID
    tag[40:60, 10:14], ident[40:60, 10:14] = 12, PEDESTRIAN_ID                # a pedestrian
    tag[50:60, 130:136], ident[50:60, 130:136] = 19, BICYCLE_ID               # bicycle frame ...
    tag[38:50, 131:135], ident[38:50, 131:135] = 13, BICYCLE_ID               # ... and its rider
    tag[82:, :], ident[82:, :] = 14, EGO_ID                                   # the ego's own bonnet
    image = np.zeros((h, w, 4), dtype=np.uint8)
    image[..., 0] = (ident >> 8) & 0xFF                 # B: high byte of the actor id
    image[..., 1] = ident & 0xFF                        # G: low byte
    image[..., 2] = tag                                 # R: semantic tag
    image[..., 3] = 255
    return image


def gnss(t: float) -> list[float]:
    import carla

    carla_map = carla.Map("fixture", XODR)
    bl = base_link(t)
    geo = carla_map.transform_to_geolocation(carla.Location(x=float(bl[0]), y=float(-bl[1]), z=0.0))
    return [geo.latitude, geo.longitude, geo.altitude]


def main() -> None:
    buffers: dict[str, np.ndarray] = {}
    deliveries = []
    for k in range(TICKS):
        frame = FIRST_FRAME + k
        t = (k + 1) * DT
        buffers[f"lidar/lidar_top@{frame}"] = lidar_frame(t).view(np.uint8).ravel()
        buffers[f"radar/radar_front@{frame}"] = radar_frame(t).view(np.uint8).ravel()
        buffers[f"camera/camera_front@{frame}"] = instance_image(t).ravel()
        order = [(name, frame) for name in SENSORS]
        if k == 1:
            order.remove(("radar/radar_front", frame))
        if k == 2:
            order.insert(0, ("camera/camera_front", frame - 1))
        deliveries.append(order)
    meta = {
        "dt": DT, "first_frame": FIRST_FRAME, "ticks": TICKS, "ego_id": EGO_ID, "target_id": TARGET_ID,
        "pedestrian_id": PEDESTRIAN_ID, "bicycle_id": BICYCLE_ID, "ego_start": EGO_START, "ego_yaw": EGO_YAW,
        "ego_speed": EGO_SPEED, "target_speed": TARGET_SPEED, "target_offset": TARGET_OFFSET,
        "ego_box": EGO_BOX, "target_box": TARGET_BOX, "wheels": WHEELS, "camera": CAMERA, "mounts": MOUNTS,
        "imu_accel_rep": IMU_ACCEL_REP, "imu_yaw_rate_rep": IMU_YAW_RATE_REP, "lidar_max_range": LIDAR_MAX_RANGE,
        "radar_static_point": RADAR_STATIC_POINT, "xodr": XODR, "deliveries": deliveries,
        "gnss": {str(FIRST_FRAME + k): gnss((k + 1) * DT) for k in range(TICKS)},
    }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(FIXTURE, meta=np.array(json.dumps(meta)), **buffers)
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
