"""Lane-change reference profile and leader prediction."""
from __future__ import annotations

import numpy as np
import pytest

from cav_stack.control.lane_change import LateralReference, lane_change_duration
from cav_stack.control.leader_prediction import (
    LeaderAccelEstimate,
    LeaderPrediction,
    planned_speeds_from_trajectory,
    predict_leader_motion,
)
from cav_stack.core.messages import Header, Trajectory, TrajectoryPoint


def test_lane_change_profile_peaks_stay_within_the_comfort_figures(comfort_normal):
    ref = LateralReference()
    m = ref.update(10.0, 3.5, 0.0, comfort_normal)
    assert m.duration == pytest.approx(lane_change_duration(3.5, comfort_normal))
    t = np.linspace(9.0, 10.0 + m.duration + 1.0, 20001)
    y = m.offset(t)
    dt = t[1] - t[0]
    accel = np.gradient(np.gradient(y, dt), dt)
    jerk = np.gradient(accel, dt)
    assert y[0] == 0.0 and y[-1] == pytest.approx(3.5)
    assert np.abs(accel).max() <= comfort_normal.lane_change_lateral_accel * 1.001
    assert np.abs(jerk).max() <= comfort_normal.lane_change_lateral_jerk * 1.01
    np.testing.assert_allclose(m.rate(t)[1:-1], np.gradient(y, dt)[1:-1], atol=1e-4)
    # Switching the path to the target lane and the offset back to 0 does not move again.
    m2 = ref.update(20.0, 0.0, 0.02, comfort_normal)
    assert abs(m2.offset(25.0)) < 0.02


def test_constant_acceleration_prediction_stops_and_does_not_reverse():
    leader = LeaderPrediction(gap=20.0, speed=10.0, accel=-5.0)
    travelled, speed = predict_leader_motion(leader, np.arange(0, 5.01, 0.5), True)
    assert speed.min() == 0.0
    assert travelled[-1] == pytest.approx(10.0)      # v²/(2b)
    _, const = predict_leader_motion(leader, np.arange(0, 5.01, 0.5), False)
    assert np.all(const == 10.0)


def test_leader_acceleration_estimate_smooths_noise_and_restarts_on_a_new_leader():
    rng = np.random.default_rng(3)
    estimate = LeaderAccelEstimate(time_constant=0.5, max_gap=0.2)
    noise = rng.normal(0.0, 0.6, 400)                 # white noise at 20 Hz around 0
    smoothed = np.array([estimate.update(0.05 * k, 7, a) for k, a in enumerate(noise)])
    assert np.std(smoothed[40:]) < 0.3 * np.std(noise)
    steps = [estimate.update(20.0 + 0.05 * k, 7, -3.0) for k in range(60)]   # a real braking comes through
    assert steps[-1] == pytest.approx(-3.0, abs=0.05)
    assert estimate.update(23.05, 8, 1.0) == 1.0      # another leader: restarts at its measurement
    assert estimate.update(24.0, 8, 0.0) == 0.0       # not seen for 0.95 s: restarts
    raw = LeaderAccelEstimate(time_constant=0.0, max_gap=0.2)
    assert [raw.update(0.05 * k, 7, a) for k, a in enumerate(noise[:5])] == list(noise[:5])


def test_leader_acceleration_estimate_follows_a_braking_at_once_but_not_a_dawdle():
    """SUMO's Krauss driver at its desired speed: each step's acceleration is the difference of two
    successive speed losses drawn uniformly up to sigma * accel (1.3 m/s^2), single samples down to
    -1.3 m/s^2 and anti-correlated; a braking steps to -2.5 m/s^2 and releases to 0."""
    rng = np.random.default_rng(5)
    loss = rng.uniform(0.0, 1.3, 401)
    dawdle = loss[:-1] - loss[1:]
    gated = LeaderAccelEstimate(time_constant=0.3, max_gap=0.2, manoeuvre_gate=1.2)
    smoothed = np.array([gated.update(0.05 * k, 7, a) for k, a in enumerate(dawdle)])
    assert np.std(smoothed[20:]) < 0.4 * np.std(dawdle)
    assert np.abs(smoothed[20:]).max() < 0.8                  # the gate never opened on the noise
    braking = [gated.update(20.0 + 0.05 * k, 7, -2.5) for k in range(20)]
    assert braking[1] == pytest.approx(-2.5)                  # the second sample: no lag
    release = [gated.update(21.0 + 0.05 * k, 7, 0.0) for k in range(4)]
    assert release[1] == pytest.approx(0.0)
    lagging = LeaderAccelEstimate(time_constant=0.3, max_gap=0.2)   # no gate: the low-pass lags
    lagging.update(0.0, 7, 0.0)
    assert [lagging.update(0.05 * k, 7, -2.5) for k in (1, 2)][1] > -1.5
    with pytest.raises(ValueError):
        LeaderAccelEstimate(time_constant=0.3, max_gap=0.2, manoeuvre_gate=0.0)


def test_planned_speeds_are_resampled_and_aged():
    points = tuple(TrajectoryPoint(0.2 * k, 0.0, 0.0, 0.0, 20.0 - k, -5.0) for k in range(6))
    traj = Trajectory(Header(100.0, "map"), points)
    speeds = planned_speeds_from_trajectory(traj, 100.1, 0.2, 8)
    assert speeds[0] == pytest.approx(19.5)
    assert speeds[-1] == 15.0
    with pytest.raises(ValueError):
        planned_speeds_from_trajectory(Trajectory(Header(0.0, "map")), 0.0, 0.2, 3)


def test_leader_prediction_rejects_bad_input():
    with pytest.raises(ValueError, match="source"):
        LeaderPrediction(10.0, 5.0, source="radar")
    with pytest.raises(ValueError, match="non-finite"):
        LeaderPrediction(float("nan"), 5.0)
