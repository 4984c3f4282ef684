"""TrafficMetrics against hand-computed references on synthetic ground truth."""
from __future__ import annotations

import pytest

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.world.scenario import DetectorSpec
from cav_stack.eval.traffic_metrics import TrafficMetrics

DT = 0.05


def _vehicle(vid: str, edge: str, pos: float, speed: float, *, cav: bool = False, fuel: float = 0.0) -> VehicleTruth:
    return VehicleTruth(vid, pos, 0.0, 0.0, speed, 0.0, 4.5, 1.8, 1.5, edge, 0, pos, is_cav=cav, fuel_rate=fuel)


def _stream(metrics: TrafficMetrics, steps: int, vehicles) -> None:
    """Feed ``steps`` truths; ``vehicles(t)`` gives the vehicles at stamp t."""
    for k in range(1, steps + 1):
        t = k * DT
        metrics(WorldTruth(t, tuple(vehicles(t))), {})


def test_throughput_is_the_inverse_headway_per_lane():
    # Vehicles at 20 m/s, 1.6 s apart, in two lanes (lanes only scale the result): every front
    # bumper passes x = 100 m; reference flow 3600 / 1.6 = 2250 veh/h, 1125 veh/h/lane.
    speed, headway, n = 20.0, 1.6, 12
    metrics = TrafficMetrics(DetectorSpec("e", 100.0), detector_lanes=2)

    def vehicles(t):
        out = []
        for i in range(n):
            pos = speed * (t - i * headway)
            if 0.0 <= pos <= 300.0:
                out.append(_vehicle(f"v{i}", "e", pos, speed))
        return out

    _stream(metrics, round(40.0 / DT), vehicles)
    assert metrics.crossings == pytest.approx([100.0 / speed + i * headway for i in range(n)], abs=1e-9)
    summary = metrics.summary()
    assert summary["detector_count"] == n
    assert summary["throughput_veh_h_lane"] == pytest.approx(3600.0 / headway / 2)


def test_vehicles_already_past_the_detector_or_on_another_edge_are_not_counted():
    metrics = TrafficMetrics(DetectorSpec("e", 100.0))
    _stream(metrics, 100, lambda t: [_vehicle("past", "e", 150.0 + 10 * t, 10.0),
                                     _vehicle("other", "f", 50.0 + 20 * t, 20.0)])
    assert metrics.summary()["detector_count"] == 0
    assert metrics.summary()["throughput_veh_h_lane"] is None


def test_crossing_from_the_upstream_edge_is_counted_at_the_step_it_appears():
    metrics = TrafficMetrics(DetectorSpec("e", 0.0))
    _stream(metrics, 40, lambda t: [_vehicle("v", "up" if t < 1.0 else "e", 20.0 * t, 20.0)])
    assert metrics.crossings == pytest.approx([1.0])


def test_travel_time_counts_cavs_and_late_departures_not_prefill():
    metrics = TrafficMetrics(None)

    def vehicles(t):
        out = []
        if t < 5.0:
            out.append(_vehicle("prefill", "e", 10 * t, 10.0))              # present from the start
        if t < 8.0:
            out.append(_vehicle("cav_0", "e", 10 * t, 10.0, cav=True))      # present from the start
        if 2.0 <= t < 9.0:
            out.append(_vehicle("late", "e", 10 * t, 10.0))                  # departs during the run
        return out

    _stream(metrics, round(12.0 / DT), vehicles)
    trips = {vid: (tt, cav) for vid, tt, cav in metrics.completed_trips}
    assert set(trips) == {"cav_0", "late"}
    assert trips["late"][0] == pytest.approx(7.0)        # first seen at 2.0, gone at 9.0
    assert trips["cav_0"][0] == pytest.approx(8.0 - DT)  # first seen at the first step (0.05)
    summary = metrics.summary()
    assert summary["mean_travel_time_s"] == pytest.approx((7.0 + 8.0 - DT) / 2)
    assert summary["cav_mean_travel_time_s"] == pytest.approx(8.0 - DT)
    assert summary["completed_trips"] == 2 and summary["cav_completed_trips"] == 1


def test_fuel_per_km_and_cav_share():
    # A CAV at 25 m/s burning 1.5 g/s (SUMO's kg/s) and a car at 20 m/s burning 1.0 g/s, for 10 s.
    metrics = TrafficMetrics(None)
    _stream(metrics, round(10.0 / DT), lambda t: [_vehicle("cav", "e", 25 * t, 25.0, cav=True, fuel=1.5e-3),
                                                  _vehicle("car", "e", 20 * t, 20.0, fuel=1.0e-3)])
    summary = metrics.summary()
    seconds = 10.0 - DT                                   # integrated from the second sample on
    assert summary["cav_fuel_g_per_km"] == pytest.approx(1.5 / 25.0 * 1000.0)   # 60 g/km
    assert summary["fleet_fuel_g_per_km"] == pytest.approx((1.5 + 1.0) * seconds / (45.0 * seconds / 1000.0))
    assert summary["fleet_distance_km"] == pytest.approx(45.0 * seconds / 1000.0)
    assert summary["cav_share"] == pytest.approx(0.5)


def test_bad_lane_count_is_rejected():
    with pytest.raises(ValueError, match="detector_lanes"):
        TrafficMetrics(DetectorSpec("e", 1.0), detector_lanes=0)


def test_detector_is_done_once_end_after_vehicles_have_passed():
    # Three cars 20 m apart at 20 m/s pass x = 100 m at 5.0, 6.0 and 7.0 s; end_after=2 is met at
    # the second crossing and not before; without end_after the run is never ended early.
    ending, plain = TrafficMetrics(DetectorSpec("e", 100.0, end_after=2)), TrafficMetrics(DetectorSpec("e", 100.0))

    def vehicles(t):
        return [_vehicle(f"v{i}", "e", 20.0 * t - 20.0 * i, 20.0) for i in range(3)]

    done_at = None
    for k in range(1, round(8.0 / DT) + 1):
        truth = WorldTruth(k * DT, tuple(vehicles(k * DT)))
        ending(truth, {})
        plain(truth, {})
        if done_at is None and ending.detector_done():
            done_at = truth.stamp
    assert done_at == pytest.approx(6.0, abs=DT + 1e-9)
    assert not plain.detector_done()
    assert not TrafficMetrics(None).detector_done()


def test_end_after_needs_two_vehicles():
    with pytest.raises(ValueError, match="end_after"):
        DetectorSpec("e", 1.0, end_after=1)
