"""CLEAR-MOT and RMSE figures on hand-made frames; the open-loop evaluation on a short synthetic run."""
from __future__ import annotations

import dataclasses
import math

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from cav_stack.core.messages import Header, TrackedObject, TrackList
import numpy as np

from cav_stack.app.perception_eval import V2xSetup, evaluate_perception, run_open_loop
from cav_stack.perception.metrics import TrackingMetrics
from cav_stack.perception.pipeline import PerceptionPipeline
from cav_stack.sim.sensors.synthetic import ScriptedVehicle, SyntheticHighway, vehicle_box


def tracks(t, *objects):
    return TrackList(Header(t, "map"), tuple(TrackedObject(i, x, y, 0.0, v, 4.5, 1.8) for i, x, y, v in objects))


def test_clear_mot_counts_misses_false_positives_switches_and_rmse():
    metrics = TrackingMetrics(max_distance=100.0, match_threshold=2.0)
    cars = [vehicle_box("a", 10.0, 0.0, speed=20.0), vehicle_box("b", 30.0, 3.5, speed=20.0),
            vehicle_box("far", 150.0, 0.0), vehicle_box("edge", 100.5, 0.0)]
    metrics.add_frame(0.0, 0.0, cars, tracks(0.0, (1, 10.3, 0.0, 21.0), (2, 30.0, 3.9, 20.0)))
    metrics.add_frame(0.0, 0.0, cars, tracks(0.1, (1, 10.0, 0.0, 20.0)))  # b missed
    metrics.add_frame(0.0, 0.0, cars, tracks(0.2, (3, 10.0, 0.0, 20.0), (2, 30.0, 3.5, 20.0), (9, 60.0, 0.0, 0.0),
                                             (7, 99.5, 0.0, 0.0)))  # track of 'edge' (outside): ignored
    s = metrics.summary()
    assert s["truth_objects"] == 6 and s["frames"] == 3  # 'far' is beyond 100 m
    assert s["misses"] == 1 and s["false_positives"] == 1 and s["id_switches"] == 1
    assert s["mota"] == pytest.approx(1.0 - 3 / 6)
    matched_sq = [0.09, 0.16, 0.0, 0.0, 0.0]
    assert s["position_rmse"] == pytest.approx(math.sqrt(sum(matched_sq) / 5))
    assert s["velocity_rmse"] == pytest.approx(math.sqrt(1.0 / 5))
    assert s["motp"] == pytest.approx((0.3 + 0.4) / 5)


def test_subset_recall_and_frame_errors():
    metrics = TrackingMetrics(100.0, 2.0)
    cars = [vehicle_box("seen", 10.0, 0.0), vehicle_box("hidden", 40.0, 0.0)]
    metrics.add_frame(0.0, 0.0, cars, tracks(0.0, (1, 10.0, 0.0, 0.0)), subset={"hidden"})
    metrics.add_frame(0.0, 0.0, cars, tracks(0.1, (1, 10.0, 0.0, 0.0), (2, 40.5, 0.0, 0.0)), subset={"hidden"})
    assert metrics.summary()["subset_recall"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="'map'"):
        metrics.add_frame(0.0, 0.0, cars, TrackList(Header(0.0, "base_link")))
    with pytest.raises(ValueError):
        TrackingMetrics(0.0, 2.0)


def test_open_loop_run_tracks_a_small_scene_and_v2x_finds_the_hidden_car(rig, perception_params):
    # The ego follows a truck; a car ahead of the truck is hidden from every onboard sensor.
    world = SyntheticHighway((ScriptedVehicle("truck", 20.0, 0, 25.0, 2), ScriptedVehicle("hidden", 38.0, 0, 25.0, 0),
                              ScriptedVehicle("left", 10.0, 1, 27.0, 0)), ego_speed=25.0)
    frames = ((world.truth(0.05 * k), world.ego(0.05 * k)) for k in range(61))
    result = run_open_loop(frames, rig, PerceptionPipeline(rig, perception_params),
                           frozenset({"lidar", "radar", "camera"}), V2xSetup(), np.random.default_rng(0))
    assert result["frames"] == 21 and result["truth_objects"] == 63
    assert result["subset_objects"] == 21 and result["subset_recall"] > 0.8
    assert result["mota"] > 0.9 and result["position_rmse"] < 0.3 and result["dropped_late"] == 0


def test_evaluation_rejects_unknown_sensor_sets():
    with pytest.raises(ValueError, match="unknown sensor set"):
        evaluate_perception("synthetic_highway", 3, 1.0, "sonar")


@pytest.mark.slow
def test_evaluation_on_the_synthetic_highway():
    result = evaluate_perception("synthetic_highway", 3, 3.0, "fused")
    # dense scripted traffic: many vehicles are hidden from every onboard sensor (MOTA counts them)
    assert result["frames"] == 21 and result["mota"] > 0.5 and result["sensor_set"] == "fused"


def _evaluate_on_highway(sensor_set, cache_dir):
    return evaluate_perception("highway_cut_in", 1, 25.0, sensor_set, cache_dir=cache_dir)


@pytest.mark.slow
def test_fused_perception_on_the_sumo_highway_meets_the_targets(tmp_path):
    pytest.importorskip("libsumo")
    # each evaluation in a fresh process: libsumo holds one simulation per process, and a long test
    # session that has started and closed many simulations crashed inside SUMO here (see README)
    sets = ("fused", "lidar", "radar", "camera")
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        fused, lidar, radar, camera = pool.map(_evaluate_on_highway, sets, (tmp_path,) * len(sets))
    assert fused["truth_objects"] > 100
    assert fused["mota"] >= 0.9 and fused["position_rmse"] <= 0.3
    # the scripted cut-in places its car next to the ego (a SUMO moveTo, scenarios/highway_cut_in.yaml):
    # every sensor set pays for that jump alike (one ID switch, 9-11 false positives), so MOTA differs
    # from radar's by a frame or two; fusion must find more of the vehicles than radar and place them
    # far better, and beat the camera outright
    assert fused["recall"] > radar["recall"] and fused["position_rmse"] < 0.5 * radar["position_rmse"]
    assert fused["mota"] > camera["mota"]
    # LiDAR alone already tracks every vehicle within 100 m here (MOTA 1.0, also over the full 80 s
    # with the ego driven by SUMO's IDM), so fusion cannot beat it on MOTA: it must not lose a
    # vehicle and must place them better
    assert fused["mota"] >= lidar["mota"]
    assert fused["position_rmse"] < lidar["position_rmse"] and fused["velocity_rmse"] < lidar["velocity_rmse"]


def test_radar_and_camera_make_a_passing_car_more_accurate_than_lidar_alone(rig, perception_params):
    # Cars overtaking close by on both sides: near and off-axis, the radar sees their sides. Fusing
    # side reflections as if they were the rear face (centre behind them along the line of sight,
    # radial speed towards the centre) pulled the tracks off the LiDAR's (fused 0.11 m vs 0.09 m).
    # The front radar's side reflections are what this checks: the rig's front radar only.
    def run(kinds, radars):
        sub_rig = dataclasses.replace(rig, radars=radars)
        world = SyntheticHighway((ScriptedVehicle("left", -12.0, 1, 29.0, 0),
                                  ScriptedVehicle("right", -20.0, -1, 30.0, 1),
                                  ScriptedVehicle("lead", 40.0, 0, 27.0, 0)), ego_speed=27.0)
        frames = ((world.truth(0.05 * k), world.ego(0.05 * k)) for k in range(161))
        return run_open_loop(frames, sub_rig, PerceptionPipeline(sub_rig, perception_params), frozenset(kinds), None,
                             np.random.default_rng(0))
    fused, lidar = run({"lidar", "radar", "camera"}, rig.radars[:1]), run({"lidar"}, rig.radars[:1])
    assert fused["truth_objects"] == lidar["truth_objects"] == 213
    assert fused["mota"] == lidar["mota"] == 1.0
    assert fused["position_rmse"] < 0.95 * lidar["position_rmse"]
    # With the rear-corner radars also fused, the gain here is gone (seeds 0-5: fused 0.082-0.106 m,
    # LiDAR 0.090-0.096 m): they see these cars close behind, where the LiDAR is far more accurate
    # than its stated covariance (detection NEES ~0.1), so radar positions get too much weight.
    everything = run({"lidar", "radar", "camera"}, rig.radars)
    assert everything["mota"] == 1.0 and everything["position_rmse"] < 1.2 * lidar["position_rmse"]
