"""PDR-versus-distance experiment of the V2X radio models, validated against analytical models.

The experiment (run by ``cav-stack v2x-pdr``, :mod:`cav_stack.app.v2x_pdr_command`): a straight
highway with vehicles evenly spaced at ``--density`` [veh/m]
on one line (both directions of transmission), all broadcasting ``--packet-bytes`` at
``--rate-hz`` (vehicle v's packet j is generated at (j + phase_v) / rate plus an independent
uniform jitter of up to ``GENERATION_JITTER``, so that the relative timing of two vehicles is not
locked for the whole run: the analytical models assume independent packet timing, and without
the jitter a run's 802.11p hidden-terminal overlaps depend on one draw of the phases).
Statistics are taken only at receivers within +-``RECEIVER_HALF_WIDTH`` of the
road centre; the road extends ``ROAD_MARGIN`` beyond them so that every transmitter within
500 m of a receiver sees interferers and sensing neighbours out to 1000 m, as the analytical
models assume. Outcomes are binned to the nearest 25 m distance step, 0..500 m.

The CSV has ``distance_m``, ``pdr``, one ``loss_<type>`` column per loss type, then
``analytical_pdr`` and ``analytical_loss_<type>``, and ``samples`` (packets in the bin).
A bin without any vehicle pair (0 m when vehicles are more than 12.5 m apart) has empty
simulated cells.
"""
from __future__ import annotations

import csv
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cav_stack.v2x.radio.analytical import AnalyticalPdr, cv2x_mode4_pdr, dsrc_pdr
from cav_stack.v2x.radio.channel import Channel
from cav_stack.v2x.radio.cv2x import Cv2xMode4
from cav_stack.v2x.radio.dsrc import Dsrc
from cav_stack.v2x.radio.outcomes import LOSS_TYPES, Outcome
from cav_stack.v2x.radio.profile import Cv2xParams, DsrcParams, RadioProfile

DISTANCE_STEP = 25.0        # m
MAX_DISTANCE = 500.0        # m
RECEIVER_HALF_WIDTH = 250.0  # m: receivers counted in [-250, 250] m
ROAD_MARGIN = 1500.0        # m: road beyond the receiver region (500 m link + 1000 m interferers)
GENERATION_JITTER = 0.005   # s: independent per-packet jitter on each vehicle's periodic grid


@dataclass(frozen=True, eq=False)
class SimulatedPdr:
    """Simulated PDR and loss split per distance bin.

    distance [m] (D,); pdr (D,); losses: share of packets lost per :class:`Outcome` (D,);
    samples: packets per bin (D,); sim_time: simulated time [s] incl. warm-up;
    cpu_time: processor time the simulation took [s]; n_vehicles: vehicles on the road.
    """

    distance: np.ndarray
    pdr: np.ndarray
    losses: dict[Outcome, np.ndarray]
    samples: np.ndarray
    sim_time: float
    cpu_time: float
    n_vehicles: int


def _cv2x(profile: RadioProfile) -> Cv2xParams:
    assert profile.cv2x is not None  # RadioProfile checks that its technology's parameters are set
    return profile.cv2x


def _dsrc(profile: RadioProfile) -> DsrcParams:
    assert profile.dsrc is not None  # RadioProfile checks that its technology's parameters are set
    return profile.dsrc


def configure(profile: RadioProfile, power_dbm: float | None = None, subchannels: int | None = None,
              data_rate: float | None = None, rate: float | None = None,
              candidate_ranking: str | None = None) -> RadioProfile:
    """Return ``profile`` with the experiment's overrides applied (None keeps the YAML value).

    power_dbm [dBm]; subchannels (C-V2X S); data_rate [bit/s] (DSRC); rate [Hz]: packet rate,
    which sets the C-V2X reservation period to 1/rate; candidate_ranking: C-V2X Step 3 ranking.
    Raises ValueError for an override of the other technology or an invalid value.
    """
    if profile.technology == "cv2x":
        if data_rate is not None:
            raise ValueError("data_rate applies to 802.11p only")
        changes: dict[str, Any] = {}
        if power_dbm is not None:
            changes["tx_power_dbm"] = power_dbm
        if subchannels is not None:
            changes["subchannels"] = subchannels
        if rate is not None:
            changes["reservation_period"] = 1.0 / rate
        if candidate_ranking is not None:
            changes["candidate_ranking"] = candidate_ranking
        return dataclasses.replace(profile, cv2x=dataclasses.replace(_cv2x(profile), **changes))
    if subchannels is not None or candidate_ranking is not None:
        raise ValueError("subchannels and candidate_ranking apply to C-V2X only")
    changes = {}
    if power_dbm is not None:
        changes["tx_power_dbm"] = power_dbm
    if data_rate is not None:
        changes["data_rate"] = data_rate
    return dataclasses.replace(profile, dsrc=dataclasses.replace(_dsrc(profile), **changes))


def highway_positions(density: float, half_length: float) -> np.ndarray:
    """Evenly spaced vehicles [m] on the x axis of ``map``, symmetric about 0, (n, 2)."""
    n_side = int(np.floor(half_length * density))
    x = np.arange(-n_side, n_side + 1) / density
    return np.column_stack([x, np.zeros_like(x)])


def make_access_model(profile: RadioProfile, n_slots: int):
    """The access/reception model of ``profile``'s technology for ``n_slots`` stations."""
    channel = Channel(profile.channel)
    if profile.technology == "cv2x":
        return Cv2xMode4(_cv2x(profile), channel, n_slots)
    return Dsrc(_dsrc(profile), channel, n_slots)


def simulate_pdr(profile: RadioProfile, density: float, rate: float, packet_bytes: int,
                 duration: float, warmup: float, rng: np.random.Generator) -> SimulatedPdr:
    """Simulate the highway for ``warmup + duration`` [s] and bin outcomes after the warm-up."""
    if not density > 0.0 or not rate > 0.0 or not duration > 0.0 or warmup < 0.0 or packet_bytes < 1:
        raise ValueError("need density > 0, rate > 0, duration > 0, warmup >= 0, packet_bytes >= 1")
    positions = highway_positions(density, RECEIVER_HALF_WIDTH + ROAD_MARGIN)
    n = len(positions)
    active = np.ones(n, dtype=bool)
    model = make_access_model(profile, n)
    central = np.flatnonzero(np.abs(positions[:, 0]) <= RECEIVER_HALF_WIDTH)
    n_bins = int(round(MAX_DISTANCE / DISTANCE_STEP)) + 1
    n_codes = max(Outcome) + 1
    counts = np.zeros(n_bins * n_codes, dtype=np.int64)
    period = 1.0 / rate
    phase = rng.uniform(0.0, period, n)
    n_periods = int(np.ceil((warmup + duration) / period))
    start_clock = time.process_time()
    packet = 0
    for j in range(n_periods):
        generated = j * period + phase + rng.uniform(0.0, GENERATION_JITTER, n)
        for slot in range(n):
            model.enqueue(slot, float(generated[slot]), packet, packet_bytes)
            packet += 1
        for report in model.advance((j + 1) * period, positions, active, rng):
            if report.start < warmup:
                continue
            outcome = report.outcome[central]
            dist = np.abs(positions[central, 0] - positions[report.sender, 0])
            b = np.rint(dist / DISTANCE_STEP).astype(np.int64)
            keep = (b < n_bins) & (outcome >= 0)
            counts += np.bincount(b[keep] * n_codes + outcome[keep], minlength=len(counts))
    cpu = time.process_time() - start_clock
    table = counts.reshape(n_bins, n_codes)
    samples = table.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = table / samples[:, None]            # NaN where no vehicle pair is in the bin
    losses = {code: share[:, code] for code in LOSS_TYPES[profile.technology]}
    return SimulatedPdr(np.arange(n_bins) * DISTANCE_STEP, share[:, Outcome.DELIVERED], losses,
                        samples, n_periods * period, cpu, n)


def analytical_pdr(profile: RadioProfile, density: float, rate: float, packet_bytes: int,
                   distances: np.ndarray) -> AnalyticalPdr:
    """The published analytical model matching ``profile``'s technology."""
    if profile.technology == "cv2x":
        return cv2x_mode4_pdr(distances, density, rate, _cv2x(profile), profile.channel)
    return dsrc_pdr(distances, density, rate, packet_bytes, _dsrc(profile), profile.channel)


def max_deviation(sim: SimulatedPdr, ref: AnalyticalPdr) -> float:
    """max |PDR_sim - PDR_analytical| over the distance bins that hold packets."""
    return float(np.nanmax(np.abs(sim.pdr - ref.pdr)))


def write_csv(path: str | Path, technology: str, sim: SimulatedPdr, ref: AnalyticalPdr) -> None:
    """Write the simulated and analytical curves (columns in the module docstring)."""
    names = [code.name.lower() for code in LOSS_TYPES[technology]]
    header = ["distance_m", "pdr"] + [f"loss_{n}" for n in names] + ["analytical_pdr"] \
        + [f"analytical_loss_{n}" for n in names] + ["samples"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, d in enumerate(sim.distance):
            row = [f"{d:g}", _cell(sim.pdr[i])] + [_cell(sim.losses[c][i]) for c in LOSS_TYPES[technology]]
            row += [f"{ref.pdr[i]:.5f}"] + [f"{ref.losses[c][i]:.5f}" for c in LOSS_TYPES[technology]]
            row += [str(int(sim.samples[i]))]
            writer.writerow(row)


def _cell(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.5f}"
