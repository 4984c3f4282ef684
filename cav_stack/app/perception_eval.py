"""Open-loop perception evaluation: sensor models -> perception -> tracks vs ground truth.

The world runs on its own (SUMO's IDM drives the CAV, keeping its lane except where the route
needs a change, or the scripted
:class:`~cav_stack.sim.sensors.synthetic.SyntheticHighway` for ``scenario_name =
"synthetic_highway"``); every world step the rig's sensors fire at their rates, their messages
are delivered after their latencies and fused with the true ego pose at their stamps (this
isolates perception from localisation). V2X-equipped vehicles send self-reports at
``v2x_rate`` with a delivery delay drawn uniformly from ``v2x_delay``. Tracks are scored at
10 Hz against vehicles within ``max_distance`` (:class:`~cav_stack.perception.metrics.TrackingMetrics`).
A single-sensor set lets its sensor start tracks even where the parameters reserve that to others.
"""
from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import tempfile
import time as wallclock
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

import numpy as np

from cav_stack.core.messages import EgoState, Header, V2xVehicleReport
from cav_stack.core.share import share_path
from cav_stack.core.truth import WorldTruth
from cav_stack.perception.metrics import TrackingMetrics
from cav_stack.perception.params import load_perception_params
from cav_stack.perception.pipeline import PerceptionPipeline
from cav_stack.world.sensor_rig import CameraParams, LidarParams, RadarParams, SensorRig, load_rig
from cav_stack.sim.sensors.ego import EgoMotion, other_vehicles, sensor_pose
from cav_stack.sim.sensors.raycast import Boxes
from cav_stack.sim.sensors.suite import build_sensor_models
from cav_stack.sim.sensors.synthetic import SyntheticHighway
from cav_stack.sim.sensors.visibility import probe_visibility

DEFAULT_RIG = share_path("sensors", "rig_128.yaml")
DEFAULT_PERCEPTION_PARAMS = share_path("sensors", "perception.yaml")
SYNTHETIC_SCENARIO = "synthetic_highway"

#: Named sensor sets: which onboard sensor kinds feed the tracker, and whether V2X does.
SENSOR_SETS: dict[str, tuple[frozenset[str], bool]] = {
    "lidar": (frozenset({"lidar"}), False),
    "radar": (frozenset({"radar"}), False),
    "camera": (frozenset({"camera"}), False),
    "fused": (frozenset({"lidar", "radar", "camera"}), False),
    "fused_v2x": (frozenset({"lidar", "radar", "camera"}), True),
}


@dataclass(frozen=True)
class V2xSetup:
    """Self-reports of V2X-equipped vehicles: share of vehicles equipped [0..1], rate [Hz],
    delivery delay range (min, max) [s], position_sigma [m] (1-sigma noise and reported
    accuracy), range [m] from the ego beyond which nothing is received."""

    share: float = 1.0
    rate: float = 10.0
    delay: tuple[float, float] = (0.1, 0.3)
    position_sigma: float = 0.3
    range: float = 300.0


def _ego_state(ego: EgoMotion, stamp: float) -> EgoState:
    return EgoState(Header(stamp, "map"), ego.x, ego.y, ego.yaw, ego.speed, ego.accel, ego.yaw_rate)


def _synthetic_frames(seed: int, duration_s: float, step: float) -> Iterator[tuple[WorldTruth, EgoMotion]]:
    world = SyntheticHighway.random(40, np.random.default_rng(seed), cut_in=True)
    for k in range(int(round(duration_s / step)) + 1):
        t = k * step
        yield world.truth(t), world.ego(t)


def _sumo_frames(scenario_name: str, seed: int, duration_s: float,
                 cache_dir: Path) -> Iterator[tuple[WorldTruth, EgoMotion]]:
    from cav_stack.control.vehicle_models import load_vehicle_params
    from cav_stack.world.scenario import load_scenario
    from cav_stack.sim.sumo import SumoCavDriver, SumoWorld

    scenario = load_scenario(scenario_name)
    ego = scenario.cavs[0]
    ego_id = ego.id
    offset = load_vehicle_params(share_path("controllers", "vehicle.yaml")).rear_axle_to_centre
    # SUMO's IDM drives the ego with its vehicle type's time gap: it brakes for a cut-in and
    # follows its leader (an ego held at its speed would drive through slower traffic). SUMO's
    # lane-change model also keeps it from passing on the right: in highway_cut_in it slows with
    # the cut-in car approaching in the left lane (to ~17 m/s) before the cut-in.
    driver = SumoCavDriver("IDM", scenario.vehicle_type(ego.type).tau)
    with SumoWorld(scenario, seed, cache_dir=cache_dir, cav_driver=driver) as world:
        truth = world.start()
        previous_yaw = None
        while truth.stamp <= duration_s + 1e-9:
            me = truth.vehicle(ego_id)
            if me is not None:
                yaw_rate = 0.0 if previous_yaw is None else \
                    math.remainder(me.yaw - previous_yaw, 2.0 * math.pi) / world.step_length
                previous_yaw = me.yaw
                yield truth, EgoMotion(ego_id, me.x - offset * math.cos(me.yaw), me.y - offset * math.sin(me.yaw),
                                       me.yaw, me.speed, me.accel, yaw_rate)
            truth = world.step()


def _occluded_ids(truth: WorldTruth, ego: EgoMotion, rig: SensorRig, max_distance: float) -> set[str]:
    """Vehicles within max_distance that no probe ray from any onboard sensor reaches."""
    vehicles = [v for v in other_vehicles(truth, ego) if math.hypot(v.x - ego.x, v.y - ego.y) <= max_distance]
    if not vehicles:
        return set()
    boxes = Boxes.from_vehicles(vehicles)
    seen = np.zeros(len(vehicles))
    sensors: tuple[LidarParams | RadarParams | CameraParams, ...] = (*rig.lidars, *rig.radars, *rig.cameras)
    for sensor in sensors:
        seen = np.maximum(seen, probe_visibility(sensor_pose(ego, sensor.mounting).origin, boxes).fraction)
    return {v.vehicle_id for v, f in zip(vehicles, seen, strict=True) if f == 0.0}


def run_open_loop(frames: Iterator[tuple[WorldTruth, EgoMotion]], rig: SensorRig, pipeline: PerceptionPipeline,
                  sensor_kinds: frozenset[str], v2x: V2xSetup | None, rng: np.random.Generator,
                  max_distance: float = 100.0, match_threshold: float = 2.0,
                  eval_period: float = 0.1) -> dict:
    """Drive ``pipeline`` from the sensor models on ``frames``; return the tracking metrics plus
    ``mean_lidar_detect_ms`` (wall time of the LiDAR detector, this machine)."""
    models = list(build_sensor_models(rig, tuple(sorted(sensor_kinds))).values())
    next_fire: list[float | None] = [None] * len(models)
    v2x_next: dict[str, float] = {}
    v2x_counts: dict[str, int] = {}
    stations: dict[str, int] = {}
    inbox: list = []  # heap of (delivery time, sequence, kind, payload)
    sequence = itertools.count()
    metrics = TrackingMetrics(max_distance, match_threshold)
    next_eval = None
    lidar_times: list[float] = []
    for truth, ego in frames:
        now = truth.stamp
        pipeline.on_ego_state(_ego_state(ego, now))
        for i, model in enumerate(models):
            fire = next_fire[i]
            if fire is None:
                fire = next_fire[i] = now + float(rng.uniform(0.0, 1.0 / model.rate))
            if now + 1e-9 >= fire:
                next_fire[i] = fire + 1.0 / model.rate
                message = model.measure(truth, ego, now, rng)
                heapq.heappush(inbox, (now + model.latency, next(sequence), "sensor", message))
        if v2x is not None:
            for vehicle in other_vehicles(truth, ego):
                vid = vehicle.vehicle_id
                if vid not in stations:
                    stations[vid] = len(stations) + 1 if rng.random() < v2x.share else -1
                    v2x_next[vid] = now + float(rng.uniform(0.0, 1.0 / v2x.rate))
                if stations[vid] < 0 or now + 1e-9 < v2x_next[vid]:
                    continue
                v2x_next[vid] += 1.0 / v2x.rate
                if math.hypot(vehicle.x - ego.x, vehicle.y - ego.y) > v2x.range:
                    continue
                count = v2x_counts.get(vid, 0)
                v2x_counts[vid] = (count + 1) % 128
                noise = rng.normal(0.0, v2x.position_sigma, 2)
                report = V2xVehicleReport(Header(now, "map"), stations[vid], count, vehicle.x + noise[0],
                                          vehicle.y + noise[1], vehicle.yaw, vehicle.speed, vehicle.accel, 0.0,
                                          vehicle.length, vehicle.width, v2x.position_sigma)
                delay = float(rng.uniform(*v2x.delay))
                heapq.heappush(inbox, (now + delay, next(sequence), "v2x", report))
        while inbox and inbox[0][0] <= now + 1e-9:
            _, _, kind, payload = heapq.heappop(inbox)
            if kind == "v2x":
                pipeline.on_v2x_report(payload)
                continue
            started = wallclock.perf_counter()
            pipeline.on_message(payload)
            if payload.header.frame_id in {p.frame_id for p in rig.lidars}:
                lidar_times.append(wallclock.perf_counter() - started)
        if next_eval is None:
            next_eval = now + 1.0  # let the tracker start up before scoring
        if now + 1e-9 >= next_eval:
            next_eval += eval_period
            occluded = _occluded_ids(truth, ego, rig, max_distance) if v2x is not None else set()
            metrics.add_frame(ego.x, ego.y, other_vehicles(truth, ego), pipeline.track_list(now), occluded)
    summary = metrics.summary()
    summary["mean_lidar_detect_ms"] = 1e3 * float(np.mean(lidar_times)) if lidar_times else math.nan
    summary["dropped_late"] = pipeline.tracker.dropped_late
    return summary


def evaluate_perception(scenario_name: str, seed: int, duration_s: float, sensor_set: str, *,
                        rig_path: str | Path = DEFAULT_RIG, params_path: str | Path = DEFAULT_PERCEPTION_PARAMS,
                        v2x: V2xSetup = V2xSetup(), cache_dir: str | Path | None = None,
                        max_distance: float = 100.0) -> dict:
    """Run one open-loop perception evaluation; returns the metrics summary with the set-up.

    scenario_name: a scenario of ``scenarios/`` (run in SUMO; ``cache_dir`` for its files, a
    temporary directory when None) or ``"synthetic_highway"``; sensor_set: a key of
    :data:`SENSOR_SETS`. Raises ValueError for an unknown sensor set or a non-positive duration.
    """
    if sensor_set not in SENSOR_SETS:
        raise ValueError(f"unknown sensor set {sensor_set!r} (known: {', '.join(SENSOR_SETS)})")
    if not duration_s > 0.0:
        raise ValueError(f"duration_s must be > 0, got {duration_s}")
    kinds, with_v2x = SENSOR_SETS[sensor_set]
    rig = load_rig(rig_path)
    params = load_perception_params(params_path)
    if len(kinds) == 1 and not with_v2x:  # a lone sensor must be allowed to start tracks
        (kind,) = kinds
        params = dataclasses.replace(params, **{kind: dataclasses.replace(getattr(params, kind),
                                                                          initiates_tracks=True)})
    pipeline = PerceptionPipeline(rig, params)
    rng = np.random.default_rng(seed)
    setup = v2x if with_v2x else None
    if scenario_name == SYNTHETIC_SCENARIO:
        result = run_open_loop(_synthetic_frames(seed, duration_s, 0.05), rig, pipeline, kinds, setup, rng,
                               max_distance)
    else:
        with tempfile.TemporaryDirectory(prefix="perception_eval_") as tmp:
            frames = _sumo_frames(scenario_name, seed, duration_s, Path(cache_dir) if cache_dir else Path(tmp))
            result = run_open_loop(frames, rig, pipeline, kinds, setup, rng, max_distance)
    result.update(scenario=scenario_name, seed=seed, duration_s=duration_s, sensor_set=sensor_set,
                  rig=str(rig_path))
    return result
