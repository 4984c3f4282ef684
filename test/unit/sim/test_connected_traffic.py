"""Connected background traffic: equipment share, BSM rate, GNSS error statistics, determinism."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from cav_stack.core.params import ParamsError
from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.world.scenario import load_scenario
from cav_stack.core.share import share_path
from cav_stack.sim.connected_traffic import ConnectedTraffic, load_connected_traffic_params

TICK = 0.05
PARAMS = load_connected_traffic_params(share_path("v2x", "connected_traffic.yaml"))
CAV = (0.0, 0.0)


def vehicle(vehicle_id: str, x: float, y: float = -5.4, speed: float = 25.0) -> VehicleTruth:
    return VehicleTruth(vehicle_id, x, y, 0.0, speed, 0.0, 4.5, 1.8, 1.5, "e0", 0, x)


def fleet(n: int, t: float, spacing: float = 0.5) -> WorldTruth:
    """n vehicles within 250 m of the CAV at (0, 0), each at its own fixed position."""
    return WorldTruth(t, tuple(vehicle(f"car{i}", -250.0 + spacing * i) for i in range(n)))


def drive(traffic: ConnectedTraffic, n: int, duration: float) -> dict[str, list]:
    """Reports by vehicle over ``duration`` [s] of 20 Hz ticks."""
    out: dict[str, list] = {}
    for k in range(int(round(duration / TICK))):
        truth = fleet(n, k * TICK)
        for vehicle_id, report in traffic.reports(k * TICK, traffic.active(k * TICK, truth, (CAV,))):
            out.setdefault(vehicle_id, []).append(report)
    return out


def test_equipped_share_matches_the_penetration():
    n = 1000
    traffic = ConnectedTraffic(PARAMS, 0.3, seed=5, technology="dsrc")
    equipped = len(traffic.active(0.0, fleet(n, 0.0), (CAV,)))
    assert abs(equipped - 0.3 * n) <= 4.0 * math.sqrt(n * 0.3 * 0.7)   # binomial, 4 sigma
    assert not ConnectedTraffic(PARAMS, 0.0, seed=5, technology="dsrc").active(0.0, fleet(n, 0.0), (CAV,))
    everyone = ConnectedTraffic(PARAMS, 1.0, seed=5, technology="dsrc", excluded=frozenset({"car3"}))
    equipped_ids = {v.vehicle_id for v in everyone.active(0.0, fleet(10, 0.0), (CAV,))}
    assert equipped_ids == {f"car{i}" for i in range(10)} - {"car3"}


def test_each_equipped_vehicle_sends_at_the_bsm_rate_with_counting_ids():
    reports = drive(ConnectedTraffic(PARAMS, 1.0, seed=2, technology="dsrc"), 40, 10.0)
    assert len(reports) == 40
    for sent in reports.values():
        stamps = np.array([r.header.stamp for r in sent])
        assert len(sent) in (99, 100)                                     # 10 Hz over 10 s
        np.testing.assert_allclose(np.diff(stamps), PARAMS.bsm_period, atol=1e-9)
        assert len({r.station_id for r in sent}) == 1
        assert [r.msg_count for r in sent[1:]] == [(r.msg_count + 1) % 128 for r in sent[:-1]]
    phases = {round(sent[0].header.stamp % PARAMS.bsm_period, 3) for sent in reports.values()}
    assert len(phases) == 2                                               # senders spread over both 20 Hz ticks


def test_position_error_has_the_configured_bias_and_white_noise():
    n = 600
    reports = drive(ConnectedTraffic(PARAMS, 1.0, seed=11, technology="dsrc"), n, 0.3)
    truth_x = {f"car{i}": -250.0 + 0.5 * i for i in range(n)}
    first = np.array([(r[0].x - truth_x[v], r[0].y + 5.4) for v, r in reports.items()])
    second = np.array([(r[1].x - truth_x[v], r[1].y + 5.4) for v, r in reports.items()])
    total = math.hypot(PARAMS.bias_sigma, PARAMS.noise_sigma)
    # per-axis total error ~ N(0, 1.5^2): the sample std of 1200 draws is within 6 % (4 sigma)
    assert np.std(first) == pytest.approx(total, rel=0.06)
    assert abs(np.mean(first)) < 4.0 * total / math.sqrt(first.size)
    # 0.1 s apart the bias barely moves: the difference is white noise only, std sqrt(2) * 0.9 m
    assert np.std(second - first) / math.sqrt(2.0) == pytest.approx(PARAMS.noise_sigma, rel=0.07)
    assert all(r.position_sigma == pytest.approx(total) for sent in reports.values() for r in sent)


def test_bias_decorrelates_over_its_time_constant():
    n = 400
    traffic = ConnectedTraffic(PARAMS, 1.0, seed=3, technology="dsrc")
    lag = PARAMS.bias_time_constant
    early, late = {}, {}
    truth = fleet(n, 0.0)
    for t in (0.0, 0.05, lag, lag + 0.05):
        for vehicle_id, report in traffic.reports(t, traffic.active(t, dataclasses.replace(truth, stamp=t), (CAV,))):
            (early if t < 1.0 else late)[vehicle_id] = report.y + 5.4
    y0 = np.array([early[v] for v in sorted(early)])
    y1 = np.array([late[v] for v in sorted(early)])
    expected = math.exp(-1.0) * PARAMS.bias_sigma ** 2 / (PARAMS.bias_sigma ** 2 + PARAMS.noise_sigma ** 2)
    assert np.corrcoef(y0, y1)[0, 1] == pytest.approx(expected, abs=4.0 / math.sqrt(n))


def test_runs_are_reproducible_and_a_vehicle_does_not_depend_on_the_others():
    a = drive(ConnectedTraffic(PARAMS, 0.5, seed=9, technology="dsrc"), 30, 2.0)
    b = drive(ConnectedTraffic(PARAMS, 0.5, seed=9, technology="dsrc"), 30, 2.0)
    fewer = drive(ConnectedTraffic(PARAMS, 0.5, seed=9, technology="dsrc"), 10, 2.0)
    other_seed = drive(ConnectedTraffic(PARAMS, 0.5, seed=10, technology="dsrc"), 30, 2.0)
    assert a == b
    assert fewer == {v: r for v, r in a.items() if v in fewer} and set(fewer) == {v for v in a if int(v[3:]) < 10}
    assert other_seed != a


def test_vehicles_far_from_every_cav_stay_silent():
    for technology, radius in PARAMS.active_radius.items():
        traffic = ConnectedTraffic(PARAMS, 1.0, seed=1, technology=technology)
        truth = WorldTruth(0.0, (vehicle("near", radius - 1.0), vehicle("far", radius + 1.0)))
        assert [v.vehicle_id for v in traffic.active(0.0, truth, (CAV,))] == ["near"]
        assert [v.vehicle_id for v in traffic.active(0.0, truth, (CAV, (2.0 * radius, 0.0)))] == ["near", "far"]
    with pytest.raises(ValueError, match="radio technology 'lte'"):
        ConnectedTraffic(PARAMS, 1.0, seed=1, technology="lte")


def test_bad_shares_are_refused(tmp_path):
    with pytest.raises(ValueError, match="penetration"):
        ConnectedTraffic(PARAMS, 1.2, seed=1, technology="dsrc")
    with pytest.raises(ValueError, match="penetration"):
        dataclasses.replace(PARAMS, penetration=-0.1)
    source = share_path("scenarios", "highway_cut_in.yaml").read_text()
    bad = tmp_path / "highway_cut_in.yaml"
    bad.write_text(source.replace("seed: 7\n", "seed: 7\nconnected_traffic: 1.5\n"))
    with pytest.raises(ParamsError, match="connected_traffic"):
        load_scenario(bad)
    ok = tmp_path / "ok" / "highway_cut_in.yaml"
    ok.parent.mkdir()
    ok.write_text(source.replace("seed: 7\n", "seed: 7\nconnected_traffic: 0.25\n"))
    assert load_scenario(ok).connected_traffic == 0.25
