"""Unit conversions for values that arrive in non-SI units (YAML key suffixes, standards)."""
from __future__ import annotations

import math

KPH_PER_MPS = 3.6

#: YAML key suffix -> (SI key suffix to strip it to, conversion factor to SI).
SUFFIX_TO_SI: dict[str, float] = {
    "_kph": 1.0 / KPH_PER_MPS,
    "_deg": math.pi / 180.0,
    "_ms": 1.0e-3,
    "_km": 1.0e3,
}


def kph_to_mps(kph: float) -> float:
    """km/h to m/s."""
    return kph / KPH_PER_MPS


def mps_to_kph(mps: float) -> float:
    """m/s to km/h."""
    return mps * KPH_PER_MPS
