"""Information-aware driving-mode selection: a pure state machine.

Each call of :meth:`ModeSelector.step` takes what the vehicle knows now (:class:`ModeInputs`:
link quality to the leader, sensor health, localisation confidence, driver state, the operating
domain ahead, the signal ahead, lane options) and returns a :class:`ModeCommand` with targets for
the MPC. Priorities, highest first:

0. MANUAL whenever the driver holds the controls (answering a takeover request, or overriding):
   the automation is disengaged, so no failure of its own inputs starts a minimal-risk stop.
1. MINIMAL_RISK when sensing or localisation fails, a takeover request ran out, or a stop is
   requested from outside the stack (an operator, any ROS 2 node): a controlled
   stop in lane with bounded deceleration (a stop line, fixed on the road, where braking at
   ``minimal_risk_decel`` after ``minimal_risk_onset`` ends); left only after the failure has cleared for a dwell.
2. TAKEOVER_REQUEST when the operating domain ends within the lead time, or when the driver
   monitoring reports the driver unavailable (as UN Regulation No. 157 (ALKS) has an unavailable
   driver trigger a transition demand), escalating in levels; MANUAL once the driver takes over,
   MINIMAL_RISK if nobody does: it starts where braking at ``minimal_risk_decel`` after
   ``minimal_risk_onset`` ends ``standstill_gap`` before the exit, or once the last level has run
   for ``takeover_escalation_interval``, whichever comes first.
3. LANE_CHANGE when MOBIL says a neighbouring lane is safe and worth it (kept until completed),
   keeping to the signal advice of 4. when a signal is in range.
4. ECO_APPROACH when a signal with SPaT is within range: speed advisory, stop if unavoidable.
5. Longitudinal automation by information quality: PLATOON / CACC with a short time gap when the
   leader's V2X link is good (PDR, latency, age of information) for a dwell time; ACC with the
   larger gap as soon as it is not (degradation is immediate, upgrades wait: hysteresis); CRUISE on
   a free road. The commanded time gap moves between modes at ``time_gap_rate``; it starts from
   the headway a vehicle already keeps when it first has a leader (a car joining traffic: no hard
   braking to open a longer gap behind the car it was inserted behind), and does not open while
   an upgrade to CACC waits for its dwell (the gap would only be closed again).

Every switch is recorded in :attr:`ModeSelector.log` with time, modes and reason. No wall clock:
``inputs.now`` is the only time.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cav_stack.core.messages import MAP_FRAME, DrivingMode, Header, LinkQuality, ModeCommand
from cav_stack.core.params import validate_positive
from cav_stack.planning.eco_approach import GreenWindow, SpeedAdvice, advise_speed

#: Speed [m/s] below which the kept time gap is computed as at this speed (a car at standstill
#: keeps no time gap: the ramp then starts at the target).
_MIN_HEADWAY_SPEED = 1.0


@dataclass(frozen=True)
class ModeSelectorParams:
    """Thresholds of the mode selector (see controllers/mode_selector.yaml for their meaning).

    Time gaps [s] and standstill gap [m] per mode; time_gap_rate [s/s]: how fast the commanded
    time gap moves to a new mode's gap (graceful degradation: the gap opens before it is needed,
    the MPC never faces a jump in its safe-gap constraint); link thresholds: PDR [0..1], latency and age of
    information [s]; dwell times [s]; localisation sigma [m]; decelerations [m/s^2] (positive);
    distances [m]; takeover lead time and escalation interval [s].
    """

    acc_time_gap: float
    cacc_time_gap: float
    platoon_time_gap: float
    standstill_gap: float
    cacc_enter_pdr: float
    cacc_exit_pdr: float
    cacc_max_latency: float
    cacc_max_age: float
    upgrade_dwell: float
    max_localization_sigma: float
    recovery_dwell: float
    minimal_risk_decel: float
    minimal_risk_onset: float
    takeover_lead_time: float
    takeover_escalation_interval: float
    takeover_levels: int
    eco_range: float
    eco_min_speed: float
    eco_margin: float
    lane_change_duration: float
    merge_gap_extra: float
    time_gap_rate: float

    def __post_init__(self) -> None:
        validate_positive(time_gap_rate=self.time_gap_rate, acc_time_gap=self.acc_time_gap,
                          cacc_time_gap=self.cacc_time_gap,
                          platoon_time_gap=self.platoon_time_gap, upgrade_dwell=self.upgrade_dwell,
                          takeover_lead_time=self.takeover_lead_time, minimal_risk_decel=self.minimal_risk_decel)
        if self.minimal_risk_onset < 0.0:
            raise ValueError("minimal_risk_onset must be >= 0")
        if not self.cacc_exit_pdr < self.cacc_enter_pdr:
            raise ValueError("cacc_exit_pdr must be below cacc_enter_pdr (hysteresis)")
        if self.takeover_lead_time < 10.0:
            raise ValueError("takeover_lead_time must be at least 10 s")


@dataclass(frozen=True)
class LeaderInfo:
    """The vehicle ahead: track ID, gap [m], speed [m/s]; its V2X link (None: not connected);
    in_platoon: the leader itself reports driving in CACC/PLATOON."""

    track_id: int
    gap: float
    speed: float
    link: LinkQuality | None = None
    in_platoon: bool = False


@dataclass(frozen=True)
class SignalAhead:
    """The next signal on the route: stop-line distance [m] and green windows relative to now."""

    stop_distance: float
    green_windows: tuple[GreenWindow, ...]


@dataclass(frozen=True)
class LaneOption:
    """A lane change MOBIL found safe and worth it: lateral offset [m] (positive left), gain [m/s^2];
    mandatory: the ego's lane ends on its route (MOBIL's safety criterion alone decided)."""

    lane_offset: float
    incentive: float
    mandatory: bool = False


@dataclass(frozen=True)
class ModeInputs:
    """Everything the selector looks at, at time ``now`` [s] (SI units)."""

    now: float
    ego_speed: float
    speed_limit: float
    leader: LeaderInfo | None = None
    sensors_healthy: bool = True
    localization_sigma: float = 0.0
    driver_available: bool = True
    driver_took_over: bool = False
    odd_exit_distance: float | None = None
    signal: SignalAhead | None = None
    lane_option: LaneOption | None = None
    merge_request: bool = False
    lane_change_done: bool = False
    stop_requested: bool = False


@dataclass(frozen=True)
class ModeSwitch:
    """One logged switch: time [s], from, to, reason."""

    time: float
    previous: DrivingMode
    mode: DrivingMode
    reason: str


@dataclass
class _State:
    mode: DrivingMode = DrivingMode.CRUISE
    since: float = 0.0
    link_good_since: float | None = None
    healthy_since: float | None = None
    takeover_started: float | None = None
    takeover_level: int = 0
    lane_offset: float = 0.0
    time_gap: float | None = None
    upgrade_pending: bool = False
    last_step: float | None = None
    stop_left: float | None = None
    log: list[ModeSwitch] = field(default_factory=list)


class ModeSelector:
    """The mode state machine (see module docstring). One instance per vehicle."""

    def __init__(self, params: ModeSelectorParams, start_time: float = 0.0):
        self.params = params
        self._s = _State(since=start_time)

    @property
    def mode(self) -> DrivingMode:
        return self._s.mode

    @property
    def log(self) -> list[ModeSwitch]:
        return self._s.log

    @property
    def takeover_level(self) -> int:
        """Escalation level of a running takeover request (0: none)."""
        return self._s.takeover_level

    def step(self, inputs: ModeInputs) -> ModeCommand:
        """Choose the mode and targets at ``inputs.now``."""
        self._s.upgrade_pending = False
        mode, reason, extra = self._decide(inputs)
        self._track_stop_line(inputs, mode)
        if mode is not self._s.mode:
            self._s.log.append(ModeSwitch(inputs.now, self._s.mode, mode, reason))
            self._s.mode, self._s.since = mode, inputs.now
        command = self._command(inputs, mode, reason, extra)
        level = self._s.takeover_level if mode is DrivingMode.TAKEOVER_REQUEST else 0
        return replace(command, time_gap=self._ramped_time_gap(command.time_gap, inputs), takeover_level=level)

    def _track_stop_line(self, i: ModeInputs, mode: DrivingMode) -> None:
        """Keep the minimal-risk stop line fixed on the road: placed on entry where braking at
        ``minimal_risk_decel`` after ``minimal_risk_onset`` ends, then moved closer by the distance
        driven since the last step (speed times elapsed time)."""
        p, s = self.params, self._s
        if mode is not DrivingMode.MINIMAL_RISK:
            s.stop_left = None
        elif s.stop_left is None or s.mode is not DrivingMode.MINIMAL_RISK:
            s.stop_left = self._stopping_distance(i.ego_speed)
            if s.takeover_started is not None and i.odd_exit_distance is not None:   # stop inside the domain
                s.stop_left = max(min(s.stop_left, i.odd_exit_distance - p.standstill_gap), 0.0)
        elif s.last_step is not None:
            s.stop_left = max(s.stop_left - i.ego_speed * max(i.now - s.last_step, 0.0), 0.0)

    def _stopping_distance(self, speed: float) -> float:
        """Distance [m] a minimal-risk stop from ``speed`` [m/s] takes: the onset at speed, then
        braking at ``minimal_risk_decel``."""
        p = self.params
        return speed * p.minimal_risk_onset + speed ** 2 / (2.0 * p.minimal_risk_decel)

    def _ramped_time_gap(self, target: float, i: ModeInputs) -> float:
        """The commanded time gap [s], moving towards ``target`` [s] at ``time_gap_rate``; held
        (not opened) while a CACC upgrade waits for its dwell. Before the first leader there is
        nothing to keep a gap to: ``target`` is passed on, and the ramp starts at the first leader
        from the time gap already kept to it (``(gap - standstill_gap) / speed``), within
        ``[cacc_time_gap, target]``."""
        p, s = self.params, self._s
        now = i.now
        if s.time_gap is None:
            if i.leader is None:
                s.last_step = now
                return target
            kept = (i.leader.gap - p.standstill_gap) / max(i.ego_speed, _MIN_HEADWAY_SPEED)
            s.time_gap = min(max(kept, min(p.cacc_time_gap, target)), target)
        elif s.last_step is not None:
            if s.upgrade_pending:
                target = min(target, s.time_gap)
            limit = p.time_gap_rate * max(now - s.last_step, 0.0)
            s.time_gap += min(max(target - s.time_gap, -limit), limit)
        s.last_step = now
        return s.time_gap

    # --- decision -------------------------------------------------------------------------

    def _decide(self, i: ModeInputs) -> tuple[DrivingMode, str, dict[str, Any]]:
        p, s = self.params, self._s
        if i.driver_took_over or s.mode is DrivingMode.MANUAL:
            answered = s.takeover_started is not None
            s.takeover_started, s.takeover_level = None, 0
            return DrivingMode.MANUAL, "driver took over" if answered else "driver in control", {}
        failure = self._failure(i)
        if failure:
            s.healthy_since = None
            return DrivingMode.MINIMAL_RISK, failure, {}
        if s.healthy_since is None:
            s.healthy_since = i.now
        if s.mode is DrivingMode.MINIMAL_RISK and (i.now - s.healthy_since < p.recovery_dwell
                                                   or s.takeover_started is not None):
            return DrivingMode.MINIMAL_RISK, "holding minimal-risk stop until recovery dwell", {}
        takeover = self._takeover(i)
        if takeover is not None:
            return takeover
        advice = None
        if i.signal is not None and i.signal.stop_distance <= p.eco_range:
            advice = advise_speed(i.signal.stop_distance, i.ego_speed, i.speed_limit, p.eco_min_speed,
                                  i.signal.green_windows, p.eco_margin)
        if s.mode is DrivingMode.LANE_CHANGE and not i.lane_change_done:
            return DrivingMode.LANE_CHANGE, "lane change in progress", {"lane_offset": s.lane_offset, "advice": advice}
        if i.lane_option is not None and s.mode is not DrivingMode.LANE_CHANGE:
            s.lane_offset = i.lane_option.lane_offset
            why = ("lane ends on the route: merge" if i.lane_option.mandatory
                   else f"MOBIL gain {i.lane_option.incentive:.2f} m/s^2")
            return (DrivingMode.LANE_CHANGE, why,
                    {"lane_offset": s.lane_offset, "advice": advice})
        s.lane_offset = 0.0
        following = self._following(i)
        if advice is not None:
            why = "stop at red" if advice.stop else f"arrive on green at {advice.speed:.1f} m/s"
            return DrivingMode.ECO_APPROACH, f"SPaT: {why}", {"advice": advice, "following": following}
        return following + ({},)

    def _failure(self, i: ModeInputs) -> str:
        if i.stop_requested:
            return "stop requested"
        if not i.sensors_healthy:
            return "sensor failure"
        if i.localization_sigma > self.params.max_localization_sigma:
            return f"localisation sigma {i.localization_sigma:.2f} m above limit"
        p, s = self.params, self._s
        if s.takeover_started is None:
            return ""
        if i.odd_exit_distance is not None:
            if i.odd_exit_distance <= self._stopping_distance(i.ego_speed) + p.standstill_gap:
                return "no takeover: stopping before the operating-domain exit"
        if i.now - s.takeover_started >= p.takeover_levels * p.takeover_escalation_interval:
            return "no takeover: request ran out"
        return ""

    def _takeover(self, i: ModeInputs) -> tuple[DrivingMode, str, dict[str, Any]] | None:
        p, s = self.params, self._s
        causes = []
        if i.odd_exit_distance is not None:
            time_to_exit = i.odd_exit_distance / max(i.ego_speed, 1.0)
            if s.takeover_started is not None or time_to_exit <= p.takeover_lead_time + p.upgrade_dwell:
                causes.append(f"operating-domain exit in {time_to_exit:.1f} s")
        if not i.driver_available:
            causes.append("driver unavailable")
        if s.takeover_started is None and causes:
            s.takeover_started = i.now
        if s.takeover_started is None:
            return None
        elapsed = i.now - s.takeover_started
        s.takeover_level = min(1 + int(elapsed // p.takeover_escalation_interval), p.takeover_levels)
        cause = ", ".join(causes) or "takeover requested"
        return DrivingMode.TAKEOVER_REQUEST, f"{cause}, level {s.takeover_level}", {}

    def _following(self, i: ModeInputs) -> tuple[DrivingMode, str]:
        p, s = self.params, self._s
        leader = i.leader
        if leader is None:
            s.link_good_since = None
            return DrivingMode.CRUISE, "free road"
        link = leader.link
        if link is None:
            s.link_good_since = None
            return DrivingMode.ACC, "leader not connected"
        cooperative = s.mode in (DrivingMode.CACC, DrivingMode.PLATOON) or (
            s.mode is DrivingMode.ECO_APPROACH and s.link_good_since is not None
            and i.now - s.link_good_since >= p.upgrade_dwell)
        threshold = p.cacc_exit_pdr if cooperative else p.cacc_enter_pdr
        bad = []
        if link.pdr < threshold:
            bad.append(f"PDR {link.pdr:.2f} < {threshold:.2f}")
        if link.latency > p.cacc_max_latency:
            bad.append(f"latency {link.latency * 1e3:.0f} ms")
        if link.age_of_information > p.cacc_max_age:
            bad.append(f"age of information {link.age_of_information:.2f} s")
        if bad:
            s.link_good_since = None
            return DrivingMode.ACC, "V2X link degraded: " + ", ".join(bad)
        if s.link_good_since is None:
            s.link_good_since = i.now
        if not cooperative and i.now - s.link_good_since < p.upgrade_dwell:
            s.upgrade_pending = True
            return DrivingMode.ACC, "V2X link good, waiting for dwell"
        if leader.in_platoon:
            return DrivingMode.PLATOON, f"platoon member ahead, PDR {link.pdr:.2f}"
        return DrivingMode.CACC, f"V2X link good, PDR {link.pdr:.2f}"

    # --- targets --------------------------------------------------------------------------

    def _command(self, i: ModeInputs, mode: DrivingMode, reason: str, extra: dict[str, Any]) -> ModeCommand:
        p = self.params
        header = Header(i.now, MAP_FRAME)
        leader_id = i.leader.track_id if i.leader is not None else None
        time_gap = {DrivingMode.CACC: p.cacc_time_gap, DrivingMode.PLATOON: p.platoon_time_gap}.get(
            mode, p.acc_time_gap)
        if mode is DrivingMode.PLATOON and i.merge_request:
            time_gap += p.merge_gap_extra
        if mode is DrivingMode.ECO_APPROACH:
            following_mode = extra["following"][0]
            time_gap = {DrivingMode.CACC: p.cacc_time_gap, DrivingMode.PLATOON: p.platoon_time_gap}.get(
                following_mode, p.acc_time_gap)
            advice = extra["advice"]
            return ModeCommand(header, mode, self._eco_speed(i, advice), time_gap,
                               p.standstill_gap, leader_id, 0.0, advice.stop_distance, reason)
        if mode is DrivingMode.MINIMAL_RISK:
            # no speed-up, and a stop before the tracked line: the MPC's approach to the line shapes
            # a bounded deceleration, never an emergency stop
            return ModeCommand(header, mode, min(i.ego_speed, i.speed_limit), p.acc_time_gap, p.standstill_gap,
                               leader_id, 0.0, self._s.stop_left, reason)
        if mode is DrivingMode.MANUAL:
            return ModeCommand(header, mode, 0.0, p.acc_time_gap, p.standstill_gap, leader_id, 0.0, None, reason)
        advice = extra.get("advice")   # a lane change near a signal keeps to its advice
        if advice is not None:
            return ModeCommand(header, mode, self._eco_speed(i, advice), time_gap,
                               p.standstill_gap, leader_id, extra["lane_offset"], advice.stop_distance, reason)
        return ModeCommand(header, mode, i.speed_limit, time_gap, p.standstill_gap, leader_id,
                           extra.get("lane_offset", 0.0), None, reason)

    def _eco_speed(self, i: ModeInputs, advice: SpeedAdvice) -> float:
        """Target speed [m/s] of a signal advice: the advised cruise; for a stop, no speeding up
        towards the line (current speed, at least ``eco_min_speed`` to close up to it)."""
        if advice.stop:
            return min(i.speed_limit, max(i.ego_speed, self.params.eco_min_speed))
        return advice.speed
