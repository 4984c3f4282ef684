"""Tabulated packet/block error curves used by the radio models and the analytical references.

Both curves are interpolated linearly in (dB, error rate) and held constant outside the table.

* C-V2X PC5 (190-byte transport block, 280 km/h relative speed): BLER vs SNR/SINR from
  3GPP R1-160284 ("DMRS enhancement of V2V"), values as read off that contribution's figures
  by Gonzalez-Martin et al., IEEE TVT 68(2) 2019, Sec. V.
* IEEE 802.11p: FER vs Eb/N0 from O. Goubet et al., "Low-complexity scalable iterative algorithms
  for IEEE 802.11p receivers", IEEE TVT 64(9) 2015, Fig. 14 (L = 1), as used for all data rates
  through Eb/N0 = SINR + 10 log10(BW/R) by Sepulcre et al., IEEE TVT 71(1) 2022.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np


@dataclass(frozen=True)
class ErrorCurve:
    """Error rate [0..1] against a ratio in dB (SINR for C-V2X, Eb/N0 for 802.11p)."""

    name: str
    ratio_db: tuple[float, ...]
    error_rate: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.ratio_db) != len(self.error_rate) or len(self.ratio_db) < 2:
            raise ValueError(f"error curve {self.name}: need >= 2 points of (ratio, rate)")
        if np.any(np.diff(self.ratio_db) <= 0.0):
            raise ValueError(f"error curve {self.name}: ratios must increase strictly")

    @overload
    def __call__(self, ratio_db: float) -> float: ...

    @overload
    def __call__(self, ratio_db: np.ndarray) -> np.ndarray: ...

    def __call__(self, ratio_db: float | np.ndarray) -> float | np.ndarray:
        """Error rate at ``ratio_db`` [dB] (array-like)."""
        return np.interp(ratio_db, self.ratio_db, self.error_rate)


CURVES: dict[str, ErrorCurve] = {
    curve.name: curve for curve in (
        ErrorCurve("cv2x_qpsk_r0.7_190B",
                   (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0, 20.000001),
                   (1.0, 0.9, 0.7, 0.4, 0.13, 0.045, 0.017, 0.007, 1e-3, 1e-3, 1e-4)),
        ErrorCurve("cv2x_qpsk_r0.5_190B",
                   (-2.0, 0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 20.0, 20.000001),
                   (1.0, 0.9, 0.7, 0.3, 0.09, 0.02, 0.002, 1e-3, 1e-3, 1e-4)),
        ErrorCurve("dsrc_goubet2015",
                   (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0),
                   (1.0, 1.0, 0.4, 1.5e-2, 4e-3, 3e-3, 2e-3, 1e-3)),
    )
}


def error_curve(name: str) -> ErrorCurve:
    """Look up a tabulated curve by name; raise ValueError listing the known names."""
    try:
        return CURVES[name]
    except KeyError:
        raise ValueError(f"unknown error curve {name!r} (known: {', '.join(sorted(CURVES))})") from None
