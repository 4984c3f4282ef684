"""Steady-following windows: centred on each sample, so the onset of a manoeuvre is left out."""
from __future__ import annotations

import numpy as np
import pytest

from cav_stack.eval.steady_following import steady_following_jerk, steady_following_mask

DT = 0.05


def test_braking_onset_at_the_end_of_a_steady_stretch_is_not_steady_following():
    time = np.arange(0.0, 30.0 + DT / 2, DT)
    accel = np.zeros_like(time)
    onset = (time >= 20.0) & (time < 21.0)
    accel[onset] = -2.0 * (time[onset] - 20.0)          # jerk -2 m/s^3: the follower starts braking
    accel[time >= 21.0] = -2.0
    speed = 25.0 + np.concatenate(([0.0], np.cumsum(accel[:-1]) * DT))
    leader = np.where(time < 20.0, 25.0, 25.0 - 2.5 * (time - 20.0))   # the leader brakes at 2.5 m/s^2
    mask = steady_following_mask(time, speed, leader)
    assert not mask[time < 2.5 - 1e-9].any()             # half a window from the start
    assert mask[(time >= 2.5) & (time <= 17.4)].all()
    assert not mask[time >= 17.7].any()                  # half a window before the leader left the band
    jerk_rms, steady_s = steady_following_jerk(time, speed, leader, accel)
    assert jerk_rms == 0.0 and steady_s == pytest.approx(15.0, abs=0.2)


def test_no_leader_or_a_short_trace_is_never_steady():
    time = np.arange(0.0, 10.0, DT)
    assert not steady_following_mask(time, np.full(time.size, 20.0), np.full(time.size, np.nan)).any()
    short = time[:50]
    assert not steady_following_mask(short, np.full(50, 20.0), np.full(50, 20.0)).any()
