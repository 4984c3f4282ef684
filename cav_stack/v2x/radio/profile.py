"""Radio profiles: which technology a scenario uses and its parameters (``v2x/radio_*.yaml``).

Files use the ROS 2 layout ``radio_medium: ros__parameters: {...}``; times carry the ``_ms``
suffix in YAML and are seconds here, powers are dBm, rates bit/s, bandwidths Hz.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cav_stack.core.params import load_node_params, validate_positive
from cav_stack.v2x.radio.channel import ChannelParams
from cav_stack.v2x.radio.error_curves import error_curve

NODE_NAME = "radio_medium"
TECHNOLOGIES = ("dsrc", "cv2x")
CANDIDATE_RANKINGS = ("s_rssi", "random")


@dataclass(frozen=True)
class DsrcParams:
    """IEEE 802.11p broadcast with EDCA channel access.

    tx_power_dbm [dBm]; data_rate [bit/s]; bandwidth [Hz]; carrier_sense_threshold_dbm: power
    [dBm] above which a frame is detected (medium busy, receiver can lock on it);
    slot_time, sifs, phy_overhead [s] (PLCP preamble + SIGNAL); header_bytes: MAC/PHY header
    added to the payload; aifsn, cw_min: EDCA access category parameters;
    fer_curve: name of the FER vs Eb/N0 curve; queue_length: frames a station buffers
    (oldest dropped beyond it); cbr_window [s]: channel-busy-ratio measurement window.
    """

    tx_power_dbm: float
    data_rate: float
    bandwidth: float
    carrier_sense_threshold_dbm: float
    slot_time: float
    sifs: float
    phy_overhead: float
    header_bytes: int
    aifsn: int
    cw_min: int
    fer_curve: str
    queue_length: int
    cbr_window: float

    def __post_init__(self) -> None:
        validate_positive(data_rate=self.data_rate, bandwidth=self.bandwidth, slot_time=self.slot_time,
                          sifs=self.sifs, cbr_window=self.cbr_window, queue_length=self.queue_length)
        if self.aifsn < 1 or self.cw_min < 0 or self.header_bytes < 0 or self.phy_overhead < 0:
            raise ValueError("need aifsn >= 1, cw_min >= 0, header_bytes >= 0, phy_overhead >= 0")
        error_curve(self.fer_curve)

    @property
    def aifs(self) -> float:
        """Arbitration inter-frame space SIFS + AIFSN * slot [s]."""
        return self.sifs + self.aifsn * self.slot_time

    def airtime(self, payload_bytes: int) -> float:
        """Frame duration 40 us + (B + header) * 8 / R [s] for a ``payload_bytes`` payload."""
        return self.phy_overhead + (payload_bytes + self.header_bytes) * 8.0 / self.data_rate


@dataclass(frozen=True)
class Cv2xMcs:
    """Transport format of one sub-channel configuration: data resource blocks and BLER curve."""

    data_resource_blocks: int
    bler_curve: str

    def __post_init__(self) -> None:
        validate_positive(data_resource_blocks=self.data_resource_blocks)
        error_curve(self.bler_curve)


@dataclass(frozen=True)
class Cv2xParams:
    """C-V2X PC5 Mode 4 with sensing-based semi-persistent scheduling (3GPP TS 36.213 14.1.1.6).

    tx_power_dbm [dBm]; sensing_threshold_dbm: power below which neither data nor SCI is
    decoded [dBm]; rsrp_threshold_dbm: initial RSRP exclusion threshold [dBm], raised by
    rsrp_threshold_step_db until candidate_fraction of the resources remain; subframe,
    reservation_period, sensing_window [s]; subchannels: sub-channels per subframe (S);
    resource_blocks: RBs in the channel; bandwidth [Hz]; mcs: transport format per value of S
    (keys are S as text); reselection_counter_min/max: range of the reselection counter;
    keep_probability: probability of keeping the resource when the counter expires;
    cbr_rssi_threshold_dbm: S-RSSI [dBm] above which a sub-channel counts as busy;
    queue_length: packets a station buffers (oldest dropped beyond it);
    candidate_ranking: how Step 3 forms the candidate set from the resources left after the RSRP
    exclusion: ``s_rssi`` (TS 36.213: the lowest sensing-window S-RSSI) or ``random`` (a uniform
    random subset, the assumption behind eq. (26) of Gonzalez-Martin et al. 2019).
    """

    tx_power_dbm: float
    sensing_threshold_dbm: float
    rsrp_threshold_dbm: float
    rsrp_threshold_step_db: float
    subframe: float
    reservation_period: float
    sensing_window: float
    subchannels: int
    resource_blocks: int
    bandwidth: float
    candidate_fraction: float
    reselection_counter_min: int
    reselection_counter_max: int
    keep_probability: float
    cbr_rssi_threshold_dbm: float
    queue_length: int
    candidate_ranking: str
    mcs: dict[str, Cv2xMcs]

    def __post_init__(self) -> None:
        validate_positive(subframe=self.subframe, reservation_period=self.reservation_period,
                          sensing_window=self.sensing_window, subchannels=self.subchannels,
                          resource_blocks=self.resource_blocks, bandwidth=self.bandwidth,
                          rsrp_threshold_step_db=self.rsrp_threshold_step_db,
                          queue_length=self.queue_length)
        if str(self.subchannels) not in self.mcs:
            raise ValueError(f"no mcs entry for subchannels = {self.subchannels} "
                             f"(have: {', '.join(sorted(self.mcs)) or 'none'})")
        if not 0.0 < self.candidate_fraction <= 1.0 or not 0.0 <= self.keep_probability < 1.0:
            raise ValueError("need 0 < candidate_fraction <= 1 and 0 <= keep_probability < 1")
        if not 1 <= self.reselection_counter_min <= self.reselection_counter_max:
            raise ValueError("need 1 <= reselection_counter_min <= reselection_counter_max")
        if self.candidate_ranking not in CANDIDATE_RANKINGS:
            raise ValueError(f"candidate_ranking must be one of {CANDIDATE_RANKINGS}, "
                             f"got {self.candidate_ranking!r}")
        if self.sensing_window < self.reservation_period:
            raise ValueError("sensing_window must be >= reservation_period")

    @property
    def current_mcs(self) -> Cv2xMcs:
        """Transport format for the configured number of sub-channels."""
        return self.mcs[str(self.subchannels)]

    @property
    def subframes_per_period(self) -> int:
        """Subframes in one reservation period (selection window length)."""
        return int(round(self.reservation_period / self.subframe))

    @property
    def occupied_bandwidth(self) -> float:
        """Bandwidth of the data resource blocks of one packet [Hz] (noise is scaled to it)."""
        return self.bandwidth * self.current_mcs.data_resource_blocks / self.resource_blocks


@dataclass(frozen=True)
class RadioProfile:
    """A scenario's radio: technology (``dsrc`` or ``cv2x``), channel and access parameters.

    max_stations: node slots the medium allocates (stations present at the same time);
    access_jitter [s]: a payload queued at a tick reaches the access layer after a uniform
    delay in [0, access_jitter] (stack-to-radio hand-over), so that stations whose applications
    run on the same tick do not contend in lock-step;
    clock_phase_spread [s]: each station's frames also reach it a fixed offset after the tick,
    drawn once per station uniformly in [0, clock_phase_spread): the phase of the vehicle's own
    clock against the simulation's tick. Vehicles' clocks are independent, so their periodic
    messages spread over the period (the validation set-up draws uniform generation phases);
    without it every station of a co-simulation would hand its frames over in the same few
    milliseconds after each tick.
    """

    technology: str
    max_stations: int
    access_jitter: float
    clock_phase_spread: float
    channel: ChannelParams
    dsrc: DsrcParams | None = None
    cv2x: Cv2xParams | None = None

    def __post_init__(self) -> None:
        if self.technology not in TECHNOLOGIES:
            raise ValueError(f"technology must be one of {TECHNOLOGIES}, got {self.technology!r}")
        if getattr(self, self.technology) is None:
            raise ValueError(f"technology {self.technology!r} needs a '{self.technology}' section")
        validate_positive(max_stations=self.max_stations)
        if self.access_jitter < 0.0:
            raise ValueError(f"access_jitter must be >= 0, got {self.access_jitter}")
        if self.clock_phase_spread < 0.0:
            raise ValueError(f"clock_phase_spread must be >= 0, got {self.clock_phase_spread}")


def load_radio_profile(path: str | Path) -> RadioProfile:
    """Load a radio profile YAML (``radio_medium: ros__parameters:``); raises ParamsError."""
    return load_node_params(path, NODE_NAME, RadioProfile)
