"""Several radars on one rig: each scans in its own frame, detections land on the right car in
``map``, and the tracker follows cars behind the ego on the rear-corner radars alone."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from cav_stack.core.messages import EgoState, Header, RadarDetection, RadarFrame
from cav_stack.core.truth import WorldTruth
from cav_stack.app.perception_eval import run_open_loop
from cav_stack.perception.measurement_models import line_of_sight, surface_centroids
from cav_stack.perception.pipeline import PerceptionPipeline
from cav_stack.perception.radar_processing import RadarDetector
from cav_stack.sim.sensors.ego import EgoMotion
from cav_stack.sim.sensors.radar import RadarModel
from cav_stack.sim.sensors.synthetic import ScriptedVehicle, SyntheticHighway, vehicle_box

# The ego heads 40 deg left of map x and turns (yaw rate): a wrong rotation or sensor velocity shows.
EGO_YAW, EGO_SPEED, EGO_YAW_RATE = math.radians(40.0), 25.0, 0.1
EGO_XY = np.array([100.0, -50.0])


def to_map(forward: float, left: float) -> np.ndarray:
    """A point given in the ego's base_link (forward, left) [m] in ``map``."""
    c, s = math.cos(EGO_YAW), math.sin(EGO_YAW)
    return EGO_XY + np.array([c * forward - s * left, s * forward + c * left])


def quiet(radar):
    return dataclasses.replace(radar, false_alarms_mean=0.0, detection_probability=1.0, extra_points_mean=0.0)


def test_each_radar_sees_its_own_sector_and_places_detections_in_map(rig, perception_params):
    assert {r.frame_id for r in rig.radars} == {"radar_front", "radar_rear_left", "radar_rear_right"}
    ego = EgoMotion("ego", *EGO_XY, EGO_YAW, EGO_SPEED, 0.0, EGO_YAW_RATE)
    estimate = EgoState(Header(0.0, "map"), *EGO_XY, EGO_YAW, EGO_SPEED, 0.0, EGO_YAW_RATE)
    # beside the rear bumper on either side (each in one rear radar's sector only) and ahead
    cars = {"behind_left": (to_map(-3.0, 3.6), 28.0), "behind_right": (to_map(-3.0, -3.6), 22.0),
            "ahead": (to_map(40.0, 0.0), 24.0)}
    truth = WorldTruth(0.0, tuple(vehicle_box(name, *xy, yaw=EGO_YAW, speed=v) for name, (xy, v) in cars.items()))
    seen_by = {"radar_front": "ahead", "radar_rear_left": "behind_left", "radar_rear_right": "behind_right"}
    rng = np.random.default_rng(4)
    for radar in map(quiet, rig.radars):
        detector = RadarDetector(radar, perception_params.radar)
        xy, radial = [], []
        for _ in range(50):
            frame = RadarModel(radar).measure(truth, ego, 0.0, rng)
            assert frame.header.frame_id == radar.frame_id
            ds = detector.detect(frame, estimate)
            assert len(ds) == 1, radar.frame_id  # the car in its sector, nothing else
            xy.append(ds.z[0, :2]), radial.append(ds.z[0, 2])
        centre, speed = cars[seen_by[radar.frame_id]]
        sensor = ds.sensor_position
        # the reflections (detection minus the detector's centre_offset along its line of sight)
        # lie on the outline the radar sees of the true box, wherever the radar sits on the ego
        xy = np.array(xy)
        reflections = xy - perception_params.radar.centre_offset * line_of_sight(xy, sensor)
        outline, _ = surface_centroids(np.array([[*centre, EGO_YAW, speed, 0.0, 0.0]]), np.array([[4.5, 1.8]]), sensor)
        assert np.linalg.norm(reflections.mean(axis=0) - outline[0]) < 0.5, radar.frame_id
        ground_velocity = speed * np.array([math.cos(EGO_YAW), math.sin(EGO_YAW)])
        # ego motion (speed and yaw rate at the sensor) removed: the car's own velocity along each
        # detection's line of sight (one reflection per scan here)
        radial_error = np.array(radial) - line_of_sight(xy, sensor) @ ground_velocity
        assert np.mean(radial_error) == pytest.approx(0.0, abs=0.1), radar.frame_id
        assert np.std(radial_error) < 0.5, radar.frame_id


def test_rear_corner_radars_track_cars_behind_that_the_front_radar_never_sees(rig, perception_params):
    world = SyntheticHighway((ScriptedVehicle("left", -30.0, 1, 28.0, 0), ScriptedVehicle("right", -45.0, -1, 27.0, 1),
                              ScriptedVehicle("lead", 40.0, 0, 25.0, 0)), ego_speed=25.0)

    def run(radars):
        sub_rig = dataclasses.replace(rig, radars=radars)
        params = dataclasses.replace(perception_params,
                                     radar=dataclasses.replace(perception_params.radar, initiates_tracks=True))
        frames = ((world.truth(0.05 * k), world.ego(0.05 * k)) for k in range(101))
        return run_open_loop(frames, sub_rig, PerceptionPipeline(sub_rig, params), frozenset({"radar"}), None,
                             np.random.default_rng(5))

    front_only, all_radars = run(rig.radars[:1]), run(rig.radars)
    assert front_only["truth_objects"] == all_radars["truth_objects"] == 3 * 41
    assert front_only["recall"] < 0.4  # only the lead car
    assert all_radars["recall"] > 0.95 and all_radars["id_switches"] == 0
    assert all_radars["position_rmse"] < 1.0


def test_far_reflections_scattered_by_azimuth_noise_form_one_wide_cluster(rig, perception_params):
    # Two reflections of one car 75 m behind, 2 deg apart in azimuth (~2.6 m across the line of
    # sight: twice the radar's 1-sigma azimuth noise there), at one radial speed.
    radar = rig.radars[1]
    estimate = EgoState(Header(0.0, "map"), *EGO_XY, EGO_YAW, EGO_SPEED, 0.0, EGO_YAW_RATE)
    bearing = math.radians(39.0)  # in the radar frame (mounted at 140 deg): 179 deg in base_link, just behind
    frame = RadarFrame(Header(0.0, radar.frame_id), tuple(
        RadarDetection(75.0, bearing + da, -2.0, 10.0) for da in (math.radians(-1.0), math.radians(1.0))))
    strict = dataclasses.replace(perception_params.radar, cluster_azimuth_sigmas=0.0)
    assert len(RadarDetector(radar, strict).detect(frame, estimate)) == 2  # split by a fixed across limit
    ds = RadarDetector(radar, perception_params.radar).detect(frame, estimate)
    assert len(ds) == 1
    u = line_of_sight(ds.z[:, :2], ds.sensor_position)[0]
    across = np.array([-u[1], u[0]])
    merge_width = perception_params.radar.cluster_across + (
        perception_params.radar.cluster_azimuth_sigmas * math.sqrt(2.0) * radar.azimuth_sigma * 75.0)
    # the cluster may be two unresolved cars as well: its across variance covers the join width
    assert across @ ds.covariance[0, :2, :2] @ across >= merge_width ** 2 / 12.0
