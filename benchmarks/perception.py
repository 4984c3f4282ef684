"""Perception timing per frame: LiDAR pipeline on ~100k points, tracker update with 50 objects
(LiDAR boxes; radar reflections with their surface model and radial speeds; a late V2X report
re-filtering the buffered history; the last two as ratios to a LiDAR update), and the
torch LiDAR backend as a ratio to numpy (baselines run in the same process).

Scene: the scripted highway (:class:`~cav_stack.sim.sensors.synthetic.SyntheticHighway`) with
30 vehicles around the ego, scanned by the 128-beam rig (``sensors/rig_128.yaml``). Times are wall
times (median and 90th percentile over ``--repeats`` runs) with process CPU times alongside (less
sensitive to other load on a shared machine). Goals: LiDAR pipeline < 30 ms, tracker < 3 ms.

    python benchmarks/perception.py [--repeats 20] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

from cav_stack.core.messages import EgoState, Header, V2xVehicleReport
from cav_stack.perception.detections import Coverage, DetectionSet, MeasurementKind
from cav_stack.perception.lidar_processing import LidarDetector
from cav_stack.perception.measurement_models import line_of_sight, surface_centroids
from cav_stack.perception.params import load_perception_params
from cav_stack.world.sensor_rig import load_rig
from cav_stack.perception.tracker import MultiObjectTracker
from cav_stack.perception.v2x_objects import v2x_detection
from cav_stack.sim.sensors.lidar import LidarModel
from cav_stack.sim.sensors.synthetic import SyntheticHighway

SENSORS = Path(__file__).resolve().parents[1] / "sensors"
LIDAR_GOAL_MS = 30.0
TRACKER_GOAL_MS = 3.0
N_OBJECTS = 50
RADAR_CENTRE_OFFSET = 2.0  # [m] the radar detector's stand-in depth behind the seen surface


def timed(fn, repeats: int) -> dict[str, float]:
    """Median / p90 wall and median CPU time [ms] of ``fn()`` over ``repeats`` calls (after one warm-up)."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"median_ms": 1e3 * float(np.median(wall)), "p90_ms": 1e3 * float(np.percentile(wall, 90)),
            "cpu_median_ms": 1e3 * float(np.median(cpu))}


def lidar_figures(repeats: int) -> list[dict]:
    rig = load_rig(SENSORS / "rig_128.yaml")
    params = load_perception_params(SENSORS / "perception.yaml")
    world = SyntheticHighway.random(30, np.random.default_rng(0))
    model = LidarModel(rig.lidars[0])
    cloud = model.measure(world.truth(0.0), world.ego(0.0), 0.0, np.random.default_rng(1))
    ego = EgoState(Header(0.0, "map"), 0.0, 0.0, 0.0, world.ego_speed)
    rows = [{"stage": "lidar_sensor_model", "points": int(cloud.points.shape[0]),
             **timed(lambda: model.measure(world.truth(0.0), world.ego(0.0), 0.0, np.random.default_rng(1)),
                     repeats)}]
    backends = ["numpy"]
    try:
        import torch  # noqa: F401 - only probing whether the gpu extra is installed
        backends.append("torch")
    except ImportError:
        print("torch not installed (gpu extra): torch/numpy ratio skipped")
    for backend in backends:
        lidar = dataclasses.replace(params.lidar, backend=backend)
        detector = LidarDetector(rig.lidars[0], lidar, params.tracker.size_priors)
        rows.append({"stage": f"lidar_pipeline_{backend}", "points": int(cloud.points.shape[0]),
                     "detections": len(detector.detect(cloud, ego)),
                     **timed(lambda d=detector: d.detect(cloud, ego), repeats)})
    base = rows[1]["median_ms"]
    for row in rows[1:]:
        row["ratio_to_numpy"] = row["median_ms"] / base
        row["goal_ms"] = LIDAR_GOAL_MS
    return rows


def tracker_figures(repeats: int) -> list[dict]:
    params = load_perception_params(SENSORS / "perception.yaml")
    rng = np.random.default_rng(2)
    lanes = np.array([-3.5, 0.0, 3.5, 7.0])
    slot = np.arange(N_OBJECTS)  # 4 lanes, 15 m apart along each: no two boxes overlap
    start = np.c_[-95.0 + 15.0 * (slot // lanes.size) + 3.0 * (slot % lanes.size), lanes[slot % lanes.size]]
    coverage = Coverage(0.0, 0.0, 0.0, math.pi, 200.0)

    def lidar_set(t: float) -> DetectionSet:
        xy = start + np.array([25.0 * t, 0.0]) + rng.normal(0, 0.1, start.shape)
        z = np.c_[xy, np.zeros(N_OBJECTS)]
        cov = np.tile(np.diag([0.04, 0.04, 0.01]), (N_OBJECTS, 1, 1))
        return DetectionSet.build(t, "lidar_top", MeasurementKind.POSITION_YAW, z, cov, np.zeros(2),
                                  np.array([25.0, 0.0]), coverage, True, lengths=np.full(N_OBJECTS, 4.5),
                                  widths=np.full(N_OBJECTS, 1.8))

    tracker = MultiObjectTracker(params.tracker, params.v2x)
    for k in range(20):
        tracker.process(lidar_set(0.1 * k))
    confirmed = len(tracker.track_list(1.9).objects)
    clock = {"t": 1.9}

    def step() -> None:
        clock["t"] += 0.1
        tracker.process(lidar_set(clock["t"]))

    row = {"stage": "tracker_update", "objects": N_OBJECTS, "confirmed": confirmed, **timed(step, repeats)}
    row["goal_ms"] = TRACKER_GOAL_MS

    def late_v2x() -> None:  # a report generated 0.25 s ago: re-filters the buffered LiDAR sets
        x, y = start[0] + np.array([25.0 * (clock["t"] - 0.25), 0.0])
        report = V2xVehicleReport(Header(clock["t"] - 0.25, "map"), 7, 0, x, y, 0.0, 25.0, position_sigma=0.3)
        tracker.process(v2x_detection(report, params.v2x))

    late = {"stage": "tracker_late_v2x_refilter", "objects": N_OBJECTS, **timed(late_v2x, repeats)}
    late["ratio_to_update"] = late["median_ms"] / row["median_ms"]

    def radar_step() -> None:  # a radar scan of every object: reflections from the surface it sees
        clock["t"] += 0.05
        sensor = np.array([25.0 * clock["t"], 0.0])
        boxes = np.c_[start + np.array([25.0 * clock["t"], 0.0]), np.zeros((N_OBJECTS, 1)), np.full(N_OBJECTS, 25.0),
                      np.zeros((N_OBJECTS, 2))]
        seen, _ = surface_centroids(boxes, np.tile([4.5, 1.8], (N_OBJECTS, 1)), sensor)
        u = line_of_sight(seen, sensor)
        z = np.c_[seen + RADAR_CENTRE_OFFSET * u + rng.normal(0, 0.2, seen.shape), 25.0 * u[:, 0]]
        cov = np.tile(np.diag([1.0, 0.4, 0.01]), (N_OBJECTS, 1, 1))
        tracker.process(DetectionSet.build(clock["t"], "radar_front", MeasurementKind.POSITION_RADIAL, z, cov, sensor,
                                           np.array([25.0, 0.0]), coverage, False,
                                           surface_offset=np.full(N_OBJECTS, RADAR_CENTRE_OFFSET)))

    radar = {"stage": "tracker_radar_update", "objects": N_OBJECTS, **timed(radar_step, repeats)}
    radar["ratio_to_update"] = radar["median_ms"] / row["median_ms"]
    radar["goal_ms"] = TRACKER_GOAL_MS
    return [row, late, radar]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    rows = lidar_figures(args.repeats) + tracker_figures(args.repeats)
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
