"""Multi-object tracker: convergence, M-of-N management, out-of-order re-filtering, V2X fusion, pedestrians."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from cav_stack.core.messages import Header, ObjectClass, V2xVehicleReport
from cav_stack.perception.detections import Coverage, DetectionSet, MeasurementKind
from cav_stack.perception.measurement_models import line_of_sight, predict_measurements, surface_centroids
from cav_stack.perception.motion_model import predict_states
from cav_stack.perception.tracker import MultiObjectTracker
from cav_stack.perception.v2x_objects import v2x_detection
from cav_stack.sim.sensors.raycast import Boxes, azimuth_interval, cast_rays
from cav_stack.sim.sensors.synthetic import vehicle_box

EVERYWHERE = Coverage(0.0, 0.0, 0.0, math.pi, 1.0e4)


def positions(stamp, xy, sigma, coverage=EVERYWHERE, initiates=True):
    xy = np.asarray(xy, float).reshape(-1, 2)
    cov = np.tile(sigma ** 2 * np.eye(2), (xy.shape[0], 1, 1))
    return DetectionSet.build(stamp, "pos", MeasurementKind.POSITION, xy, cov, np.zeros(2), np.array([20.0, 0.0]),
                              coverage, initiates)


def report(t, x, y, speed, station=42, sigma=0.3, yaw=0.0):
    return V2xVehicleReport(Header(t, "map"), station, 0, x, y, yaw, speed, position_sigma=sigma)


def test_ctra_jacobian_matches_finite_differences():
    rng = np.random.default_rng(0)
    states = np.c_[rng.normal(0, 10, (5, 2)), rng.uniform(-3, 3, 5), rng.uniform(0, 30, 5),
                   rng.normal(0, 0.3, 5), rng.normal(0, 1, 5)]
    _, jac = predict_states(states, 0.1)
    eps = 1e-6
    for k in range(6):
        d = np.zeros(6)
        d[k] = eps
        numeric = (predict_states(states + d, 0.1)[0] - predict_states(states - d, 0.1)[0]) / (2 * eps)
        np.testing.assert_allclose(jac[:, :, k], numeric, atol=1e-6)


def test_radial_measurement_jacobian_matches_finite_differences():
    rng = np.random.default_rng(1)
    states = np.c_[rng.uniform(10, 50, (4, 2)), rng.uniform(-3, 3, 4), rng.uniform(5, 30, 4), np.zeros((4, 2))]
    los = line_of_sight(rng.uniform(10, 50, (4, 2)), np.array([1.0, -2.0]))
    _, jac = predict_measurements(MeasurementKind.POSITION_RADIAL, states, los)
    eps = 1e-6
    for k in range(6):
        d = np.zeros(6)
        d[k] = eps
        up = predict_measurements(MeasurementKind.POSITION_RADIAL, states + d, los)[0]
        down = predict_measurements(MeasurementKind.POSITION_RADIAL, states - d, los)[0]
        np.testing.assert_allclose(jac[:, :, k], (up - down) / (2 * eps), atol=1e-6)


def test_constant_velocity_target_is_confirmed_after_m_hits_and_converges(perception_params):
    p = perception_params.tracker
    tracker = MultiObjectTracker(p, perception_params.v2x)
    rng = np.random.default_rng(2)
    for k in range(60):
        t = 0.1 * k
        tracker.process(positions(t, [20.0 + 18.0 * t, 3.5] + rng.normal(0, 0.3, 2), 0.3))
        confirmed = tracker.track_list(t).objects
        assert len(confirmed) == (1 if k + 1 >= p.confirm_hits else 0)
    (obj,) = tracker.track_list(5.9).objects
    assert obj.speed == pytest.approx(18.0, abs=0.3)
    assert math.hypot(obj.x - (20.0 + 18.0 * 5.9), obj.y - 3.5) < 0.3
    assert abs(obj.yaw) < 0.05
    cov = np.array(obj.covariance).reshape(4, 4)
    assert np.all(np.linalg.eigvalsh(cov) > 0)


def test_clutter_never_confirms_and_coasting_tracks_are_deleted(perception_params):
    p = perception_params.tracker
    tracker = MultiObjectTracker(p, perception_params.v2x)
    rng = np.random.default_rng(3)
    for k in range(50):
        tracker.process(positions(0.1 * k, rng.uniform(-100, 100, (3, 2)), 0.3))
        assert tracker.track_list(0.1 * k).objects == ()
    for k in range(10):
        tracker.process(positions(5.0 + 0.1 * k, [50.0, 0.0], 0.3))
    assert len(tracker.track_list(5.9).objects) == 1
    # no more detections: still reported while coasting, gone after max_coast
    tracker.process(positions(5.9 + 0.5 * p.max_coast, np.zeros((0, 2)), 0.3))
    assert len(tracker.track_list(5.9 + 0.5 * p.max_coast).objects) == 1
    tracker.process(positions(5.9 + p.max_coast + 0.05, np.zeros((0, 2)), 0.3))
    assert tracker.track_list(6.0 + p.max_coast).objects == ()


def _two_target_sets(rng):
    sets = []
    for k in range(40):
        t = 0.05 * k
        xy = [[10.0 + 20.0 * t, 0.0], [30.0 + 15.0 * t, 3.5]]
        sets.append(positions(t, np.array(xy) + rng.normal(0, 0.2, (2, 2)), 0.2))
    return sets


def test_out_of_order_sets_give_exactly_the_in_order_result(perception_params):
    sets = _two_target_sets(np.random.default_rng(4))
    in_order = MultiObjectTracker(perception_params.tracker, perception_params.v2x)
    for ds in sets:
        in_order.process(ds)
    shuffled = MultiObjectTracker(perception_params.tracker, perception_params.v2x)
    arrival = sorted(sets, key=lambda ds: ds.stamp + (0.2 if round(ds.stamp / 0.05) % 3 == 0 else 0.0))
    assert [ds.stamp for ds in arrival] != [ds.stamp for ds in sets]
    for ds in arrival:
        shuffled.process(ds)
    a, b = in_order.track_list(2.0).objects, shuffled.track_list(2.0).objects
    assert len(a) == len(b) == 2 and shuffled.dropped_late == 0
    for x, y in zip(a, b, strict=True):
        assert x.track_id == y.track_id
        np.testing.assert_allclose([x.x, x.y, x.yaw, x.speed, *x.covariance], [y.x, y.y, y.yaw, y.speed, *y.covariance],
                                   atol=1e-9)


def test_set_older_than_the_history_is_dropped(perception_params):
    tracker = MultiObjectTracker(perception_params.tracker, perception_params.v2x)
    for k in range(30):
        tracker.process(positions(0.1 * k, [10.0 + 2.0 * k, 0.0], 0.3))
    tracker.process(positions(2.9 - perception_params.tracker.history_duration - 0.2, [10.0, 0.0], 0.3))
    assert tracker.dropped_late == 1


@pytest.mark.parametrize("delay", [0.1, 0.2, 0.3])
def test_delayed_v2x_report_improves_and_never_degrades_the_track(perception_params, delay):
    """A V2X report processed `delay` s after its generation time, with onboard data in between."""
    errors = {"without": [], "with": [], "naive": []}
    for seed in range(12):
        rng = np.random.default_rng(seed)
        truth = lambda t: np.array([20.0 + 25.0 * t, 3.5])  # noqa: E731 - target at 25 m/s
        onboard = [(0.1 * k, truth(0.1 * k) + rng.normal(0, 1.0, 2)) for k in range(31)]
        v2x_times = [1.5, 2.0, 2.5]
        v2x = {t: truth(t) + rng.normal(0, 0.3, 2) for t in v2x_times}
        base_traces: list[float] = []
        for mode in errors:
            tracker = MultiObjectTracker(perception_params.tracker, perception_params.v2x)
            pending = [] if mode == "without" else [(t + delay, t) for t in v2x_times]
            traces = []
            for t, z in onboard:
                for arrival, stamp in [p for p in pending if p[0] <= t]:
                    pending.remove((arrival, stamp))
                    used = stamp if mode == "with" else arrival  # naive: treat it as current
                    tracker.process(v2x_detection(report(used, *v2x[stamp], 25.0), perception_params.v2x))
                tracker.process(positions(t, z, 1.0))
                obj = tracker.track_list(t).objects
                traces.append(obj[0].covariance[0] + obj[0].covariance[5] if obj else math.inf)
            objects = tracker.track_list(3.0).objects
            # naive fusion can even split the target into two tracks: score the nearer one
            errors[mode].append(min(math.hypot(o.x - truth(3.0)[0], o.y - truth(3.0)[1]) for o in objects))
            if mode != "naive":
                (obj,) = objects
            if mode == "with":
                assert obj.v2x_id == 42
                assert np.all(np.array(traces) <= np.array(base_traces) + 1e-9)  # never less certain
            elif mode == "without":
                base_traces = traces
    assert np.mean(errors["with"]) < 0.8 * np.mean(errors["without"])
    assert np.mean(errors["with"]) < np.mean(errors["naive"])


def test_v2x_station_binds_to_its_track_and_stays_there(perception_params):
    tracker = MultiObjectTracker(perception_params.tracker, perception_params.v2x)
    rng = np.random.default_rng(5)
    for k in range(30):
        t = 0.1 * k
        a, b = np.array([30.0 + 20.0 * t, 0.0]), np.array([32.0 + 20.0 * t, 3.5])
        tracker.process(positions(t, np.vstack([a, b]) + rng.normal(0, 0.2, (2, 2)), 0.2))
        if k % 2 == 0:
            tracker.process(v2x_detection(report(t, *(a + rng.normal(0, 0.3, 2)), 20.0, station=7),
                                          perception_params.v2x))
            tracker.process(v2x_detection(report(t, *(b + rng.normal(0, 0.3, 2)), 20.0, station=9),
                                          perception_params.v2x))
    objects = sorted(tracker.track_list(2.9).objects, key=lambda o: o.y)
    assert [o.v2x_id for o in objects] == [7, 9]
    assert [abs(o.y - lane) < 0.3 for o, lane in zip(objects, (0.0, 3.5), strict=True)] == [True, True]


def test_vehicle_seen_only_over_v2x_is_tracked(perception_params):
    p = dataclasses.replace(perception_params.v2x, initiates_tracks=True)
    tracker = MultiObjectTracker(perception_params.tracker, p)
    for k in range(5):
        tracker.process(v2x_detection(report(0.1 * k, 50.0 + 2.0 * k, 7.0, 20.0, station=3), p))
        tracker.process(positions(0.1 * k + 0.05, np.zeros((0, 2)), 0.3))  # onboard sees nothing
    (obj,) = tracker.track_list(0.5).objects
    assert obj.v2x_id == 3 and obj.x == pytest.approx(60.0, abs=0.5) and obj.speed == pytest.approx(20.0, abs=0.5)


def test_inconsistent_detection_sets_are_rejected():
    with pytest.raises(ValueError, match="do not fit POSITION"):
        DetectionSet.build(0.0, "x", MeasurementKind.POSITION, np.zeros((2, 2)), np.zeros((3, 2, 2)), np.zeros(2),
                           np.zeros(2), None, True)
    with pytest.raises(ValueError, match="non-finite"):
        positions(0.0, [[np.nan, 1.0]], 0.3)
    with pytest.raises(ValueError, match="position_sigma"):
        v2x_detection(report(0.0, 1.0, 2.0, 3.0, sigma=0.0), None)


def test_surface_centroid_matches_dense_ray_casting():
    # reference: the sensor models' ray caster, 4000 rays spread over each box's azimuth interval
    sensor = np.array([3.7, 0.0, 0.5])
    for x, y, yaw in [(50.0, 0.0, 0.0), (10.0, 3.5, 0.0), (6.0, 3.5, 0.1), (4.0, -3.5, 0.0), (30.0, 7.0, -0.2),
                      (-20.0, 3.5, 0.0), (8.0, 0.0, 1.2)]:
        boxes = Boxes.from_vehicles([vehicle_box("a", x, y, yaw)])
        start, width = azimuth_interval(sensor, boxes, 0)
        azimuth = start + width * (np.arange(4000) + 0.5) / 4000
        dirs = np.stack([np.cos(azimuth), np.sin(azimuth), np.zeros_like(azimuth)], axis=1)
        dist, owner = cast_rays(sensor, dirs, boxes, ground=False)
        reference = (sensor[None, :2] + dist[owner == 0, None] * dirs[owner == 0, :2]).mean(axis=0)
        got = surface_centroids(np.array([[x, y, yaw, 0.0, 0.0, 0.0]]), np.array([[4.5, 1.8]]), sensor[:2])[0][0]
        assert np.hypot(*(got - reference)) < 0.06, (x, y, yaw)
    box = np.array([[4.5, 1.8]])
    inside, no_spread = surface_centroids(np.array([[3.0, 0.0, 0.0, 0.0, 0.0, 0.0]]), box, sensor[:2])
    np.testing.assert_allclose(inside, [[3.0, 0.0]])
    np.testing.assert_allclose(no_spread, np.zeros((1, 2, 2)))
    # straight ahead only the rear face is seen: its points spread across the line of sight only
    _, spread = surface_centroids(np.array([[50.0, 0.0, 0.0, 0.0, 0.0, 0.0]]), box, sensor[:2])
    assert spread[0, 0, 0] == pytest.approx(0.0, abs=1e-9) and 0.2 < spread[0, 1, 1] < 1.8 ** 2 / 12.0


def test_radar_reflections_from_the_side_of_a_near_car_keep_its_track_on_it(perception_params):
    # A car overtaking on the left, 6-10 m ahead of a front radar: the radar sees its right side, whose
    # reflections lie beside the centre (not behind it along the line of sight) and whose bearing is
    # tens of degrees off the centre's, so the radial speed differs from v . unit(centre - sensor).
    p = perception_params
    tracker = MultiObjectTracker(p.tracker, p.v2x)
    rng = np.random.default_rng(4)
    radar_xy, speed, ego_speed = np.array([0.0, 0.0]), 29.0, 27.0
    radar_v = np.array([ego_speed, 0.0])
    coverage = Coverage(0.0, 0.0, 0.0, math.radians(30.0), 200.0)
    for k in range(40):
        t = 0.05 * k
        centre = np.array([6.0 + (speed - ego_speed) * t + ego_speed * t, 3.5])
        sensor = radar_xy + radar_v * t
        if k % 2 == 0:  # "LiDAR": accurate centres at 10 Hz
            tracker.process(positions(t, centre + rng.normal(0.0, 0.05, 2), 0.12))
            continue
        side = np.c_[centre[0] + rng.uniform(-2.25, 2.25, 2), np.full(2, centre[1] - 0.9)]  # right side
        mean_point = side.mean(axis=0)
        u = (mean_point - sensor) / np.hypot(*(mean_point - sensor))
        los = (side - sensor) / np.hypot(*(side - sensor).T)[:, None]
        radial = float(np.mean(los @ np.array([speed, 0.0])))
        offset = p.radar.centre_offset
        cov = np.diag([1.0, 0.6 ** 2, 0.1 ** 2])
        tracker.process(DetectionSet.build(
            t, "radar", MeasurementKind.POSITION_RADIAL, np.array([[*(mean_point + offset * u), radial]]), cov[None],
            sensor, radar_v, dataclasses.replace(coverage, x=float(sensor[0])), False,
            surface_offset=np.array([offset])))
    (obj,) = tracker.track_list(t).objects
    assert math.hypot(obj.x - centre[0], obj.y - centre[1]) < 0.1  # 0.24 m with a centre offset along the LOS
    assert obj.speed == pytest.approx(speed, abs=0.2)  # 29.6 m/s with the radial speed towards the centre


def test_pedestrian_crossing_ahead_of_a_moving_ego_is_tracked_across_the_road(perception_params):
    """A pedestrian 60 m ahead walks across (+y, 1.5 m/s) while the ego drives at 13.9 m/s (+x): a
    LiDAR-like box (unknown class, heading axis along the ego, as a walker's cluster gives it) starts
    the track with the vehicle prior (the ego's heading and speed); camera-like positions classify it.
    The track must end up walking across, with a walker's box (before the VRU stage: heading ~0 and
    speed ~0, the track trailing the walker)."""
    tracker = MultiObjectTracker(perception_params.tracker, perception_params.v2x)
    rng = np.random.default_rng(7)
    ego_velocity = np.array([13.9, 0.0])
    late = []
    for k in range(50):
        t = 0.1 * k
        walker = np.array([60.0, -6.0 + 1.5 * t])
        ego = ego_velocity * t
        box = np.r_[walker + rng.normal(0, 0.15, 2), rng.normal(0, 0.05)]
        tracker.process(DetectionSet.build(t, "lidar", MeasurementKind.POSITION_YAW, box[None],
                                           np.diag([0.15 ** 2, 0.15 ** 2, 0.3 ** 2])[None], ego, ego_velocity,
                                           EVERYWHERE, True, lengths=np.array([0.5]), widths=np.array([0.4])))
        camera = walker + rng.normal(0, [1.0, 0.2])
        tracker.process(DetectionSet.build(t + 0.05, "camera", MeasurementKind.POSITION, camera[None],
                                           np.diag([1.0, 0.2 ** 2])[None], ego, ego_velocity, EVERYWHERE, False,
                                           classes=(ObjectClass.PEDESTRIAN,)))
        if t >= 2.0:
            (obj,) = tracker.track_list(t + 0.05).objects
            late.append((obj, walker + [0.0, 0.075]))
    assert all(obj.object_class is ObjectClass.PEDESTRIAN for obj, _ in late)
    assert all(obj.length <= 0.6 and obj.width <= 0.6 for obj, _ in late)
    assert max(abs(obj.yaw - math.pi / 2) for obj, _ in late) < 0.35      # walking across, from 2 s on
    assert np.mean([obj.speed for obj, _ in late]) == pytest.approx(1.5, abs=0.15)
    assert max(math.hypot(obj.x - w[0], obj.y - w[1]) for obj, w in late) < 0.5
