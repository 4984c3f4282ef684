"""Analytical reference models: closed-form parts against independent computations."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from cav_stack.v2x.radio.analytical import _mean_error, cv2x_mode4_pdr, dsrc_pdr
from cav_stack.v2x.radio.channel import los_path_loss_db
from cav_stack.v2x.radio.error_curves import error_curve
from cav_stack.v2x.radio.outcomes import Outcome

DIST = np.arange(0.0, 501.0, 25.0)


def test_cv2x_losses_partition_and_closed_forms(cv2x_profile):
    ref = cv2x_mode4_pdr(DIST, 0.1, 10.0, cv2x_profile.cv2x, cv2x_profile.channel)
    total = ref.pdr + sum(ref.losses.values())
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    np.testing.assert_allclose(ref.losses[Outcome.HALF_DUPLEX], 10.0 / 1000.0)       # eq. (7)
    # eq. (10): P(Pt - PL - shadowing < Psen), shadowing N(0, 3 dB), times (1 - delta_HD)
    p_sen = stats.norm.cdf(-90.5, loc=20.0 - los_path_loss_db(DIST, cv2x_profile.channel), scale=3.0)
    np.testing.assert_allclose(ref.losses[Outcome.SENSING], p_sen * 0.99, atol=1e-9)
    # about 90 sensed vehicles (0.1 veh/m over +-460 m) exclude about a quarter of 400 resources
    assert 0.15 < ref.cbr < 0.35


def test_cv2x_trends(cv2x_profile):
    p = cv2x_profile.cv2x
    base = cv2x_mode4_pdr(DIST, 0.1, 10.0, p, cv2x_profile.channel)
    dense = cv2x_mode4_pdr(DIST, 0.2, 10.0, p, cv2x_profile.channel)
    strong = cv2x_mode4_pdr(DIST, 0.1, 10.0, dataclasses.replace(p, tx_power_dbm=23.0), cv2x_profile.channel)
    assert np.all(np.diff(base.pdr) <= 1e-12)                     # PDR falls with distance
    assert np.all(dense.pdr[1:] < base.pdr[1:])                   # more vehicles, more collisions
    assert strong.pdr[-1] > base.pdr[-1] + 0.2                    # 3 dB more reach at 500 m
    assert dense.cbr > base.cbr


def test_dsrc_losses_partition_and_closed_forms(dsrc_profile):
    p = dsrc_profile.dsrc
    ref = dsrc_pdr(DIST, 0.06, 10.0, 190, p, dsrc_profile.channel)
    np.testing.assert_allclose(ref.pdr + sum(ref.losses.values()), 1.0, atol=1e-12)
    p_sen = stats.norm.cdf(-85.0, loc=23.0 - los_path_loss_db(DIST, dsrc_profile.channel), scale=3.0)
    np.testing.assert_allclose(ref.losses[Outcome.SENSING], p_sen, atol=1e-9)
    # [S22] eq. (34)-(35) with T = 40 us + 220 * 8 / 6 Mbit/s = 333 us
    assert p.airtime(190) == pytest.approx(40e-6 + 220 * 8 / 6e6)
    assert 0.05 < ref.cbr < 0.2
    faster = dsrc_pdr(DIST, 0.06, 10.0, 190, dataclasses.replace(p, data_rate=27e6), dsrc_profile.channel)
    assert faster.losses[Outcome.PROPAGATION].max() > 3 * ref.losses[Outcome.PROPAGATION].max()


def test_mean_error_matches_monte_carlo():
    """E[BLER(SINR) | S >= threshold] against sampling the log-normal powers directly."""
    curve = error_curve("cv2x_qpsk_r0.7_190B")
    rng = np.random.default_rng(0)
    s = rng.normal(-88.0, 3.0, 2_000_000)
    s = s[s >= -90.5]
    i_mw = 10 ** (rng.normal(-98.0, 3.0, len(s)) / 10)
    noise = -102.0
    sinr = s - 10 * np.log10(10 ** (noise / 10) + i_mw)
    expected = curve(sinr).mean()
    got = _mean_error(curve, -88.0, 3.0, -90.5, noise, 0.0, -98.0)
    assert got == pytest.approx(expected, abs=0.004)
    snr_expected = curve(s - noise).mean()
    assert _mean_error(curve, -88.0, 3.0, -90.5, noise, 0.0) == pytest.approx(snr_expected, abs=0.004)


def test_bad_inputs_raise(cv2x_profile):
    with pytest.raises(ValueError, match="distances"):
        cv2x_mode4_pdr([-1.0], 0.1, 10.0, cv2x_profile.cv2x, cv2x_profile.channel)
    with pytest.raises(ValueError, match="density"):
        cv2x_mode4_pdr(DIST, 0.0, 10.0, cv2x_profile.cv2x, cv2x_profile.channel)
