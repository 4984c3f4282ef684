"""Ride comfort after ISO 2631-1:1997 (whole-body vibration) and jerk statistics.

Frequency weightings (ISO 2631-1:1997, Annex A, Table A.2) are products of
  band limiting    H_h(p) = 1 / (1 + √2·ω1/p + (ω1/p)²)     (high pass, Q = 1/√2)
                   H_l(p) = 1 / (1 + √2·p/ω2 + (p/ω2)²)     (low pass, Q = 1/√2)
  a-v transition   H_t(p) = (1 + p/ω3) / (1 + p/(Q4·ω4) + (p/ω4)²)
  upward step      H_s(p) = (1 + p/(Q5·ω5) + (p/ω5)²) / (1 + p/(Q6·ω6) + (p/ω6)²) · (ω5/ω6)²
with p = j2πf, ωi = 2π·fi and an infinite fi meaning the factor is absent:
  Wk (vertical, health/comfort):  f1 0.4, f2 100, f3 12.5, f4 12.5, Q4 0.63, f5 2.37, Q5 0.91, f6 3.35, Q6 0.91
  Wd (horizontal x/y):            f1 0.4, f2 100, f3 2.0,  f4 2.0,  Q4 0.63
  Wf (motion sickness, vertical): f1 0.08, f2 0.63, f3 ∞,  f4 0.25, Q4 0.86, f5 0.0625, Q5 0.80, f6 0.1, Q6 0.80
Frequencies in Hz. Sampled signals are filtered with the bilinear transform of these analogue
filters at the sample rate (band-limiting corners above Nyquist are mapped onto it).

Figures (ISO 2631-1:1997, clause 6): weighted r.m.s. a_w; running r.m.s. over τ = 1 s with its
maximum MTVV (6.3.1); vibration dose value VDV = (∫a_w⁴ dt)^¼ (6.3.2); motion sickness dose
value MSDV = (∫a_w² dt)^½ with Wf (Annex D); vibration total value with k = 1 for comfort
(8.2.3); comfort reactions of Annex C.2.3.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import signal

_Q_BAND = 1.0 / math.sqrt(2.0)


@dataclass(frozen=True)
class WeightingParameters:
    """ISO 2631-1 Table A.2 parameters of one weighting; frequencies [Hz], None = absent."""

    f1: float
    f2: float
    f3: float | None
    f4: float | None
    q4: float | None
    f5: float | None = None
    q5: float | None = None
    f6: float | None = None
    q6: float | None = None


#: ISO 2631-1:1997 Table A.2.
WEIGHTINGS: dict[str, WeightingParameters] = {
    "Wk": WeightingParameters(0.4, 100.0, 12.5, 12.5, 0.63, 2.37, 0.91, 3.35, 0.91),
    "Wd": WeightingParameters(0.4, 100.0, 2.0, 2.0, 0.63),
    "Wf": WeightingParameters(0.08, 0.63, None, 0.25, 0.86, 0.0625, 0.80, 0.1, 0.80),
}

#: ISO 2631-1:1997 Annex C.2.3: approximate reactions to overall vibration total values [m/s^2]
#: in public transport; the bands overlap on purpose.
COMFORT_REACTIONS: tuple[tuple[float, float, str], ...] = (
    (0.0, 0.315, "not uncomfortable"),
    (0.315, 0.63, "a little uncomfortable"),
    (0.5, 1.0, "fairly uncomfortable"),
    (0.8, 1.6, "uncomfortable"),
    (1.25, 2.5, "very uncomfortable"),
    (2.0, math.inf, "extremely uncomfortable"),
)

#: Integration time [s] of the running r.m.s. (ISO 2631-1:1997, 6.3.1).
RUNNING_RMS_WINDOW = 1.0


def _weighting(name: str) -> WeightingParameters:
    if name not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {name!r} (known: {', '.join(WEIGHTINGS)})")
    return WEIGHTINGS[name]


def weighting_response(name: str, frequency_hz: ArrayLike) -> np.ndarray:
    """Exact complex response of analogue weighting ``name`` at ``frequency_hz`` [Hz],
    evaluated factor by factor from the Annex A formulas (no polynomial expansion)."""
    w = _weighting(name)
    p = 2j * np.pi * np.asarray(frequency_hz, dtype=float)
    o1, o2 = 2 * np.pi * w.f1, 2 * np.pi * w.f2
    h: np.ndarray = 1.0 / (1.0 + o1 / (_Q_BAND * p) + (o1 / p) ** 2)
    h = h / (1.0 + p / (_Q_BAND * o2) + (p / o2) ** 2)
    if w.f4 is not None and w.q4 is not None:
        o4 = 2 * np.pi * w.f4
        numerator = 1.0 + p / (2 * np.pi * w.f3) if w.f3 is not None else 1.0
        h = h * numerator / (1.0 + p / (w.q4 * o4) + (p / o4) ** 2)
    if w.f5 is not None and w.f6 is not None and w.q5 is not None and w.q6 is not None:
        o5, o6 = 2 * np.pi * w.f5, 2 * np.pi * w.f6
        h = h * (1.0 + p / (w.q5 * o5) + (p / o5) ** 2) / (1.0 + p / (w.q6 * o6) + (p / o6) ** 2) \
            * (o5 / o6) ** 2
    return h


def analog_weighting(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator polynomials in s (highest power first) of weighting ``name``."""
    w = _weighting(name)
    o1, o2 = 2 * np.pi * w.f1, 2 * np.pi * w.f2
    # H_h = s² / (s² + ω1 s/Q + ω1²); H_l = ω2² / (s² + ω2 s/Q + ω2²)
    num: np.ndarray = np.polymul([1.0, 0.0, 0.0], [o2**2])
    den: np.ndarray = np.polymul([1.0, o1 / _Q_BAND, o1**2], [1.0, o2 / _Q_BAND, o2**2])
    if w.f4 is not None and w.q4 is not None:
        o4 = 2 * np.pi * w.f4
        # H_t = ω4² (1 + s/ω3) / (s² + ω4 s/Q4 + ω4²)
        t_num = [o4**2 / (2 * np.pi * w.f3), o4**2] if w.f3 is not None else [o4**2]
        num = np.polymul(num, t_num)
        den = np.polymul(den, [1.0, o4 / w.q4, o4**2])
    if w.f5 is not None and w.f6 is not None and w.q5 is not None and w.q6 is not None:
        o5, o6 = 2 * np.pi * w.f5, 2 * np.pi * w.f6
        # H_s = (s² + ω5 s/Q5 + ω5²) / (s² + ω6 s/Q6 + ω6²)  (the (ω5/ω6)² and 1/ω5², ω6² cancel)
        num = np.polymul(num, [1.0, o5 / w.q5, o5**2])
        den = np.polymul(den, [1.0, o6 / w.q6, o6**2])
    return num, den


def digital_weighting(name: str, sample_rate_hz: float) -> np.ndarray:
    """Second-order sections of weighting ``name`` discretised by the bilinear transform at
    ``sample_rate_hz`` [Hz] (for :func:`scipy.signal.sosfilt`)."""
    if not sample_rate_hz > 0.0:
        raise ValueError(f"sample rate must be > 0, got {sample_rate_hz}")
    num, den = analog_weighting(name)
    z, p, k = signal.tf2zpk(num, den)
    zd, pd, kd = signal.bilinear_zpk(z, p, k, sample_rate_hz)
    sections: np.ndarray = signal.zpk2sos(zd, pd, kd)
    return sections


def weighted_acceleration(accel: ArrayLike, sample_rate_hz: float, name: str) -> np.ndarray:
    """Frequency-weighted acceleration [m/s^2] of uniformly sampled ``accel`` [m/s^2]."""
    accel = np.asarray(accel, dtype=float)
    weighted: np.ndarray = signal.sosfilt(digital_weighting(name, sample_rate_hz), accel)
    return weighted


def rms(values: ArrayLike) -> float:
    """Root mean square of ``values``."""
    values = np.asarray(values, dtype=float)
    return float(np.sqrt(np.mean(values**2))) if values.size else 0.0


def running_rms(weighted: ArrayLike, sample_rate_hz: float, window_s: float = RUNNING_RMS_WINDOW) -> np.ndarray:
    """Running r.m.s. [m/s^2] by linear integration over the last ``window_s`` [s] (ISO 2631-1
    Eq. 2); the first samples use the data available."""
    sq = np.asarray(weighted, dtype=float) ** 2
    n = max(int(round(window_s * sample_rate_hz)), 1)
    csum = np.concatenate(([0.0], np.cumsum(sq)))
    idx = np.arange(1, sq.size + 1)
    start = np.maximum(idx - n, 0)
    return np.sqrt((csum[idx] - csum[start]) / (idx - start))


def vibration_dose_value(weighted: ArrayLike, sample_rate_hz: float) -> float:
    """VDV [m/s^1.75] = (∫ a_w⁴ dt)^¼ of a weighted acceleration."""
    return float((np.sum(np.asarray(weighted, dtype=float) ** 4) / sample_rate_hz) ** 0.25)


def motion_sickness_dose_value(weighted_wf: ArrayLike, sample_rate_hz: float) -> float:
    """MSDV [m/s^1.5] = (∫ a_w² dt)^½ of a Wf-weighted acceleration."""
    return float(math.sqrt(np.sum(np.asarray(weighted_wf, dtype=float) ** 2) / sample_rate_hz))


def comfort_reactions(total_value: float) -> tuple[str, ...]:
    """All Annex C.2.3 reactions whose band holds ``total_value`` [m/s^2] (bands overlap)."""
    return tuple(label for lo, hi, label in COMFORT_REACTIONS if lo <= total_value < hi)


def jerk_statistics(time_s: ArrayLike, accel: ArrayLike) -> dict[str, float]:
    """p95, p99 and max of |jerk| [m/s^3] from an acceleration series [m/s^2] at times [s]."""
    jerk = np.abs(np.diff(np.asarray(accel, dtype=float)) / np.diff(np.asarray(time_s, dtype=float)))
    if jerk.size == 0:
        return {"p95": 0.0, "p99": 0.0, "max": 0.0}
    return {"p95": float(np.percentile(jerk, 95)), "p99": float(np.percentile(jerk, 99)),
            "max": float(jerk.max())}


def _sample_rate(time_s: np.ndarray) -> float:
    if time_s.ndim != 1 or time_s.size < 2:
        raise ValueError("need at least two samples")
    dt = np.diff(time_s)
    if not np.all(dt > 0.0):
        raise ValueError("time stamps must increase strictly")
    if np.ptp(dt) > 1e-6 * np.mean(dt) + 1e-9:
        raise ValueError("samples must be uniformly spaced in time")
    return float(1.0 / np.mean(dt))


def comfort_report(time_s: ArrayLike, accel_long: ArrayLike, accel_lat: ArrayLike) -> dict[str, Any]:
    """JSON-ready ride-comfort figures of a run.

    time_s [s] (uniform), accel_long and accel_lat [m/s^2] in ``base_link``. Horizontal axes
    use Wd; the total value combines both with k = 1 (comfort, ISO 2631-1 8.2.3). MSDV applies
    Wf to the horizontal axes (the standard defines Wf for vertical motion; reported as an
    indicator of low-frequency sway). Raises ValueError for mismatched or non-uniform input.
    """
    t = np.asarray(time_s, dtype=float)
    ax = np.asarray(accel_long, dtype=float)
    ay = np.asarray(accel_lat, dtype=float)
    if not (t.shape == ax.shape == ay.shape):
        raise ValueError(f"time, accel_long, accel_lat must have one shape, got {t.shape}, {ax.shape}, {ay.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(ax)) and np.all(np.isfinite(ay))):
        raise ValueError("non-finite samples")
    fs = _sample_rate(t)
    axes: dict[str, dict[str, Any]] = {}
    for axis, accel in (("long", ax), ("lat", ay)):
        aw = weighted_acceleration(accel, fs, "Wd")
        awf = weighted_acceleration(accel, fs, "Wf")
        axes[axis] = {
            "weighted_rms": rms(aw),
            "mtvv": float(running_rms(aw, fs).max()),
            "vdv": vibration_dose_value(aw, fs),
            "msdv_wf": motion_sickness_dose_value(awf, fs),
            "jerk": jerk_statistics(t, accel),
            "max_abs_accel": float(np.max(np.abs(accel))),
        }
    total = math.sqrt(axes["long"]["weighted_rms"] ** 2 + axes["lat"]["weighted_rms"] ** 2)
    return {
        "duration_s": float(t[-1] - t[0]),
        "sample_rate_hz": fs,
        "weighting": "ISO 2631-1:1997 Wd (horizontal), Wf for MSDV",
        "vibration_total_value": total,
        "comfort_reaction": list(comfort_reactions(total)),
        "long": axes["long"],
        "lat": axes["lat"],
    }
