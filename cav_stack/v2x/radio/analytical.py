"""Published analytical PDR models used to validate the simulated radios in the same run.

Scenario of both models: a straight road with vehicles evenly spaced at density beta [veh/m]
(receiver at the origin, transmitter at distance d, interferers every 1/beta metres out to
+-``interferer_range`` from the receiver), every vehicle broadcasting at ``rate`` [Hz].
The received power is log-normal around the WINNER+ B1 mean (:mod:`.channel`).

* C-V2X PC5 Mode 4: M. Gonzalez-Martin, M. Sepulcre, R. Molina-Masegosa, J. Gozalvez,
  "Analytical Models of the Performance of C-V2X Mode 4 Vehicular Communications",
  IEEE TVT 68(2), 2019, arXiv:1807.06508. Equation numbers below refer to that paper.
* IEEE 802.11p: M. Sepulcre, M. Gonzalez-Martin, J. Gozalvez, R. Molina-Masegosa,
  B. Coll-Perales, "Analytical Models of the Performance of IEEE 802.11p Vehicle to Vehicle
  Communications", IEEE TVT 71(1), 2022, arXiv:2104.07923 ("[S22] eq. n" below).

Expectations over the log-normal powers are computed with mid-point quantile rules (the
papers integrate discretised PDFs); spatial sums use a 1 m grid out to +-1500 m as the papers do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr, ndtri

from cav_stack.v2x.radio.channel import ChannelParams, los_path_loss_db, noise_power_dbm
from cav_stack.v2x.radio.error_curves import ErrorCurve, error_curve
from cav_stack.v2x.radio.outcomes import Outcome
from cav_stack.v2x.radio.profile import Cv2xParams, DsrcParams

GRID_HALF_LENGTH = 1500   # m: extent of the 1 m grid used for sensing sums and correlations
_SIGNAL_NODES = 48        # quantile nodes of the (truncated) received signal power
_INTERFERENCE_NODES = 24  # quantile nodes of the interference power
_STEP3_THRESHOLD_STEP_DB = 0.1  # threshold increment of the Step 3 search (as in the paper)


@dataclass(frozen=True, eq=False)
class AnalyticalPdr:
    """Analytical PDR and loss split against distance.

    distance [m] (D,); pdr (D,); losses: probability of each loss type (D,) keyed by
    :class:`Outcome`, so that pdr = 1 - sum(losses); cbr: channel busy ratio [0..1].
    """

    distance: np.ndarray
    pdr: np.ndarray
    losses: dict[Outcome, np.ndarray]
    cbr: float


def _sensing_probability(mean_power_dbm: ArrayLike, threshold_dbm: float, sigma_db: float) -> np.ndarray:
    """P(received power >= threshold) for log-normal power (Gonzalez-Martin eq. 11)."""
    probability: np.ndarray = ndtr((np.asarray(mean_power_dbm) - threshold_dbm) / sigma_db)
    return probability


def _mean_error(curve: ErrorCurve, signal_mean_dbm: ArrayLike, sigma_db: float, threshold_dbm: float,
                noise_dbm: float, offset_db: float, interference_mean_dbm: ArrayLike | None = None) -> np.ndarray:
    """E[curve(SINR + offset_db) | signal >= threshold] for log-normal signal and interference.

    signal_mean_dbm and interference_mean_dbm broadcast against each other; interference
    None means noise only (SNR). Implements Gonzalez-Martin eq. (13)/(17), [S22] eq. (24)/(30).
    """
    mu_s = np.asarray(signal_mean_dbm, dtype=float)[..., None]
    upper_tail = ndtr((mu_s - threshold_dbm) / sigma_db)
    frac = 1.0 - (np.arange(_SIGNAL_NODES) + 0.5) / _SIGNAL_NODES
    signal = mu_s - sigma_db * ndtri(np.maximum(upper_tail * frac, 1e-300))
    signal = np.maximum(signal, threshold_dbm)            # (..., Ks)
    noise_mw = 10.0 ** (noise_dbm / 10.0)
    if interference_mean_dbm is None:
        error: np.ndarray = curve(signal - noise_dbm + offset_db).mean(axis=-1)
        return error
    z = ndtri((np.arange(_INTERFERENCE_NODES) + 0.5) / _INTERFERENCE_NODES)
    mu_i = np.asarray(interference_mean_dbm, dtype=float)[..., None]
    interference_mw = 10.0 ** ((mu_i + sigma_db * z) / 10.0)          # (..., Ki)
    denom_db = 10.0 * np.log10(noise_mw + interference_mw)
    sinr = signal[..., :, None] - denom_db[..., None, :]
    error = curve(sinr + offset_db).mean(axis=(-2, -1))
    return error


def _grid_path_loss(channel: ChannelParams) -> np.ndarray:
    """Mean path loss [dB] to every point of the 1 m road grid, -1500..1500 m."""
    return los_path_loss_db(np.arange(-GRID_HALF_LENGTH, GRID_HALF_LENGTH + 1, dtype=float), channel)


def _interferer_offsets(density: float, interferer_range: float) -> np.ndarray:
    """Positions [m] of the evenly spaced vehicles around the receiver (itself excluded)."""
    k_max = int(round(interferer_range * density))
    k = np.concatenate([np.arange(-k_max, 0), np.arange(1, k_max + 1)])
    return k / density


def _psr_autocorrelation(psr: np.ndarray) -> np.ndarray:
    """R_PSR(lag) for lags 0, 1, ... [m] (Gonzalez-Martin eq. 30.2, [S22] eq. 20)."""
    full = np.correlate(psr, psr, mode="full")
    return full[len(psr) - 1:]


def _excluded_resources(sensed_vehicles: float, n_resources: float) -> float:
    """Mean number of excluded resources N_e (Gonzalez-Martin eq. 29 / 33)."""
    half = sensed_vehicles / 2.0
    k = np.arange(1, int(np.floor(half)) + 1)
    ne = half + np.maximum(1.0 - k / max(n_resources - half, 1e-9), 0.0).sum()
    return float(min(ne, n_resources))


def _validate_common(distances: ArrayLike, density: float, rate: float) -> np.ndarray:
    d = np.asarray(distances, dtype=float)
    if d.ndim != 1 or np.any(d < 0.0) or np.any(d > GRID_HALF_LENGTH - 500.0):
        raise ValueError(f"distances must be a 1-D array in [0, {GRID_HALF_LENGTH - 500}] m")
    if not density > 0.0 or not rate > 0.0:
        raise ValueError(f"density and rate must be > 0, got {density}, {rate}")
    return d


def cv2x_mode4_pdr(distances: ArrayLike, density: float, rate: float, params: Cv2xParams,
                   channel: ChannelParams, interferer_range: float = 1000.0) -> AnalyticalPdr:
    """Analytical PDR(d) of C-V2X Mode 4 (Gonzalez-Martin et al. 2019).

    distances [m]; density [veh/m]; rate: packets per second per vehicle [Hz] (the reservation
    period is 1/rate); interferer_range [m]. The reselection parameter tau of eq. (24) is the
    mean number of transmissions per reservation, mean(counter) / (1 - keep_probability),
    which equals the paper's tau = lambda = 10 for 100 ms reservations with P_keep = 0.
    """
    d = _validate_common(distances, density, rate)
    sigma = channel.shadowing_sigma_db
    pt = params.tx_power_dbm
    psen = params.sensing_threshold_dbm
    curve = error_curve(params.current_mcs.bler_curve)
    noise = noise_power_dbm(channel, params.occupied_bandwidth)
    pl_d = los_path_loss_db(d, channel)

    # Eq. (7): half-duplex, the receiver transmits in the same subframe.
    delta_hd = np.full(d.shape, rate * params.subframe)
    # Eq. (10): received power below the sensing threshold.
    delta_sen = 1.0 - _sensing_probability(pt - pl_d, psen, sigma)
    # Eq. (13): error with noise only, given the power is above the threshold.
    delta_pro = _mean_error(curve, pt - pl_d, sigma, psen, noise, 0.0)

    # Eq. (28): resources in one selection window; 20 % are candidates.
    n_res = params.subchannels / (rate * params.subframe)
    n_cand = params.candidate_fraction * n_res
    pl_grid = _grid_path_loss(channel)
    psr = _sensing_probability(pt - pl_grid, psen, sigma)                 # eq. (11)
    r_psr = _psr_autocorrelation(psr)                                      # eq. (30.2)
    spsr = density * psr.sum()                                             # eq. (29.1)
    ne2 = _excluded_resources(spsr, n_res)                                 # eq. (29)
    cbr = ne2 / n_res                                                      # eq. (34)

    # Step 3 threshold: raised until at least 20 % of the resources are available (eq. 32-33).
    th3 = psen
    while True:
        spsr_n = 2.0 * density * _sensing_probability(pt - pl_grid, th3, sigma).sum()
        ne3 = _excluded_resources(spsr_n, n_res)
        if n_res - ne3 >= n_cand:
            break
        th3 += _STEP3_THRESHOLD_STEP_DB

    x_i = _interferer_offsets(density, interferer_range)                   # interferers vs rx
    d_it = np.abs(x_i[None, :] + d[:, None])                               # interferer to tx
    lag = np.minimum(np.round(d_it).astype(int), len(r_psr) - 1)
    pl_ir = los_path_loss_db(x_i, channel)
    pl_it = los_path_loss_db(d_it, channel)
    tau = 0.5 * (params.reselection_counter_min + params.reselection_counter_max) \
        / (1.0 - params.keep_probability)

    p_int = np.zeros((len(d), len(x_i)))
    for j in range(len(d)):
        if delta_pro[j] >= 1.0:
            continue
        p_sinr = _mean_error(curve, pt - pl_d[j], sigma, psen, noise, 0.0, pt - pl_ir)  # eq. (17)
        p_int[j] = np.clip((p_sinr - delta_pro[j]) / (1.0 - delta_pro[j]), 0.0, 1.0)  # eq. (18)

    def collision(ne: float, threshold: float) -> np.ndarray:
        na = n_res - ne
        ce = (r_psr / r_psr[0]) * (density * ne * r_psr[0] / spsr - ne * ne / n_res) \
            + ne * ne / n_res                                                   # eq. (30)
        cc = (n_res - 2.0 * ne + ce) * (n_cand / na) ** 2                       # eq. (26)-(27)
        p_s = 1.0 - (1.0 - 1.0 / tau) * _sensing_probability(pt - pl_it, threshold, sigma)  # (24)
        p_sim = p_s * cc[lag] / n_cand ** 2                                     # eq. (23)/(31)
        p_interfered: np.ndarray = 1.0 - np.prod(1.0 - p_sim * p_int, axis=1)                       # eq. (14)-(15)
        return p_interfered

    alpha = float(np.clip(2.0 * cbr - 0.4, 0.0, 1.0))                          # eq. (22)
    col2 = collision(ne2, psen) if alpha > 0.0 else np.zeros(d.shape)
    col3 = collision(ne3, th3) if alpha < 1.0 else np.zeros(d.shape)
    delta_col = alpha * col2 + (1.0 - alpha) * col3                            # eq. (21)

    survive = 1.0 - delta_hd
    losses = {Outcome.HALF_DUPLEX: delta_hd}                                   # eq. (6.1)-(6.5)
    losses[Outcome.SENSING] = delta_sen * survive
    survive = survive * (1.0 - delta_sen)
    losses[Outcome.PROPAGATION] = delta_pro * survive
    survive = survive * (1.0 - delta_pro)
    losses[Outcome.COLLISION] = delta_col * survive
    pdr = cast(np.ndarray, 1.0 - sum(losses.values()))                        # eq. (6)
    return AnalyticalPdr(d, pdr, losses, cbr)


def dsrc_pdr(distances: ArrayLike, density: float, rate: float, packet_bytes: int, params: DsrcParams,
             channel: ChannelParams, interferer_range: float = 1000.0) -> AnalyticalPdr:
    """Analytical PDR(d) of IEEE 802.11p broadcast (Sepulcre et al. 2022).

    distances [m]; density [veh/m]; rate [Hz]; packet_bytes: payload B [bytes];
    interferer_range [m].
    """
    d = _validate_common(distances, density, rate)
    sigma = channel.shadowing_sigma_db
    pt = params.tx_power_dbm
    pcs = params.carrier_sense_threshold_dbm
    curve = error_curve(params.fer_curve)
    noise = noise_power_dbm(channel, params.bandwidth)
    ebno_offset = 10.0 * np.log10(params.bandwidth / params.data_rate)       # Eb/N0 = SINR + this
    t_tr = params.airtime(packet_bytes)
    pl_d = los_path_loss_db(d, channel)

    pl_grid = _grid_path_loss(channel)
    psr = _sensing_probability(pt - pl_grid, pcs, sigma)                     # [S22] eq. (13)
    cbr_u = density * rate * t_tr * psr.sum()                                # [S22] eq. (34)
    cbr = -0.2481 * cbr_u ** 2 + 0.913 * cbr_u + 0.003844                    # [S22] eq. (35)
    r_psr = _psr_autocorrelation(psr)
    r_norm = r_psr / r_psr[0]                                                # [S22] eq. (20)

    delta_sen = 1.0 - _sensing_probability(pt - pl_d, pcs, sigma)            # [S22] eq. (12)
    delta_pro = _mean_error(curve, pt - pl_d, sigma, pcs, noise, ebno_offset)  # [S22] eq. (24)

    x_i = _interferer_offsets(density, interferer_range)
    d_it = np.abs(x_i[None, :] + d[:, None])
    lag = np.minimum(np.round(d_it).astype(int), len(r_norm) - 1)
    p_det_ir = _sensing_probability(pt - los_path_loss_db(x_i, channel), pcs, sigma)[None, :]
    p_det_it = _sensing_probability(pt - los_path_loss_db(d_it, channel), pcs, sigma)
    den = 1.0 - cbr * r_norm[lag]
    closer = np.abs(x_i)[None, :] < d[:, None]

    p_int = np.zeros((len(d), len(x_i)))
    pl_ir = los_path_loss_db(x_i, channel)
    for j in range(len(d)):
        if delta_pro[j] >= 1.0:
            continue
        p_sinr = _mean_error(curve, pt - pl_d[j], sigma, pcs, noise, ebno_offset, pt - pl_ir)  # (30)
        p_int[j] = np.clip((p_sinr - delta_pro[j]) / (1.0 - delta_pro[j]), 0.0, 1.0)        # (31)

    p_sim_ct = params.slot_time * rate * p_det_it / den                      # [S22] eq. (22)
    p_rxb_ct = np.where(closer, p_sim_ct * p_det_ir, 0.0)                     # [S22] eq. (21)
    p_rxb_ht = t_tr * rate * p_det_ir * (1.0 - p_det_it) / den                # [S22] eq. (16)
    p_col_ct = np.where(closer, 0.0, p_int * p_sim_ct)                        # [S22] eq. (32)
    p_sim_ht = t_tr * rate * (1.0 - p_det_it) / den                           # [S22] eq. (18)
    p_col_ht = p_int * p_sim_ht * (2.0 - p_det_ir)                            # [S22] eq. (28)
    rxb = 1.0 - np.prod(1.0 - (p_rxb_ct + p_rxb_ht), axis=1)                  # [S22] eq. (14)
    col = 1.0 - np.prod(1.0 - (p_col_ct + p_col_ht), axis=1)                  # [S22] eq. (26)

    losses = {Outcome.SENSING: delta_sen}                                     # [S22] eq. (3)-(6)
    losses[Outcome.RECEIVER_BUSY] = rxb * (1.0 - delta_sen)
    losses[Outcome.PROPAGATION] = delta_pro * (1.0 - delta_sen) * (1.0 - rxb)
    losses[Outcome.COLLISION] = col * (1.0 - delta_sen) * (1.0 - rxb) * (1.0 - delta_pro)
    pdr = cast(np.ndarray, 1.0 - sum(losses.values()))                       # [S22] eq. (1)
    return AnalyticalPdr(d, pdr, losses, float(cbr))
