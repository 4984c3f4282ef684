"""802.11p: carrier sense, hidden terminals, same-slot collisions, airtime, CBR, determinism."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cav_stack.v2x.radio.channel import Channel
from cav_stack.v2x.radio.dsrc import Dsrc
from cav_stack.v2x.radio.outcomes import Outcome

AIRTIME_190 = 40e-6 + (190 + 30) * 8 / 6e6


def three_stations(profile, spacing, t_b):
    """A at -spacing, B at +spacing, C at 0; A's packet at t=0, B's at t_b; no shadowing."""
    channel = Channel(dataclasses.replace(profile.channel, shadowing_sigma_db=0.0))
    model = Dsrc(profile.dsrc, channel, 3)
    positions = np.array([[-spacing, 0.0], [spacing, 0.0], [0.0, 0.0]])
    model.enqueue(0, 0.0, 10, 190)
    model.enqueue(1, t_b, 11, 190)
    reports = model.advance(0.01, positions, np.ones(3, dtype=bool), np.random.default_rng(0))
    return model, {r.sender: r for r in reports}


def test_hidden_terminals_collide(dsrc_profile):
    # 400 m apart: -90.7 dBm < -85 dBm, A and B cannot hear each other; C hears both at -78.7 dBm
    _, reports = three_stations(dsrc_profile, 200.0, 2e-4)
    a, b = reports[0], reports[1]
    assert a.start < b.start < a.end                              # B did not defer
    assert a.outcome.tolist() == [Outcome.NOT_ADDRESSED, Outcome.SENSING, Outcome.COLLISION]
    assert b.outcome.tolist() == [Outcome.SENSING, Outcome.NOT_ADDRESSED, Outcome.RECEIVER_BUSY]


def test_carrier_sense_defers_and_both_frames_arrive(dsrc_profile):
    _, reports = three_stations(dsrc_profile, 25.0, 2e-4)
    a, b = reports[0], reports[1]
    assert a.start == pytest.approx(dsrc_profile.dsrc.aifs)      # idle medium: send after AIFS
    assert a.end - a.start == pytest.approx(AIRTIME_190)
    assert b.start >= a.end + dsrc_profile.dsrc.aifs - 1e-12    # deferred until idle + AIFS
    assert b.start <= a.end + dsrc_profile.dsrc.aifs + 15 * dsrc_profile.dsrc.slot_time + 1e-12
    assert a.outcome[2] == Outcome.DELIVERED and b.outcome[2] == Outcome.DELIVERED
    assert a.outcome[1] == Outcome.DELIVERED and b.outcome[0] == Outcome.DELIVERED


def test_same_slot_transmissions_collide(dsrc_profile):
    _, reports = three_stations(dsrc_profile, 25.0, 0.0)
    a, b = reports[0], reports[1]
    assert a.start == b.start
    assert a.outcome[1] == Outcome.RECEIVER_BUSY and b.outcome[0] == Outcome.RECEIVER_BUSY
    assert sorted([a.outcome[2], b.outcome[2]]) == [Outcome.RECEIVER_BUSY, Outcome.COLLISION]


def test_channel_busy_ratio_is_the_busy_time_share(dsrc_profile):
    channel = Channel(dataclasses.replace(dsrc_profile.channel, shadowing_sigma_db=0.0))
    model = Dsrc(dsrc_profile.dsrc, channel, 2)
    positions = np.array([[0.0, 0.0], [50.0, 0.0]])
    rng = np.random.default_rng(0)
    for j in range(10):
        model.enqueue(0, j * 0.01, j, 190)
        model.advance((j + 1) * 0.01, positions, np.ones(2, dtype=bool), rng)
    assert model.channel_busy_ratio(1) == pytest.approx(10 * AIRTIME_190 / 0.1)
    assert model.channel_busy_ratio(0) == pytest.approx(10 * AIRTIME_190 / 0.1)


def busy_road(profile, seed, n=60):
    model = Dsrc(profile.dsrc, Channel(profile.channel), n)
    positions = np.column_stack([np.arange(n) * 8.0, np.zeros(n)])
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0.0, 0.1, n)
    reports = []
    for j in range(10):
        for slot in range(n):
            model.enqueue(slot, j * 0.1 + phase[slot], j, 190)
        reports += model.advance((j + 1) * 0.1, positions, np.ones(n, dtype=bool), rng)
    return reports


def test_loss_codes_queue_and_determinism(dsrc_profile):
    a, b, c = busy_road(dsrc_profile, 3), busy_road(dsrc_profile, 3), busy_road(dsrc_profile, 4)
    assert [r.start for r in a] == [r.start for r in b]
    assert all(np.array_equal(x.outcome, y.outcome) for x, y in zip(a, b, strict=True))
    assert [r.start for r in a] != [r.start for r in c]
    codes = np.concatenate([r.outcome for r in a])
    assert set(np.unique(codes)) <= {-1, 0, 2, 3, 4, 5}           # no half-duplex code in 802.11p
    sent = [(r.sender, r.packet) for r in a]
    assert len(sent) == len(set(sent)) == 60 * 10                # every packet sent once
    assert all(r.end - r.generated < 0.01 for r in a)             # light load: access in < 10 ms


def test_bad_shapes_raise(dsrc_profile):
    model = Dsrc(dsrc_profile.dsrc, Channel(dsrc_profile.channel), 2)
    with pytest.raises(ValueError, match="positions"):
        model.advance(0.1, np.zeros((2, 3)), np.ones(2, dtype=bool), np.random.default_rng(0))
