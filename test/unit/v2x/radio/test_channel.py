"""Channel numbers against hand-computed references and physical properties."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from cav_stack.v2x.radio.channel import (Channel, ChannelParams, free_space_loss_db, links_blocked,
                                         los_path_loss_db, nlos_path_loss_db, noise_power_dbm, sinr_db)

C = 299_792_458.0


def friis_db(d, f):
    """Free-space loss from first principles: (4 pi d f / c)^2."""
    return 20.0 * math.log10(4.0 * math.pi * d * f / C)


def test_breakpoint_distances_match_validation_setups(cv2x_profile, dsrc_profile):
    # 4 h'_t h'_r fc / c with h' = 1.5 m (C-V2X) and 1.0 m (DSRC, environment 0.5 m)
    assert cv2x_profile.channel.breakpoint_distance == pytest.approx(4 * 1.5 * 1.5 * 5.91e9 / C)
    assert cv2x_profile.channel.breakpoint_distance == pytest.approx(177.4, abs=0.1)
    assert dsrc_profile.channel.breakpoint_distance == pytest.approx(78.6, abs=0.1)


def test_free_space_floor_below_102_m(cv2x_profile):
    ch = cv2x_profile.channel
    for d in (5.0, 20.0, 50.0):
        assert los_path_loss_db(d, ch) == pytest.approx(friis_db(d, 5.91e9), abs=0.05)
    # minimum distance: anything closer is evaluated at 3 m
    assert los_path_loss_db(0.5, ch) == pytest.approx(friis_db(3.0, 5.91e9), abs=0.05)
    assert free_space_loss_db(100.0, 5.0e9) == pytest.approx(friis_db(100.0, 5.0e9), abs=0.05)


def test_winner_b1_values_on_both_sides_of_the_breakpoint(cv2x_profile, dsrc_profile):
    # 150 m < 177 m: 22.7 log10(150) + 27 + 20 log10(5.91) = 49.396 + 27 + 15.432
    assert los_path_loss_db(150.0, cv2x_profile.channel) == pytest.approx(91.83, abs=0.01)
    # 300 m > 177 m: 40 log10(300) + 7.56 - 34.6 log10(1.5) + 2.7 log10(5.91)
    #              = 99.085 + 7.56 - 6.093 + 2.083
    assert los_path_loss_db(300.0, cv2x_profile.channel) == pytest.approx(102.64, abs=0.01)
    # DSRC, 300 m > 78.6 m, h' = 1 m: 99.085 + 7.56 - 0 + 2.7 log10(5.89) = 108.72
    assert los_path_loss_db(300.0, dsrc_profile.channel) == pytest.approx(108.72, abs=0.01)


def test_los_loss_is_continuous_and_increasing(cv2x_profile):
    ch = cv2x_profile.channel
    d = np.linspace(3.0, 2000.0, 20000)
    assert np.all(np.diff(los_path_loss_db(d, ch)) > 0.0)
    # the two WINNER+ branches meet at the breakpoint within 0.1 dB
    d_bp = ch.breakpoint_distance
    assert abs(los_path_loss_db(d_bp - 1e-6, ch) - los_path_loss_db(d_bp + 1e-6, ch)) < 0.1


def test_nlos_exceeds_los(cv2x_profile):
    ch = cv2x_profile.channel
    dx, dy = np.array([50.0, 100.0, 200.0]), np.array([60.0, 20.0, 150.0])
    assert np.all(nlos_path_loss_db(dx, dy, ch) > los_path_loss_db(np.hypot(dx, dy), ch) + 3.0)


def test_links_blocked_by_polygon():
    building = np.array([[40.0, -10.0], [60.0, -10.0], [60.0, 10.0], [40.0, 10.0]])
    rx = np.array([[100.0, 0.0], [100.0, 50.0], [30.0, 0.0]])
    assert links_blocked((0.0, 0.0), rx, [building]).tolist() == [True, False, False]


def test_shadowing_statistics_and_seeded_determinism(cv2x_profile):
    channel = Channel(cv2x_profile.channel)
    tx = np.zeros((1, 2))
    rx = np.tile([[300.0, 0.0]], (20000, 1))
    p1 = channel.received_power_dbm(20.0, tx, rx, np.random.default_rng(3))[0]
    p2 = channel.received_power_dbm(20.0, tx, rx, np.random.default_rng(3))[0]
    np.testing.assert_array_equal(p1, p2)
    assert p1.mean() == pytest.approx(20.0 - 102.64, abs=0.1)
    assert p1.std() == pytest.approx(3.0, rel=0.03)
    # links are independent: neighbouring samples uncorrelated
    assert abs(np.corrcoef(p1[:-1], p1[1:])[0, 1]) < 0.03


def test_blocked_link_uses_nlos(cv2x_profile):
    params = dataclasses.replace(cv2x_profile.channel, shadowing_sigma_db=0.0, nlos_shadowing_sigma_db=0.0)
    building = np.array([[40.0, -10.0], [60.0, -10.0], [60.0, 10.0], [40.0, 10.0]])
    rx = np.array([[100.0, 0.0], [0.0, 100.0]])
    p = Channel(params, [building]).received_power_dbm(20.0, np.zeros((1, 2)), rx, np.random.default_rng(0))[0]
    assert p[1] == pytest.approx(20.0 - los_path_loss_db(100.0, params))
    assert p[0] == pytest.approx(20.0 - nlos_path_loss_db(100.0, 0.0, params))


def test_noise_scaled_to_occupied_bandwidth(cv2x_profile):
    # 10 of 50 resource blocks of a 10 MHz channel at -95 dBm: -95 - 10 log10(5) = -101.99 dBm
    cv2x = cv2x_profile.cv2x
    assert noise_power_dbm(cv2x_profile.channel, cv2x.occupied_bandwidth) == pytest.approx(-101.99, abs=0.01)
    with pytest.raises(ValueError):
        noise_power_dbm(cv2x_profile.channel, 0.0)


def test_sinr_of_equal_signal_interference_and_noise():
    assert sinr_db(2.0, 1.0, 1.0) == pytest.approx(0.0)
    assert sinr_db(1.0, 0.0, 1.0) == pytest.approx(0.0)
    assert sinr_db(1.0, 1.0, 1.0) == pytest.approx(-3.0103, abs=1e-4)


def test_bad_parameters_and_shapes_raise(cv2x_profile):
    with pytest.raises(ValueError, match="effective_antenna_height"):
        dataclasses.replace(cv2x_profile.channel, environment_height=2.0)
    with pytest.raises(ValueError, match="blocked"):
        Channel(cv2x_profile.channel).mean_path_loss_db(np.zeros((1, 2)), np.ones((3, 2)), blocked=[True])
    with pytest.raises(ValueError, match="positions"):
        Channel(cv2x_profile.channel).mean_path_loss_db(np.zeros(2), np.ones((3, 2)))
    with pytest.raises(ValueError, match="obstacle"):
        Channel(cv2x_profile.channel, [np.zeros((2, 2))])
    assert isinstance(cv2x_profile.channel, ChannelParams)
