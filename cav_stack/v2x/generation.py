"""When and with which identity a station sends messages, and SPaT content for the RSU side.

Generation rules: ETSI EN 302 637-2 V1.4.1 (2019-04) clause 6.1.3 CAM triggers, applied to
the BSM. A message is due when the time since the last one reaches T_GenCamDcc (the DCC
gate, from the channel busy ratio) and either
  1. heading changed > 4 deg, position > 4 m or speed > 0.5 m/s since the last one
     (T_GenCam then becomes the elapsed time), or
  2. the elapsed time reaches T_GenCam (after N_GenCam such messages in a row,
     T_GenCam returns to T_GenCamMax).
All intervals are bounded by T_GenCamMin = 100 ms and T_GenCamMax = 1 s (1..10 Hz).
T_GenCamDcc is the reactive-DCC packet interval T_off of the CBR state
(ETSI TS 102 687 V1.2.1 (2018-04), Table A.2); thresholds and values live in YAML.

Identity (SAE J2735 (2016-03) DE_TemporaryID, DE_MsgCount): the temporary ID is random
and changes (here: after a configurable time AND distance, as J2945/1 links ID changes to
certificate changes); MsgCount counts 0..127 per message type and restarts at a random
value whenever the ID changes.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cav_stack.core.frames import wrap_angle
from cav_stack.core.messages import MAP_FRAME, EgoState, Header
from cav_stack.core.params import validate_positive
from cav_stack.core.truth import SignalTruth
from cav_stack.v2x.geodesy import GeodeticOrigin
from cav_stack.v2x.messages import (
    IntersectionSignalState,
    MovementEvent,
    MovementPhase,
    SignalGroupState,
    SpatMessage,
)

_EPS = 1e-9   # [s] tolerance on interval comparisons at tick boundaries


@dataclass(frozen=True)
class MessageGenerationParams:
    """Tunables of message generation (``generation`` in ``v2x/v2x_node.yaml``), SI units.

    heading_threshold [rad], position_threshold [m], speed_threshold [m/s]: CAM dynamics
    triggers; min_interval, max_interval [s]: T_GenCamMin, T_GenCamMax; n_gen_cam: N_GenCam;
    dcc_cbr_thresholds: ascending CBR bounds [0..1] between DCC states; dcc_intervals [s]:
    T_off per DCC state (one more than thresholds); id_change_interval [s] and
    id_change_distance [m]: both must be exceeded before the temporary ID changes;
    origin_latitude, origin_longitude [rad], origin_altitude [m]: fixed geodetic origin of
    ``map`` for maps without geo-reference.
    """

    heading_threshold: float
    position_threshold: float
    speed_threshold: float
    min_interval: float
    max_interval: float
    n_gen_cam: int
    dcc_cbr_thresholds: tuple[float, ...]
    dcc_intervals: tuple[float, ...]
    id_change_interval: float
    id_change_distance: float
    origin_latitude: float
    origin_longitude: float
    origin_altitude: float

    def __post_init__(self) -> None:
        validate_positive(heading_threshold=self.heading_threshold,
                          position_threshold=self.position_threshold,
                          speed_threshold=self.speed_threshold, min_interval=self.min_interval,
                          max_interval=self.max_interval, n_gen_cam=self.n_gen_cam,
                          id_change_interval=self.id_change_interval)
        if self.max_interval < self.min_interval:
            raise ValueError("max_interval must be >= min_interval")
        if len(self.dcc_intervals) != len(self.dcc_cbr_thresholds) + 1:
            raise ValueError("dcc_intervals needs one entry more than dcc_cbr_thresholds")
        if list(self.dcc_cbr_thresholds) != sorted(self.dcc_cbr_thresholds):
            raise ValueError("dcc_cbr_thresholds must be ascending")
        if self.id_change_distance < 0.0:
            raise ValueError("id_change_distance must be >= 0")

    def origin(self) -> GeodeticOrigin:
        """The fixed geodetic origin of ``map``."""
        return GeodeticOrigin(self.origin_latitude, self.origin_longitude, self.origin_altitude)


@dataclass(frozen=True)
class _Sent:
    time: float
    x: float
    y: float
    yaw: float
    speed: float


class BsmScheduler:
    """Decides, tick by tick, whether the ego sends a BSM (ETSI CAM triggers, module doc)."""

    def __init__(self, params: MessageGenerationParams):
        self.params = params
        self._last: _Sent | None = None
        self._t_gen_cam = params.max_interval
        self._periodic_in_row = 0

    def dcc_interval(self, cbr: float) -> float:
        """T_GenCamDcc [s] for a channel busy ratio ``cbr`` in [0, 1]."""
        if not 0.0 <= cbr <= 1.0:
            raise ValueError(f"channel busy ratio {cbr} is outside [0, 1]")
        state = sum(1 for bound in self.params.dcc_cbr_thresholds if cbr >= bound)
        t_off = self.params.dcc_intervals[state]
        return min(max(t_off, self.params.min_interval), self.params.max_interval)

    def should_send(self, now: float, ego: EgoState, cbr: float, cooperative: bool = False) -> bool:
        """True when a BSM is due at ``now`` [s]; the scheduler then counts it as sent.

        ego: current state in ``map``; cbr: channel busy ratio [0..1] measured by the radio;
        cooperative: the station takes part in cooperative driving (CACC, platooning) and sends
        at the highest rate congestion control allows (T_GenCamDcc), not on dynamics triggers:
        platooning needs 10 Hz awareness (ETSI TR 103 299 V2.1.1, clause 5).
        """
        last = self._last
        if last is None:
            self._record(now, ego)
            return True
        elapsed = now - last.time
        if elapsed + _EPS < self.dcc_interval(cbr):
            return False
        p = self.params
        if cooperative:
            self._record(now, ego)
            return True
        moved = (abs(wrap_angle(ego.yaw - last.yaw)) > p.heading_threshold
                 or math.hypot(ego.x - last.x, ego.y - last.y) > p.position_threshold
                 or abs(ego.speed - last.speed) > p.speed_threshold)
        if moved:
            self._t_gen_cam = min(max(elapsed, p.min_interval), p.max_interval)
            self._periodic_in_row = 0
        elif elapsed + _EPS >= self._t_gen_cam:
            self._periodic_in_row += 1
            if self._periodic_in_row >= p.n_gen_cam:
                self._t_gen_cam = p.max_interval
        else:
            return False
        self._record(now, ego)
        return True

    def _record(self, now: float, ego: EgoState) -> None:
        self._last = _Sent(now, ego.x, ego.y, ego.yaw, ego.speed)


class StationIdentity:
    """Temporary ID and per-message-type MsgCount of one station (J2735 rules, module doc)."""

    def __init__(self, params: MessageGenerationParams, rng: np.random.Generator):
        self.params = params
        self._rng = rng
        self.station_id = self._new_id()
        self._counts: dict[str, int] = {}
        self._since_time: float | None = None
        self._since_xy: tuple[float, float] | None = None
        self._distance = 0.0

    def _new_id(self) -> int:
        return int(self._rng.integers(0, 2 ** 32))

    def update(self, now: float, ego: EgoState) -> bool:
        """Accumulate travel; change the ID when both interval and distance are exceeded.

        Returns True when the ID changed (then every MsgCount restarts at a random value).
        """
        if self._since_time is None or self._since_xy is None:
            self._since_time, self._since_xy = now, (ego.x, ego.y)
            return False
        self._distance += math.hypot(ego.x - self._since_xy[0], ego.y - self._since_xy[1])
        self._since_xy = (ego.x, ego.y)
        if (now - self._since_time < self.params.id_change_interval
                or self._distance < self.params.id_change_distance):
            return False
        self.renew(now)
        return True

    def renew(self, now: float) -> None:
        """Change the ID now [s] (and restart every MsgCount at a random value): with the ID rules
        above, or when the station's pseudonym certificate changes (all identifiers change together)."""
        previous = self.station_id
        while self.station_id == previous:
            self.station_id = self._new_id()
        self._since_time, self._distance = now, 0.0
        self._counts = {name: int(self._rng.integers(0, 128)) for name in self._counts}

    def next_msg_count(self, message_type: str) -> int:
        """MsgCount (0..127) for the next message of ``message_type`` (``BSM``, ``MANEUVER``...)."""
        count = self._counts.get(message_type)
        count = int(self._rng.integers(0, 128)) if count is None else (count + 1) % 128
        self._counts[message_type] = count
        return count


#: SUMO link state character -> J2735 MovementPhaseState (SUMO docs, "Traffic Lights",
#: signal state definitions; J2735 DE_MovementPhaseState).
SUMO_STATE_TO_PHASE: dict[str, MovementPhase] = {
    "r": MovementPhase.STOP_AND_REMAIN,
    "R": MovementPhase.STOP_AND_REMAIN,
    "y": MovementPhase.PROTECTED_CLEARANCE,
    "Y": MovementPhase.PROTECTED_CLEARANCE,
    "g": MovementPhase.PERMISSIVE_MOVEMENT_ALLOWED,
    "G": MovementPhase.PROTECTED_MOVEMENT_ALLOWED,
    "s": MovementPhase.STOP_THEN_PROCEED,
    "u": MovementPhase.PRE_MOVEMENT,
    "o": MovementPhase.CAUTION_CONFLICTING_TRAFFIC,
    "O": MovementPhase.DARK,
}


def _phase_of(char: str, link: int) -> MovementPhase:
    try:
        return SUMO_STATE_TO_PHASE[char]
    except KeyError:
        raise ValueError(f"link {link}: unknown SUMO signal state {char!r}") from None


def _link_events(link: int, signal: SignalTruth,
                 program: Sequence[tuple[str, float]] | None) -> tuple[MovementEvent, ...]:
    char = signal.state[link]
    if not program:
        return (MovementEvent(_phase_of(char, link), min_end_time=signal.next_switch),)
    events, end, index, current = [], signal.next_switch, signal.phase_index, char
    for _ in range(len(program)):   # one cycle ahead at most
        index = (index + 1) % len(program)
        state, duration = program[index]
        if state[link] == current:
            end += duration
            continue
        events.append(MovementEvent(_phase_of(current, link), min_end_time=end, max_end_time=end,
                                    likely_time=end))
        if len(events) == 2:
            return tuple(events)
        current = state[link]
        end += duration
    if not events:   # the link never changes in the program
        return (MovementEvent(_phase_of(char, link), min_end_time=end),)
    return tuple(events)


def spat_from_signal(signal: SignalTruth, *, now: float, intersection_id: int, revision: int = 0,
                     signal_groups: Sequence[int] | None = None,
                     program: Sequence[tuple[str, float]] | None = None) -> SpatMessage:
    """SPaT content an RSU sends for one SUMO traffic light at ``now`` [s].

    signal: SUMO state string (one character per controlled link), phase index, absolute
    time of the next switch [s]. signal_groups: J2735 signal group (1..254) of each link;
    default: link i -> group i + 1. Links sharing a group must show the same state.
    program: the fixed-time program as (state string, duration [s]) per phase; when given,
    each group gets its current phase with the exact end time and the following phase,
    otherwise only the current phase with minEndTime = next switch (a lower bound).
    Raises ValueError for unknown state characters or inconsistent groups/program.
    """
    n_links = len(signal.state)
    groups = list(signal_groups) if signal_groups is not None else [i + 1 for i in range(n_links)]
    if len(groups) != n_links:
        raise ValueError(f"{len(groups)} signal groups for {n_links} links")
    if any(not 1 <= g <= 254 for g in groups):
        raise ValueError("signal groups must lie in 1..254")
    if program is not None:
        if any(len(state) != n_links for state, _ in program):
            raise ValueError("program states must have one character per link")
        if not 0 <= signal.phase_index < len(program):
            raise ValueError(f"phase index {signal.phase_index} outside the program")
    by_group: dict[int, tuple[MovementEvent, ...]] = {}
    for link, group in enumerate(groups):
        events = _link_events(link, signal, program)
        if by_group.setdefault(group, events) != events:
            raise ValueError(f"links of signal group {group} disagree")
    state = IntersectionSignalState(
        intersection_id=intersection_id, revision=revision,
        groups=tuple(SignalGroupState(g, events) for g, events in sorted(by_group.items())))
    return SpatMessage(header=Header(stamp=now, frame_id=MAP_FRAME), intersections=(state,))
