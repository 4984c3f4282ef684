"""String stability of a CAV's car following, from ground truth.

A car-following episode of a CAV is a maximal run of world steps with the same leader (ground
truth, :func:`cav_stack.eval.metrics.leader_of`) that the CAV follows closely, i.e. with a
bumper-to-bumper gap of at most ``FOLLOWING_GAP + FOLLOWING_TIME_GAP`` x speed (headways under
3 s count as following in the Highway Capacity Manual, TRB 2010, ch. 15), lasting at least
``MIN_EPISODE_S``: a CAV closing in on a distant leader is not yet following it. Its gain is
the ratio of the L2 norms of the follower's and the leader's accelerations over the episode,

    gain = ||a_follower||_2 / ||a_leader||_2,   ||a||_2 = (∫ a(t)² dt)^½,

the empirical form of L2 string stability (Ploeg, van de Wouw & Nijmeijer, "Lp string stability
of cascaded systems: application to vehicle platooning", IEEE Trans. Control Systems Technology
22(2), 2014): a follower that amplifies its leader's speed changes has a gain above 1. Both
accelerations are differentiated from the ground-truth speeds [m/s] (``numpy.gradient``) so that
they are treated alike; the leader's speed is taken along the follower's heading. An episode
whose leader barely changes speed (by less than ``MIN_LEADER_SPEED_SWING`` between its slowest
and fastest) has no meaningful gain and is skipped: differentiated speed noise would dominate it.

A CAV restoring its gap after a cut-in brakes harder than the car that cut in and so shows a
gain above 1 without any string effect: read the figure where a string exists (platoon, queue
discharge of the mixed-traffic scenarios).

Unlike :mod:`cav_stack.control.string_stability` (the L∞ speed deviation during a scripted
manoeuvre of a known string, for the platoon acceptance test), this needs no knowledge of the
scenario, so every run's report carries it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cav_stack.eval.metrics import CavTrace

FOLLOWING_GAP = 10.0
"""Gap [m] within which a CAV follows its leader at any speed (a standing or starting queue)."""
FOLLOWING_TIME_GAP = 3.0
"""Time gap [s] within which a moving CAV follows its leader."""
MIN_EPISODE_S = 10.0
"""Shortest car-following episode [s] whose gain is computed."""
MIN_LEADER_SPEED_SWING = 1.0
"""Least change [m/s] of the leader's speed over an episode for its gain to be defined."""


@dataclass(frozen=True)
class FollowingEpisode:
    """One car-following episode: leader ID, start and end [s], L2 string gain [-]."""

    leader_id: str
    start_s: float
    end_s: float
    gain: float


def _l2(accel: np.ndarray, t: np.ndarray) -> float:
    return math.sqrt(float(np.trapezoid(accel**2, t)))


def following_episodes(trace: CavTrace) -> list[FollowingEpisode]:
    """The CAV's car-following episodes with a defined gain (see the module docstring)."""
    if not (len(trace.time) == len(trace.speed) == len(trace.gap) == len(trace.leader_speed)
            == len(trace.leader_id)):
        raise ValueError("trace time, speed, gap, leader_speed and leader_id must have one length")
    t = np.asarray(trace.time, dtype=float)
    with np.errstate(invalid="ignore"):
        close = np.asarray(trace.gap, dtype=float) <= FOLLOWING_GAP + FOLLOWING_TIME_GAP * np.asarray(trace.speed)
    followed = [leader if close[k] else "" for k, leader in enumerate(trace.leader_id)]
    episodes: list[FollowingEpisode] = []
    start = 0
    for end in range(1, len(t) + 1):
        if end < len(t) and followed[end] == followed[start]:
            continue
        leader = followed[start]
        if leader and end - start >= 3 and t[end - 1] - t[start] >= MIN_EPISODE_S - 1e-9:
            span = t[start:end]
            leader_speed = np.asarray(trace.leader_speed[start:end], dtype=float)
            if np.ptp(leader_speed) >= MIN_LEADER_SPEED_SWING:
                a_leader = np.gradient(leader_speed, span)
                a_follower = np.gradient(np.asarray(trace.speed[start:end], dtype=float), span)
                episodes.append(FollowingEpisode(leader, float(span[0]), float(span[-1]),
                                                 _l2(a_follower, span) / _l2(a_leader, span)))
        start = end
    return episodes


def max_string_gain(trace: CavTrace) -> float | None:
    """The largest L2 string gain [-] over the CAV's episodes (None when it has none)."""
    gains = [e.gain for e in following_episodes(trace)]
    return max(gains) if gains else None
