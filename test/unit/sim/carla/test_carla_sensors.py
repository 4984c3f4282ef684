"""CARLA sensor buffers (fixture recorded in CARLA's byte layouts) -> core messages, and the rig realisation."""
import math

import carla
import numpy as np
import pytest

from cav_stack.core.messages import ObjectClass
from cav_stack.world.sensor_rig import CameraParams, Mounting
from cav_stack.core.share import share_path
from cav_stack.world.sensor_rig import load_rig
from cav_stack.sim.carla_frames import CarlaFrame
from cav_stack.sim.carla_sensors import (ROAD_USER_TAGS, CarlaSensorRealisation, camera_fov, gnss_fix, imu_sample,
                                         instance_boxes, lidar_cloud, publish_period_ticks, radar_frame,
                                         rig_sensor_specs)
from carla_fake_server import load_fixture
from make_recorded_frames import base_link, project_target, sensor_position, target_box

META, BUFFERS = load_fixture()
FRAME = META["first_frame"]
T = 1 * META["dt"]
YAW = META["ego_yaw"]


def fixture_camera(**overrides) -> CameraParams:
    c = META["camera"]
    values = dict(frame_id="camera_front", mounting=Mounting(*META["mounts"]["camera"], 0.0), rate=20.0, latency=0.0,
                  width=c["width"], height=c["height"], fx=c["fx"], fy=c["fy"], cx=c["cx"], cy=c["cy"],
                  pixel_sigma=1e-9, max_range=150.0, detection_probability=1.0, half_probability_range=120.0,
                  min_visible_fraction=0.3, min_box_height=8.0)
    values.update(overrides)
    return CameraParams(**values)


def sensor_to_map(points: np.ndarray, kind: str) -> np.ndarray:
    c, s = math.cos(YAW), math.sin(YAW)
    origin = sensor_position(T, kind)
    return np.stack([origin[0] + c * points[:, 0] - s * points[:, 1], origin[1] + s * points[:, 0] + c * points[:, 1],
                     origin[2] + points[:, 2]], axis=1)


def test_semantic_tags_match_carla_city_object_labels():
    labels = carla.CityObjectLabel
    assert {int(labels.Pedestrians), int(labels.Rider), int(labels.Car), int(labels.Truck), int(labels.Bus),
            int(labels.Train), int(labels.Motorcycle), int(labels.Bicycle)} == set(ROAD_USER_TAGS)
    assert ROAD_USER_TAGS[int(labels.Car)] is ObjectClass.CAR
    assert ROAD_USER_TAGS[int(labels.Truck)] is ObjectClass.TRUCK


def test_lidar_points_land_on_the_target_and_the_ground():
    cloud = lidar_cloud(BUFFERS[f"lidar/lidar_top@{FRAME}"].tobytes(), T, "lidar_top", 1.0, 200.0)
    assert cloud.points.dtype == np.float32 and cloud.header.frame_id == "lidar_top"
    world = sensor_to_map(cloud.points[:, :3].astype(float), "lidar")
    centre, half = target_box(T)
    c, s = math.cos(YAW), math.sin(YAW)
    rel = world - centre
    local = np.stack([c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1], rel[:, 2]], axis=1)
    on_target = np.all(np.abs(local) <= half + 1e-3, axis=1)
    on_ground = np.abs(world[:, 2]) < 1e-3
    assert on_target.sum() >= 4
    assert np.all(on_target | on_ground)  # with y mirrored wrongly the target points would miss the box
    assert np.all(np.linalg.norm(cloud.points[:, :3], axis=1) >= 1.0)


def test_lidar_range_gate_and_bad_buffer():
    raw = np.array([[0.5, 0, 0, 1], [10, 0, 0, 1], [0, 250, 0, 1]], dtype="<f4").tobytes()
    cloud = lidar_cloud(raw, 0.0, "l", 1.0, 200.0)
    np.testing.assert_array_equal(cloud.points, [[10, 0, 0, 1]])
    with pytest.raises(ValueError, match="16-byte records"):
        lidar_cloud(raw[:-4], 0.0, "l", 1.0, 200.0)


def test_radar_detections_match_scene_geometry():
    frame = radar_frame(BUFFERS[f"radar/radar_front@{FRAME}"].tobytes(), T, "radar_front", 10.0, 0.5)
    assert len(frame.detections) == 6
    target, static = frame.detections[:5], frame.detections[5]
    origin = sensor_position(T, "radar")
    centre, half = target_box(T)
    for d in target:
        assert 0.0 < d.azimuth < math.radians(15)             # the target is ahead-left
        assert d.range_rate == pytest.approx(META["target_speed"] - META["ego_speed"], abs=0.05)  # receding
        assert d.rcs_dbsm == 10.0
    rear_centre = centre[:2] - half[0] * np.array([math.cos(YAW), math.sin(YAW)])
    expected = float(np.hypot(*(rear_centre - origin[:2])))
    assert target[2].range_m == pytest.approx(expected, abs=1e-3)
    assert static.azimuth < 0.0                                 # right of the radar
    assert static.range_rate == pytest.approx(-META["ego_speed"] * math.cos(static.azimuth), abs=0.05)


def test_radar_projects_range_on_the_ground_plane():
    raw = np.array([[1.0, 0.1, math.radians(30.0), 20.0]], dtype="<f4").tobytes()
    (d,) = radar_frame(raw, 0.0, "r", 0.0, 0.5).detections
    assert d.range_m == pytest.approx(20.0 * math.cos(math.radians(30.0)), rel=1e-6)
    assert d.azimuth == pytest.approx(-0.1) and d.range_rate == pytest.approx(1.0)


def test_instance_image_gives_boxes_and_ignores_the_ego():
    camera = fixture_camera()
    frame = instance_boxes(BUFFERS[f"camera/camera_front@{FRAME}"].tobytes(), camera.width, camera.height, T,
                           camera, 20, np.random.default_rng(0), frozenset({META["ego_id"]}))
    by_class = {d.object_class: d for d in frame.detections}
    assert set(by_class) == {ObjectClass.CAR, ObjectClass.PEDESTRIAN, ObjectClass.BICYCLE}
    car = by_class[ObjectClass.CAR]
    u0, v0, u1, v1 = project_target(T)
    assert (car.u_min, car.v_min, car.u_max, car.v_max) == pytest.approx(
        (math.floor(u0), math.floor(v0), math.ceil(u1), math.ceil(v1)), abs=1e-6)
    ped = by_class[ObjectClass.PEDESTRIAN]
    assert (ped.u_min, ped.v_min, ped.u_max, ped.v_max) == pytest.approx((10, 40, 14, 60), abs=1e-6)
    bike = by_class[ObjectClass.BICYCLE]   # rider pixels outnumber the frame's but the class stays bicycle
    assert (bike.v_min, bike.v_max) == pytest.approx((38, 60), abs=1e-6)
    assert frame.header.frame_id == "camera_front"


def test_instance_image_with_ego_visible_and_thresholds():
    raw = BUFFERS[f"camera/camera_front@{FRAME}"].tobytes()
    camera = fixture_camera()
    rng = np.random.default_rng(0)
    tall_only = instance_boxes(raw, camera.width, camera.height, T, fixture_camera(min_box_height=21.0), 20, rng)
    assert [d.object_class for d in tall_only.detections] == [ObjectClass.BICYCLE]   # 22 px high; others lower
    everything = instance_boxes(raw, camera.width, camera.height, T, camera, 20, rng)
    assert sum(d.object_class is ObjectClass.CAR for d in everything.detections) == 2  # target + own bonnet
    big_only = instance_boxes(raw, camera.width, camera.height, T, camera, 100, rng)
    assert ObjectClass.PEDESTRIAN not in [d.object_class for d in big_only.detections]  # 80 pixels
    with pytest.raises(ValueError, match="does not match"):
        instance_boxes(raw[:-4], camera.width, camera.height, T, camera, 20, rng)


def test_instance_noise_and_detection_probability_use_the_rng():
    raw = BUFFERS[f"camera/camera_front@{FRAME}"].tobytes()
    camera = fixture_camera(pixel_sigma=2.0, detection_probability=0.5)
    runs = [instance_boxes(raw, camera.width, camera.height, T, camera, 20, np.random.default_rng(seed),
                           frozenset({META["ego_id"]})) for seed in range(200)]
    counts = [len(r.detections) for r in runs]
    assert 1.2 < np.mean(counts) < 1.8     # 3 objects kept with probability 0.5
    again = instance_boxes(raw, camera.width, camera.height, T, camera, 20, np.random.default_rng(3),
                           frozenset({META["ego_id"]}))
    assert [d.u_min for d in again.detections] == [d.u_min for d in runs[3].detections]


def test_gnss_fix_recovers_base_link_through_the_map_projection():
    carla_map = carla.Map("fixture", META["xodr"])
    for frame in range(FRAME, FRAME + META["ticks"]):
        lat, lon, alt = META["gnss"][str(frame)]
        t = (frame - FRAME + 1) * META["dt"]
        fix = gnss_fix(lat, lon, alt, carla_map, CarlaFrame(), t, 0.5)
        assert (fix.x, fix.y) == pytest.approx(tuple(base_link(t)), abs=0.02)
        assert fix.header.frame_id == "map" and fix.sigma_m == 0.5


def test_imu_sample_axes():
    sample = imu_sample(carla.Vector3D(0.8, -0.4, 9.81), carla.Vector3D(0.0, 0.0, -0.1), 1.0, "base_link")
    assert (sample.accel_x, sample.accel_y, sample.yaw_rate) == pytest.approx((0.8, 0.4, 0.1))


REALISATION = CarlaSensorRealisation(math.radians(10.0), 1500, 10.0, 20, True)


def test_rig_specs_realise_rig_32():
    rig = load_rig(share_path("sensors", "rig_32.yaml"))
    specs = {s.name: s for s in rig_sensor_specs(rig, REALISATION, 20.0, 7, 49.0)}
    lidar = specs["lidar/lidar_top"]
    assert lidar.blueprint == "sensor.lidar.ray_cast" and lidar.period_ticks == 2
    assert int(lidar.attributes["points_per_second"]) == 32 * 1800 * 20   # one revolution per tick
    assert float(lidar.attributes["rotation_frequency"]) == 20.0
    assert float(lidar.attributes["lower_fov"]) == pytest.approx(-30.0)
    camera = specs["camera/camera_front"]
    assert camera.blueprint == "sensor.camera.instance_segmentation"
    assert float(camera.attributes["fov"]) == pytest.approx(math.degrees(2 * math.atan(960 / 1400)), abs=1e-6)
    assert specs["camera_rgb/camera_front"].blueprint == "sensor.camera.rgb"
    imu = specs["imu/base_link"]
    assert float(imu.attributes["noise_gyro_bias_z"]) == pytest.approx(-math.radians(0.05))
    gnss = specs["gnss/gnss"]
    metres = float(gnss.attributes["noise_lat_stddev"]) * math.pi / 180 * 6378137.0
    assert metres == pytest.approx(0.5) and gnss.period_ticks == 2
    assert all(float(s.attributes["sensor_tick"]) == 0.0 for s in specs.values())   # a frame every tick


def test_rate_and_camera_model_errors():
    assert publish_period_ticks(100.0, 20.0, "imu") == 1
    assert publish_period_ticks(5.0, 20.0, "x") == 4
    with pytest.raises(ValueError, match="lidar 'x': rate 7 Hz does not divide"):
        publish_period_ticks(7.0, 20.0, "lidar 'x'")
    with pytest.raises(ValueError, match="principal point"):
        camera_fov(fixture_camera(cx=70.0))
    with pytest.raises(ValueError, match="fx == fy"):
        camera_fov(fixture_camera(fy=120.0))


def test_fixture_is_what_its_script_generates():
    """The committed recording equals a fresh run of make_recorded_frames (no hand edits, no drift)."""
    import make_recorded_frames as script

    for k in range(META["ticks"]):
        frame, t = FRAME + k, (k + 1) * META["dt"]
        assert np.array_equal(BUFFERS[f"lidar/lidar_top@{frame}"], script.lidar_frame(t).view(np.uint8).ravel())
        assert np.array_equal(BUFFERS[f"radar/radar_front@{frame}"], script.radar_frame(t).view(np.uint8).ravel())
        assert np.array_equal(BUFFERS[f"camera/camera_front@{frame}"], script.instance_image(t).ravel())
        assert META["gnss"][str(frame)] == pytest.approx(script.gnss(t), abs=1e-12)
