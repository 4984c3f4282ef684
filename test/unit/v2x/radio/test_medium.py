"""RadioMedium: the sim bridge's view (station IDs, bytes, link-loss overrides, errors)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cav_stack.v2x.radio.medium import Delivery, RadioMedium


def drive(medium, steps, rng, positions, senders=None, start=0.0):
    deliveries = []
    for k in range(steps):
        now = start + k * 0.05
        out = [(s, f"{s}:{k}".encode()) for s in (senders if senders is not None else positions)]
        deliveries += medium.step(now, positions, out if k % 2 == 0 else [], rng)
    return deliveries


@pytest.mark.parametrize("tech", ["dsrc", "cv2x"])
def test_payloads_reach_neighbours_intact(tech, dsrc_profile, cv2x_profile):
    profile = dsrc_profile if tech == "dsrc" else cv2x_profile
    medium = RadioMedium(profile)
    positions = {7: (0.0, 0.0), 8: (30.0, 0.0), 9: (60.0, 5.0)}
    got = drive(medium, 20, np.random.default_rng(0), positions, start=100.0)
    assert all(isinstance(d, Delivery) for d in got)
    assert {(d.sender_id, d.receiver_id) for d in got} == {(s, r) for s in positions for r in positions if s != r}
    for d in got:
        sender, tick = d.payload.decode().split(":")
        assert int(sender) == d.sender_id
        assert 0.0 < d.latency <= 0.15
    # 10 sending ticks x 6 links, all but the last tick delivered; short links lose almost nothing
    assert len(got) >= 0.9 * 9 * 6


def test_link_loss_override_is_directional_and_removable(dsrc_profile):
    medium = RadioMedium(dsrc_profile)
    positions = {1: (0.0, 0.0), 2: (20.0, 0.0)}
    rng = np.random.default_rng(1)
    medium.set_link_loss(1, 2, 1.0)
    got = drive(medium, 20, rng, positions)
    assert not any(d.sender_id == 1 and d.receiver_id == 2 for d in got)
    assert sum(d.sender_id == 2 for d in got) >= 8
    medium.set_link_loss(1, 2, 0.0)
    got = drive(medium, 20, rng, positions, start=1.0)
    assert sum(d.sender_id == 1 for d in got) >= 8
    with pytest.raises(ValueError, match="probability"):
        medium.set_link_loss(1, 2, 1.5)


def test_half_loss_override_drops_about_half(dsrc_profile):
    medium = RadioMedium(dsrc_profile)
    medium.set_link_loss(1, 2, 0.5)
    got = drive(medium, 400, np.random.default_rng(2), {1: (0.0, 0.0), 2: (20.0, 0.0)}, senders=[1])
    assert 0.4 * 199 < len(got) < 0.6 * 199


def test_departed_station_neither_sends_nor_receives(cv2x_profile):
    medium = RadioMedium(cv2x_profile)
    rng = np.random.default_rng(3)
    positions = {1: (0.0, 0.0), 2: (20.0, 0.0), 3: (40.0, 0.0)}
    drive(medium, 10, rng, positions)
    remaining = {1: (0.0, 0.0), 2: (20.0, 0.0)}
    medium.step(0.5, remaining, [], rng)      # in-flight frames of 3 are discarded
    got = drive(medium, 10, rng, remaining, start=0.55)
    assert got and all(3 not in (d.sender_id, d.receiver_id) for d in got)
    with pytest.raises(ValueError, match="unknown station"):
        medium.channel_busy_ratio(3)
    assert 0.0 <= medium.channel_busy_ratio(1) <= 1.0


def test_same_seed_same_deliveries(dsrc_profile):
    positions = {i: (i * 15.0, 0.0) for i in range(8)}
    a = drive(RadioMedium(dsrc_profile), 20, np.random.default_rng(5), positions)
    b = drive(RadioMedium(dsrc_profile), 20, np.random.default_rng(5), positions)
    assert a == b


def test_bad_input_raises(dsrc_profile):
    medium = RadioMedium(dataclasses.replace(dsrc_profile, max_stations=2))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="no position"):
        medium.step(0.0, {1: (0.0, 0.0)}, [(2, b"x")], rng)
    with pytest.raises(ValueError, match="bytes"):
        medium.step(0.0, {1: (0.0, 0.0)}, [(1, "text")], rng)
    with pytest.raises(ValueError, match="max_stations"):
        medium.step(0.0, {1: (0.0, 0.0), 2: (1.0, 0.0), 3: (2.0, 0.0)}, [], rng)
    with pytest.raises(ValueError, match="finite"):
        medium.step(0.0, {1: (float("nan"), 0.0)}, [], rng)
    medium.step(1.0, {1: (0.0, 0.0)}, [], rng)
    with pytest.raises(ValueError, match="non-decreasing"):
        medium.step(0.5, {1: (0.0, 0.0)}, [], rng)


def test_independent_station_clocks_spread_contention_over_the_tick(dsrc_profile):
    """80 stations within 160 m all generate a 300-byte frame on the same 100 ms ticks (a
    co-simulation's lock-step clock). Handed over within 10 ms of the tick (no clock phase) they
    contend in a burst and collide far more than with each station's own clock phase over the
    50 ms tick, as independent vehicle clocks do; each sender's phase is fixed (its latencies
    vary by less than the hand-over jitter plus channel access)."""
    positions = {s: (2.0 * s, 3.6 * (s % 3)) for s in range(80)}
    frame = bytes(300)

    def pdr_and_latencies(spread):
        medium = RadioMedium(dataclasses.replace(dsrc_profile, clock_phase_spread=spread))
        rng = np.random.default_rng(4)
        got = []
        for k in range(40):
            got += medium.step(k * 0.05, positions, [(s, frame) for s in positions] if k % 2 == 0 else [], rng)
        sent_links = 19 * 80 * 79            # the ticks before the last one, to every other station
        return len(got) / sent_links, [d.latency for d in got if d.sender_id == 5]

    burst, _ = pdr_and_latencies(0.0)
    spread, latencies = pdr_and_latencies(0.05)
    assert spread > burst + 0.1, (burst, spread)
    assert max(latencies) - min(latencies) < dsrc_profile.access_jitter + 0.02
