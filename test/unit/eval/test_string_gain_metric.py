"""L2 string gain of car-following episodes against the frequency response of known followers."""
import math

import numpy as np
import pytest
from scipy import signal

from cav_stack.eval.metrics import CavTrace
from cav_stack.eval.string_stability import (FOLLOWING_GAP, FOLLOWING_TIME_GAP, MIN_EPISODE_S, following_episodes,
                                             max_string_gain)

DT = 0.05
OMEGA = 0.5                                    # rad/s: leader speed oscillation
PERIODS = 8


def _trace(t, speed, leader_speed, leader_id, gap=None) -> CavTrace:
    trace = CavTrace()
    trace.time, trace.speed = list(t), list(speed)
    trace.leader_speed, trace.leader_id = list(leader_speed), list(leader_id)
    trace.gap = [30.0] * len(trace.time) if gap is None else list(gap)
    return trace


def _leader(t):
    return 20.0 + 2.0 * np.sin(OMEGA * t)


def test_gain_of_a_resonant_follower_is_its_frequency_response_magnitude():
    # steady-state response of H(s) = wn^2 / (s^2 + 2 zeta wn s + wn^2) at OMEGA: amplification 1 / (2 zeta)
    zeta, wn = 0.2, OMEGA
    h = wn**2 / ((1j * OMEGA) ** 2 + 2 * zeta * wn * 1j * OMEGA + wn**2)
    t = np.arange(0.0, PERIODS * 2 * math.pi / OMEGA, DT)
    follower = 20.0 + 2.0 * abs(h) * np.sin(OMEGA * t + np.angle(h))
    trace = _trace(t, follower, _leader(t), ["lead"] * t.size)
    assert max_string_gain(trace) == pytest.approx(abs(h), rel=0.01)
    assert max_string_gain(trace) > 2.4                      # string unstable: amplifies 2.5x


def test_first_order_lag_follower_is_string_stable():
    tau = 1.0                                                # v' = (v_leader - v) / tau, simulated
    t = np.arange(0.0, PERIODS * 2 * math.pi / OMEGA, DT)
    _, deviation, _ = signal.lsim(([1.0], [tau, 1.0]), _leader(t) - 20.0, t)
    gain = max_string_gain(_trace(t, 20.0 + deviation, _leader(t), ["lead"] * t.size))
    assert gain == pytest.approx(1.0 / math.hypot(1.0, OMEGA * tau), rel=0.05)
    assert gain < 1.0


def test_episodes_split_at_leader_changes_and_skip_short_or_quiet_ones():
    t = np.arange(0.0, 60.0, DT)
    ids = np.where(t < 30.0, "a", np.where(t < 30.0 + MIN_EPISODE_S / 2, "b", ""))
    leader = np.where(t < 30.0, _leader(t), 20.0)
    trace = _trace(t, 20.0 + 0.5 * (leader - 20.0), leader, ids.tolist())
    (episode,) = following_episodes(trace)                   # "b" too short, "" no leader
    assert episode.leader_id == "a" and episode.end_s == pytest.approx(30.0 - DT)
    assert episode.gain == pytest.approx(0.5, rel=1e-6)
    jitter = np.random.default_rng(3).uniform(-0.03, 0.03, size=(2, t.size))   # speed noise [m/s]
    quiet = _trace(t, 20.0 + 10 * jitter[0], 20.0 + jitter[1], ["a"] * t.size)
    assert max_string_gain(quiet) is None                    # a leader at constant speed excites nothing


def test_closing_in_on_a_distant_leader_is_not_following_it():
    t = np.arange(0.0, 60.0, DT)
    follower = 20.0 + 0.5 * (_leader(t) - 20.0)
    limit = FOLLOWING_GAP + FOLLOWING_TIME_GAP * follower
    gap = np.where(t < 30.0, limit + 20.0, limit - 1.0)      # far behind, then close
    (episode,) = following_episodes(_trace(t, follower, _leader(t), ["a"] * t.size, gap))
    assert episode.start_s == pytest.approx(30.0, abs=DT) and episode.gain == pytest.approx(0.5, rel=0.02)


def test_mismatched_trace_is_refused():
    with pytest.raises(ValueError, match="one length"):
        following_episodes(_trace([0.0, 0.1], [1.0, 1.0], [1.0], ["a", "a"], [5.0, 5.0]))
