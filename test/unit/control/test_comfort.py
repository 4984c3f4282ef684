"""ISO 2631-1 weightings and ride-comfort figures against the standard and closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from cav_stack.control import comfort

# ISO 2631-1:1997 Table 3 (principal weightings), weighting factors x1000 at one-third-octave
# mid-band frequencies [Hz]. Typed from the standard; independent of the implementation.
TABLE_3 = {
    "Wk": {0.1: 31.2, 0.25: 182, 0.5: 418, 1.0: 482, 2.0: 531, 4.0: 967, 5.0: 1039, 8.0: 1036,
           16.0: 768, 31.5: 405, 63.0: 186},
    "Wd": {0.1: 62.4, 0.25: 365, 0.5: 853, 1.0: 1011, 1.25: 1008, 2.0: 890, 4.0: 512,
           8.0: 253, 16.0: 125, 31.5: 63.2},
    "Wf": {0.02: 24.2, 0.05: 157, 0.1: 695, 0.125: 895, 0.16: 1006, 0.2: 992, 0.25: 854,
           0.4: 384, 0.63: 116, 1.0: 23.5},
}


@pytest.mark.parametrize("name", sorted(TABLE_3))
def test_exact_response_matches_table_3_within_1_db(name):
    freqs = np.array(sorted(TABLE_3[name]))
    table = np.array([TABLE_3[name][f] for f in freqs]) / 1000.0
    got = np.abs(comfort.weighting_response(name, freqs))
    np.testing.assert_array_less(np.abs(20 * np.log10(got / table)), 1.0)


@pytest.mark.parametrize("name", sorted(comfort.WEIGHTINGS))
def test_polynomial_and_digital_filters_match_the_exact_response(name):
    freqs = np.geomspace(0.05, 20.0, 40)
    exact = comfort.weighting_response(name, freqs)
    num, den = comfort.analog_weighting(name)
    _, poly = signal.freqs(num, den, worN=2 * np.pi * freqs)
    np.testing.assert_allclose(poly, exact, rtol=1e-9, atol=1e-12)
    # The bilinear transform warps frequency: at 2 kHz sampling the error below 20 Hz is tiny.
    _, digital = signal.sosfreqz(comfort.digital_weighting(name, 2000.0), worN=freqs, fs=2000.0)
    np.testing.assert_allclose(np.abs(digital), np.abs(exact), rtol=2e-3, atol=1e-6)


def test_constant_speed_and_constant_offset_give_no_weighted_acceleration():
    fs = 20.0
    t = np.arange(0, 60, 1 / fs)
    report = comfort.comfort_report(t, np.zeros_like(t), np.zeros_like(t))
    assert report["vibration_total_value"] == 0.0
    assert report["comfort_reaction"] == ["not uncomfortable"]
    # A constant (DC) acceleration, e.g. a sensor bias, is removed by the band-limiting high pass.
    aw = comfort.weighted_acceleration(np.full_like(t, 0.3), fs, "Wd")
    assert comfort.rms(aw[t > 30]) < 1e-3


def test_sinusoid_rms_vdv_and_running_rms_follow_closed_forms():
    fs, f, amp = 200.0, 1.0, 0.8
    t = np.arange(0, 120, 1 / fs)
    aw = comfort.weighted_acceleration(amp * np.sin(2 * np.pi * f * t), fs, "Wd")
    gain = abs(comfort.weighting_response("Wd", f))
    steady = aw[t > 20]
    duration = steady.size / fs
    assert comfort.rms(steady) == pytest.approx(amp * gain / math.sqrt(2), rel=2e-3)
    # ∫ sin⁴ over whole periods = 3T/8.
    assert comfort.vibration_dose_value(steady, fs) == pytest.approx(
        amp * gain * (3 * duration / 8) ** 0.25, rel=2e-3)
    assert comfort.motion_sickness_dose_value(steady, fs) == pytest.approx(
        amp * gain * math.sqrt(duration / 2), rel=2e-3)
    assert comfort.running_rms(steady, fs)[-1] == pytest.approx(amp * gain / math.sqrt(2), rel=2e-3)


def test_comfort_reaction_bands_overlap_as_in_annex_c():
    assert comfort.comfort_reactions(0.2) == ("not uncomfortable",)
    assert comfort.comfort_reactions(0.4) == ("a little uncomfortable",)
    assert comfort.comfort_reactions(0.55) == ("a little uncomfortable", "fairly uncomfortable")
    assert comfort.comfort_reactions(3.0) == ("extremely uncomfortable",)


def test_report_of_a_braking_manoeuvre_has_jerk_statistics():
    fs = 20.0
    t = np.arange(0, 10, 1 / fs)
    accel = np.where(t < 5, 0.0, -2.0)
    report = comfort.comfort_report(t, accel, np.zeros_like(t))
    assert report["long"]["jerk"]["max"] == pytest.approx(2.0 * fs)
    assert report["long"]["jerk"]["p95"] == 0.0
    assert report["long"]["weighted_rms"] > 0.1
    assert report["lat"]["weighted_rms"] == 0.0


@pytest.mark.parametrize("time_s, error", [
    ([0.0, 0.05, 0.2], "uniformly"),
    ([0.0, 0.0, 0.1], "increase"),
    ([0.0], "two samples"),
])
def test_report_rejects_bad_time_bases(time_s, error):
    t = np.asarray(time_s)
    with pytest.raises(ValueError, match=error):
        comfort.comfort_report(t, np.zeros_like(t), np.zeros_like(t))


def test_unknown_weighting_is_rejected():
    with pytest.raises(ValueError, match="unknown weighting"):
        comfort.weighting_response("Wz", 1.0)
