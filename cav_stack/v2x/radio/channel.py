"""Radio channel for V2V links: WINNER+ B1 path loss, log-normal shadowing, noise and SINR.

Path loss follows the WINNER+ B1 (urban micro) model as adopted for V2V links in
3GPP TR 36.885 Annex A.1.4 (WINNER+ D5.3 v1.0, Table 4-4):

* LOS, d < d_BP:  PL = 22.7 log10(d) + 27.0 + 20 log10(fc/GHz)
* LOS, d >= d_BP: PL = 40 log10(d) + 7.56 - 17.3 log10(h'_t) - 17.3 log10(h'_r) + 2.7 log10(fc/GHz)
* effective antenna heights h' = h - h_env, breakpoint d_BP = 4 h'_t h'_r fc / c
* LOS loss floored at free-space loss PL_fs = 20 log10(d) + 46.4 + 20 log10(fc / 5 GHz)
  (WINNER II D1.1.2 eq. 4.24), distances clamped to a minimum distance.
* NLOS (link blocked by buildings), Manhattan-grid form of the same model with the street
  distances d1, d2 taken along the ``map`` axes (streets assumed axis-aligned):
  PL(d_k, d_l) = PL_LOS(d_k) + 20 - 12.5 n_j + 10 n_j log10(d_l) + 3 log10(fc/GHz),
  n_j = max(2.8 - 0.0024 d_k, 1.84), PL_NLOS = min(PL(d1, d2), PL(d2, d1)), never below PL_LOS(d).

Shadowing is log-normal, drawn independently for every link and every transmitted frame
from the Generator handed in. Distances in metres, frequencies in Hz, powers in dBm or mW.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from cav_stack.core.params import validate_positive

SPEED_OF_LIGHT = 299_792_458.0  # m/s


@dataclass(frozen=True)
class ChannelParams:
    """Propagation and noise parameters of one radio channel.

    carrier_frequency [Hz]; antenna_height, environment_height, min_distance [m];
    shadowing_sigma_db / nlos_shadowing_sigma_db: log-normal shadowing std [dB] for LOS / NLOS
    links; noise_power_dbm: thermal noise incl. noise figure over ``reference_bandwidth`` [Hz].
    """

    carrier_frequency: float
    antenna_height: float
    environment_height: float
    min_distance: float
    shadowing_sigma_db: float
    nlos_shadowing_sigma_db: float
    noise_power_dbm: float
    reference_bandwidth: float

    def __post_init__(self) -> None:
        validate_positive(carrier_frequency=self.carrier_frequency, min_distance=self.min_distance,
                          reference_bandwidth=self.reference_bandwidth,
                          effective_antenna_height=self.antenna_height - self.environment_height)
        if self.shadowing_sigma_db < 0.0 or self.nlos_shadowing_sigma_db < 0.0:
            raise ValueError("shadowing standard deviations must be >= 0")

    @property
    def breakpoint_distance(self) -> float:
        """LOS breakpoint distance d_BP = 4 h'_t h'_r fc / c [m]."""
        h_eff = self.antenna_height - self.environment_height
        return 4.0 * h_eff * h_eff * self.carrier_frequency / SPEED_OF_LIGHT


def free_space_loss_db(distance: ArrayLike, carrier_frequency: float) -> np.ndarray:
    """Free-space path loss [dB] at ``distance`` [m] (WINNER II D1.1.2 eq. 4.24)."""
    d = np.asarray(distance, dtype=float)
    loss: np.ndarray = 20.0 * np.log10(d) + 46.4 + 20.0 * np.log10(carrier_frequency / 5.0e9)
    return loss


def los_path_loss_db(distance: ArrayLike, params: ChannelParams) -> np.ndarray:
    """WINNER+ B1 LOS path loss [dB] at ``distance`` [m], floored at free space."""
    d = np.maximum(np.abs(np.asarray(distance, dtype=float)), params.min_distance)
    log_d = np.log10(d)
    log_fc = math.log10(params.carrier_frequency / 1.0e9)
    h_eff = params.antenna_height - params.environment_height
    near = 22.7 * log_d + (27.0 + 20.0 * log_fc)
    far = 40.0 * log_d + (7.56 - 2.0 * 17.3 * math.log10(h_eff) + 2.7 * log_fc)
    free_space = 20.0 * log_d + (46.4 + 20.0 * math.log10(params.carrier_frequency / 5.0e9))
    loss: np.ndarray = np.maximum(np.where(d < params.breakpoint_distance, near, far), free_space)
    return loss


def nlos_path_loss_db(dx: ArrayLike, dy: ArrayLike, params: ChannelParams) -> np.ndarray:
    """WINNER+ B1 NLOS (Manhattan grid) path loss [dB] for street offsets dx, dy [m]."""
    d1 = np.maximum(np.abs(np.asarray(dx, dtype=float)), params.min_distance)
    d2 = np.maximum(np.abs(np.asarray(dy, dtype=float)), params.min_distance)
    fc_ghz = params.carrier_frequency / 1.0e9

    def corner(dk: np.ndarray, dl: np.ndarray) -> np.ndarray:
        nj = np.maximum(2.8 - 0.0024 * dk, 1.84)
        loss: np.ndarray = los_path_loss_db(dk, params) + 20.0 - 12.5 * nj + 10.0 * nj * np.log10(dl) \
            + 3.0 * np.log10(fc_ghz)
        return loss

    nlos = np.minimum(corner(d1, d2), corner(d2, d1))
    loss: np.ndarray = np.maximum(nlos, los_path_loss_db(np.hypot(d1, d2), params))
    return loss


def dbm_to_mw(power_dbm: ArrayLike) -> np.ndarray:
    """dBm to mW (element-wise)."""
    return np.power(10.0, np.asarray(power_dbm, dtype=float) / 10.0)


def mw_to_dbm(power_mw: ArrayLike) -> np.ndarray:
    """mW to dBm (element-wise); 0 mW maps to -inf."""
    with np.errstate(divide="ignore"):
        power_dbm: np.ndarray = 10.0 * np.log10(np.asarray(power_mw, dtype=float))
        return power_dbm


def noise_power_dbm(params: ChannelParams, occupied_bandwidth: float) -> float:
    """Noise power [dBm] over ``occupied_bandwidth`` [Hz], scaled from the reference bandwidth."""
    validate_positive(occupied_bandwidth=occupied_bandwidth)
    noise: float = params.noise_power_dbm + 10.0 * np.log10(occupied_bandwidth / params.reference_bandwidth)
    return noise


def sinr_db(signal_mw: ArrayLike, interference_mw: ArrayLike, noise_mw: float | np.ndarray) -> np.ndarray:
    """SINR [dB] = S / (N + I) from linear powers [mW] (element-wise)."""
    return mw_to_dbm(np.asarray(signal_mw) / (noise_mw + np.asarray(interference_mw)))


def links_blocked(tx_xy: ArrayLike, rx_xy: ArrayLike, obstacles: Sequence[np.ndarray]) -> np.ndarray:
    """Whether the straight segment from ``tx_xy`` (2,) to each row of ``rx_xy`` (n, 2) crosses
    an edge of any obstacle polygon (each an (m, 2) array of vertices in ``map`` [m])."""
    rx = np.asarray(rx_xy, dtype=float).reshape(-1, 2)
    p = np.asarray(tx_xy, dtype=float).reshape(1, 2)
    blocked = np.zeros(len(rx), dtype=bool)
    if not obstacles:
        return blocked
    a = np.concatenate([np.asarray(poly, dtype=float) for poly in obstacles])
    b = np.concatenate([np.roll(np.asarray(poly, dtype=float), -1, axis=0) for poly in obstacles])
    r = rx - p                                   # (n, 2) link directions
    s = b - a                                    # (e, 2) edge directions
    denom = r[:, None, 0] * s[None, :, 1] - r[:, None, 1] * s[None, :, 0]
    qp = a[None, :, :] - p[:, None, :]           # (1, e, 2)
    t_num = qp[..., 0] * s[None, :, 1] - qp[..., 1] * s[None, :, 0]
    u_num = qp[..., 0] * r[:, None, 1] - qp[..., 1] * r[:, None, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t_num / denom
        u = u_num / denom
    crosses = (denom != 0.0) & (t >= 0.0) & (t <= 1.0) & (u >= 0.0) & (u <= 1.0)
    blocked |= crosses.any(axis=1)
    return blocked


class Channel:
    """Received power of transmissions at many receivers, with fresh shadowing per link and frame.

    obstacles: building footprints as (m, 2) vertex arrays in ``map`` [m]; links whose straight
    line crosses one use the NLOS model and NLOS shadowing.
    """

    def __init__(self, params: ChannelParams, obstacles: Sequence[np.ndarray] = ()):
        self.params = params
        self.obstacles = [np.asarray(o, dtype=float) for o in obstacles]
        for poly in self.obstacles:
            if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3:
                raise ValueError("an obstacle must be an (m >= 3, 2) array of polygon vertices")

    def mean_path_loss_db(self, tx_xy: ArrayLike, rx_xy: ArrayLike, blocked: ArrayLike | None = None) -> np.ndarray:
        """Median path loss [dB] from each transmitter ``tx_xy`` (m, 2) to each receiver
        ``rx_xy`` (n, 2), shape (m, n).

        blocked: optional boolean (m, n) overriding the obstacle test (True: NLOS).
        """
        tx, rx = self._points(tx_xy, rx_xy)
        return self._path_loss(tx, rx, self._blocked(tx, rx, blocked))

    def received_power_dbm(self, tx_power_dbm: float, tx_xy: ArrayLike, rx_xy: ArrayLike, rng: np.random.Generator,
                           blocked: ArrayLike | None = None) -> np.ndarray:
        """Received power [dBm] (m, n) of one frame from each transmitter at each receiver,
        shadowing drawn independently per link."""
        tx, rx = self._points(tx_xy, rx_xy)
        nlos = self._blocked(tx, rx, blocked)
        sigma: float | np.ndarray = self.params.shadowing_sigma_db
        if nlos is not None:
            sigma = np.where(nlos, self.params.nlos_shadowing_sigma_db, sigma)
        shadow = rng.standard_normal((len(tx), len(rx))) * sigma
        return tx_power_dbm - self._path_loss(tx, rx, nlos) - shadow

    def _path_loss(self, tx: np.ndarray, rx: np.ndarray, blocked: np.ndarray | None) -> np.ndarray:
        dx = rx[None, :, 0] - tx[:, None, 0]
        dy = rx[None, :, 1] - tx[:, None, 1]
        pl: np.ndarray = los_path_loss_db(np.hypot(dx, dy), self.params)
        if blocked is not None:
            pl[blocked] = nlos_path_loss_db(dx[blocked], dy[blocked], self.params)
        return pl

    @staticmethod
    def _points(tx_xy: ArrayLike, rx_xy: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        tx = np.asarray(tx_xy, dtype=float)
        rx = np.asarray(rx_xy, dtype=float)
        if tx.ndim != 2 or tx.shape[1] != 2 or rx.ndim != 2 or rx.shape[1] != 2:
            raise ValueError(f"positions must be (m, 2) and (n, 2) arrays, got {tx.shape}, {rx.shape}")
        return tx, rx

    def _blocked(self, tx: np.ndarray, rx: np.ndarray, blocked: ArrayLike | None) -> np.ndarray | None:
        """NLOS mask (m, n), or None when every link is LOS."""
        mask: np.ndarray | None = None
        if blocked is not None:
            mask = np.asarray(blocked, dtype=bool)
            if mask.shape != (len(tx), len(rx)):
                raise ValueError(f"blocked must have shape ({len(tx)}, {len(rx)}), got {mask.shape}")
        elif self.obstacles:
            mask = np.stack([links_blocked(p, rx, self.obstacles) for p in tx])
        return mask if mask is not None and mask.any() else None
