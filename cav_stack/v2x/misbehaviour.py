"""Misbehaviour detection: plausibility of what V2X senders say about themselves.

A sender is the verified signer of the reports (the HashedId8 of its certificate; the claimed
station ID only where messages are not signed): state and verdicts follow the certificate, so
reusing another station's temporary ID neither moves evidence onto that station nor sheds one's own.

Unavailable values (J2735 "unavailable", NaN after decoding; an unavailable position accuracy
decodes as +inf and is clamped like any other) are handled field by field: a check that needs a
missing value is not run, and the cross-check against sensors replaces a missing speed, heading
or acceleration by its worst case (the gates widen), so no verdict is ever drawn from a missing
value.

Per sender, on every :class:`V2xVehicleReport` (positions in ``map``, SI units):
- limits: reported speed and acceleration within physical limits;
- step consistency with the previous report: speed change vs the acceleration limit, and the
  displacement vs the one predicted from the reported speeds and headings (tolerance from the
  reported position accuracy);
- map: the position is on a road within ``gate_sigmas`` reported sigmas (``is_on_road``
  injected: the map is another module's);
- history consistency over ``consistency_window``: straight-line displacement vs the distance
  integrated from reported speeds (a chord is at most the arc and, for the turns cars make in
  a few seconds, not much shorter), and the direction of motion vs the reported headings.
A failing check is evidence; a sender is flagged for a reason once ``evidence_count`` failures
of it fall within ``evidence_window`` (single noisy outliers never flag an honest sender).

Against the ego's own sensors, on every onboard :class:`TrackList` (sensor-only tracks in
``map``): each sender's latest report is extrapolated to the track time (constant
acceleration for the speed, constant velocity for the position); senders the ego should see
wherever they are within their position uncertainty (``is_visible`` true for the whole disc of
``visibility_margin_sigmas`` reported sigmas around the claim; the FOV/occlusion test is
injected: it belongs to the sensor models) are associated one-to-one with tracks (minimum
total distance; a pair is allowed only within ``association_gate`` and with speeds agreeing
within their noise plus ``association_speed_margin``, so a ghost cannot hide behind a nearby
real car driving at another speed); senders already flagged take no part, so their
claims cannot take tracks from honest senders. A visible
sender left unmatched for ``ghost_time`` is flagged as a ghost vehicle; a matched sender whose
mean offset from its track over ``offset_window`` exceeds ``max_track_offset`` is flagged as
lying about its position. These two are time-integrated already and flag directly.

Flags are sticky until the sender is forgotten (silent for ``sender_timeout``). ``now`` [s] is
the stack clock; nothing here reads a clock.
"""
from __future__ import annotations

import collections
import enum
import math
from dataclasses import dataclass
from collections.abc import Callable, Hashable
from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from cav_stack.core.frames import wrap_angle
from cav_stack.core.messages import MAP_FRAME, TrackList, V2xVehicleReport
from cav_stack.core.params import validate_positive
from cav_stack.v2x.report_history import ReportHistory

#: ``is_on_road(x, y, margin)``: True when the ``map`` point (x, y) [m] lies on a road or within
#: ``margin`` [m] of its edge (the detector sets the margin from the report's position accuracy).
RoadTest = Callable[[float, float, float], bool]
#: ``is_visible(x, y, radius)``: True when a road user anywhere within ``radius`` [m] of the
#: ``map`` point (x, y) [m] is inside the ego's sensor field of view with a clear line of sight
#: at the time of the track list being checked.
VisibilityTest = Callable[[float, float, float], bool]


def _known(*values: float) -> bool:
    """True when every value is available (finite)."""
    for value in values:   # a loop, not all() over a generator: called ~20 times per received BSM
        if not math.isfinite(value):
            return False
    return True


def _history_span(history: ReportHistory
                  ) -> tuple[V2xVehicleReport, V2xVehicleReport, float, tuple[float, float] | None] | None:
    """What the history checks compare, over the reports from the first to the last one with a
    known position: those two reports, the distance [m] integrated from the speeds between them
    and the sums of the sines and cosines of the headings known between them (None: none known).
    None when fewer than two positions or not every speed is known (the distance is unknown)."""
    if not history.all_speeds_known:
        return None
    reports = history.reports
    if history.all_positions_known:   # the usual case: the terms kept by the history
        return (reports[0], reports[-1], history.travelled(), history.heading_sums()) if len(reports) >= 2 else None
    located = [r for r in reports if math.isfinite(r.x) and math.isfinite(r.y)]
    if len(located) < 2:
        return None
    first, last = located[0], located[-1]
    inside = [r for r in reports if first.header.stamp <= r.header.stamp <= last.header.stamp]
    distance = sum(0.5 * (a.speed + b.speed) * (b.header.stamp - a.header.stamp)
                   for a, b in zip(inside, inside[1:], strict=False))  # consecutive pairs: one shorter
    yaws = [r.yaw for r in inside if math.isfinite(r.yaw)]
    sums = (sum(math.sin(a) for a in yaws), sum(math.cos(a) for a in yaws)) if yaws else None
    return first, last, distance, sums


class MisbehaviourReason(enum.Enum):
    """Why a sender was flagged (the value is the reason name in logs and diagnostics)."""

    SPEED_LIMIT = "speed_limit"
    ACCELERATION_LIMIT = "acceleration_limit"
    POSITION_JUMP = "position_jump"
    OFF_ROAD = "off_road"
    SPEED_VS_DISPLACEMENT = "speed_vs_displacement"
    HEADING_VS_MOTION = "heading_vs_motion"
    GHOST_VEHICLE = "ghost_vehicle"
    TRACK_OFFSET = "track_offset"


@dataclass(frozen=True)
class MisbehaviourParams:
    """``misbehaviour`` section of ``v2x/security.yaml`` (SI units after loading).

    max_speed [m/s]; max_accel: largest plausible |acceleration| [m/s^2];
    speed_sigma: 1-sigma noise of reported speeds [m/s];
    position_sigma_min, position_sigma_max: clamp applied to reported position accuracy [m]
    (a liar cannot widen the gates beyond the maximum);
    gate_sigmas: width of every noise gate in standard deviations;
    max_report_gap: successive reports further apart [s] are not compared (history restarts);
    consistency_window: span of history used for the history checks [s];
    consistency_min_span: shortest history span evaluated [s];
    speed_displacement_rel_tolerance: allowed shortfall of displacement below integrated
    distance (chord vs arc) [-]; heading_min_displacement: displacement needed before the
    heading check runs [m]; max_heading_error: allowed motion-vs-heading difference [rad];
    evidence_window [s] and evidence_count: failures of one check within the window that flag;
    association_gate: largest claim-to-track distance of an association [m];
    association_speed_margin: allowed claim-to-track speed difference beyond the speed noise
    gate (``gate_sigmas`` of the claim's ``speed_sigma`` and the track's speed sigma) [m/s];
    visibility_margin_sigmas: a claim counts as visible only if the disc of this many reported
    sigmas around it is visible (keeps noisy claims at the FOV edge out of the test);
    ghost_time: visible-and-unmatched time that flags a ghost [s];
    max_report_age: latest report older (or newer) than this vs the track time is not
    cross-checked [s]; offset_window [s], offset_min_samples: window and minimum matched samples
    of the mean claim-to-track offset; max_track_offset: largest plausible mean offset [m];
    sender_timeout: a sender silent this long is forgotten with its flags [s].
    """

    max_speed: float
    max_accel: float
    speed_sigma: float
    position_sigma_min: float
    position_sigma_max: float
    gate_sigmas: float
    max_report_gap: float
    consistency_window: float
    consistency_min_span: float
    speed_displacement_rel_tolerance: float
    heading_min_displacement: float
    max_heading_error: float
    evidence_window: float
    evidence_count: int
    association_gate: float
    association_speed_margin: float
    visibility_margin_sigmas: float
    ghost_time: float
    max_report_age: float
    offset_window: float
    offset_min_samples: int
    max_track_offset: float
    sender_timeout: float

    def __post_init__(self) -> None:
        validate_positive(
            max_speed=self.max_speed, max_accel=self.max_accel, speed_sigma=self.speed_sigma,
            position_sigma_min=self.position_sigma_min, gate_sigmas=self.gate_sigmas,
            max_report_gap=self.max_report_gap, consistency_min_span=self.consistency_min_span,
            heading_min_displacement=self.heading_min_displacement, max_heading_error=self.max_heading_error,
            evidence_window=self.evidence_window, evidence_count=self.evidence_count,
            association_gate=self.association_gate, visibility_margin_sigmas=self.visibility_margin_sigmas,
            ghost_time=self.ghost_time,
            max_report_age=self.max_report_age, offset_window=self.offset_window,
            offset_min_samples=self.offset_min_samples, max_track_offset=self.max_track_offset,
            sender_timeout=self.sender_timeout)
        if self.position_sigma_max < self.position_sigma_min:
            raise ValueError("position_sigma_max must be >= position_sigma_min")
        if self.consistency_window < self.consistency_min_span:
            raise ValueError("consistency_window must be >= consistency_min_span")
        if not self.association_speed_margin >= 0.0:
            raise ValueError("association_speed_margin must be >= 0")
        if not 0.0 <= self.speed_displacement_rel_tolerance < 1.0:
            raise ValueError("speed_displacement_rel_tolerance must be in [0, 1)")


@dataclass(frozen=True)
class MisbehaviourVerdict:
    """Verdict on one sender (signer digest, or station ID when unsigned): flagged or not, the
    reasons in the order they were reached, and the stack time [s] it was first flagged (None
    when not flagged)."""

    sender: Hashable
    flagged: bool
    reasons: tuple[MisbehaviourReason, ...] = ()
    flagged_at: float | None = None


class _Claim(NamedTuple):
    """A sender's claimed state at a track time: position (x, y) [m, map], spread: radius [m] the
    position may be off by because a value was missing; speed [m/s] (None: unavailable);
    speed_margin: extra speed tolerance [m/s] for a missing acceleration."""

    x: float
    y: float
    spread: float
    speed: float | None
    speed_margin: float


class _Residuals:
    """A sender's claim-minus-track offsets [m] (x and y, ``map``) at track times [s] within the
    offset window, oldest first, kept as columns so their sums run over plain floats."""

    def __init__(self) -> None:
        self.times: collections.deque[float] = collections.deque()
        self._x: collections.deque[float] = collections.deque()
        self._y: collections.deque[float] = collections.deque()

    def add(self, t: float, dx: float, dy: float, window: float) -> None:
        """Add the offset (dx, dy) at ``t`` and drop those more than ``window`` [s] before it."""
        self.times.append(t)
        self._x.append(dx)
        self._y.append(dy)
        while t - self.times[0] > window:
            self.times.popleft()
            self._x.popleft()
            self._y.popleft()

    def means(self) -> tuple[float, float]:
        """Mean x and y offset [m] (at least one offset kept)."""
        return sum(self._x) / len(self._x), sum(self._y) / len(self._y)


class _Sender:
    def __init__(self, key: Hashable, now: float):
        #: The verdict while the sender is not flagged (one object, handed out every time).
        self.unflagged = MisbehaviourVerdict(key, False)
        self.history = ReportHistory()
        self.last_heard = now
        self.failures: dict[MisbehaviourReason, collections.deque[float]] = collections.defaultdict(collections.deque)
        self.flags: dict[MisbehaviourReason, float] = {}
        self.unmatched_since: float | None = None
        self.residuals = _Residuals()


class MisbehaviourDetector:
    """Keeps per-sender evidence and verdicts; see the module docstring for the checks."""

    def __init__(self, params: MisbehaviourParams, is_on_road: RoadTest):
        self.params = params
        self._is_on_road = is_on_road
        self._senders: dict[Hashable, _Sender] = {}
        self._forgot_at: float | None = None
        #: Noise gate [m/s] of the speed change between two reports (each with ``speed_sigma`` noise).
        self._speed_step_noise = params.gate_sigmas * math.sqrt(2.0) * params.speed_sigma

    def verdict(self, key: Hashable) -> MisbehaviourVerdict:
        """Current verdict on sender ``key`` (not flagged when unknown)."""
        sender = self._senders.get(key)
        if sender is None:
            return MisbehaviourVerdict(key, False)
        if not sender.flags:
            return sender.unflagged
        return MisbehaviourVerdict(key, True, tuple(sender.flags), min(sender.flags.values()))

    def verdicts(self) -> tuple[MisbehaviourVerdict, ...]:
        """Verdicts on every sender currently known, in the order they were first heard."""
        return tuple(self.verdict(key) for key in self._senders)

    def on_report(self, report: V2xVehicleReport, now: float, sender_key: Hashable | None = None
                  ) -> MisbehaviourVerdict:
        """Check one report (``map`` frame; ValueError otherwise) received at ``now`` [s] from
        ``sender_key`` (the verified signer; None: the report's station ID)."""
        if report.header.frame_id != MAP_FRAME:
            raise ValueError(f"reports must be in '{MAP_FRAME}', got '{report.header.frame_id}'")
        key = report.station_id if sender_key is None else sender_key
        self._forget(now)
        sender = self._senders.get(key)
        if sender is None:
            sender = self._senders[key] = _Sender(key, now)
        sender.last_heard = now
        history = sender.history
        reports = history.reports
        stamp = report.header.stamp
        if reports and stamp <= reports[-1].header.stamp:
            return self.verdict(key)
        failures = self._single_report_checks(report)
        if reports and stamp - reports[-1].header.stamp > self.params.max_report_gap:
            history.clear()
        if reports:
            failures += self._step_checks(reports[-1], report)
        history.append(report)
        window = self.params.consistency_window
        while stamp - reports[0].header.stamp > window:
            history.popleft()
        failures += self._history_checks(history)
        for reason in failures:
            self._add_evidence(sender, reason, now)
        return self.verdict(key)

    def on_tracks(self, tracks: TrackList, is_visible: VisibilityTest, now: float) -> tuple[MisbehaviourVerdict, ...]:
        """Cross-check senders against onboard sensor tracks (``map`` frame; ValueError otherwise).

        tracks must come from the ego's own sensors only (tracks created from V2X would confirm
        the very claims under test). Returns the verdicts of all known senders.
        """
        if tracks.header.frame_id != MAP_FRAME:
            raise ValueError(f"tracks must be in '{MAP_FRAME}', got '{tracks.header.frame_id}'")
        self._forget(now)
        t = tracks.header.stamp
        claims: dict[Hashable, _Claim] = {}
        for key, sender in self._senders.items():
            reports = sender.history.reports
            latest = reports[-1] if reports else None
            if (sender.flags or latest is None or abs(t - latest.header.stamp) > self.params.max_report_age
                    or not (math.isfinite(latest.x) and math.isfinite(latest.y))):
                sender.unmatched_since = None
                continue
            claim = self._claim(latest, t)
            if is_visible(claim.x, claim.y,
                          self.params.visibility_margin_sigmas * self._sigma(latest) + claim.spread):
                claims[key] = claim
            else:
                sender.unmatched_since = None
        matches = self._associate(claims, tracks)
        for key, claim in claims.items():
            sender = self._senders[key]
            match = matches.get(key)
            if match is None:
                if sender.unmatched_since is None:
                    sender.unmatched_since = t
                if t - sender.unmatched_since >= self.params.ghost_time:
                    sender.flags.setdefault(MisbehaviourReason.GHOST_VEHICLE, now)
                continue
            sender.unmatched_since = None
            if claim.spread > 0.0:   # position extrapolated with a missing value: no offset evidence
                continue
            residuals = sender.residuals
            residuals.add(t, claim.x - match[0], claim.y - match[1], self.params.offset_window)
            if len(residuals.times) >= self.params.offset_min_samples:
                mean_x, mean_y = residuals.means()
                if math.hypot(mean_x, mean_y) > self.params.max_track_offset:
                    sender.flags.setdefault(MisbehaviourReason.TRACK_OFFSET, now)
        return self.verdicts()

    def _claim(self, report: V2xVehicleReport, t: float) -> _Claim:
        """Where ``report`` (finite position) puts its sender at ``t`` [s]: constant velocity for the
        position, constant acceleration for the speed; a missing speed or heading leaves the claim
        at the reported position with ``spread`` = the farthest it could have moved, a missing
        speed or acceleration widens the speed tolerance by the most it could have changed."""
        p = self.params
        dt = t - report.header.stamp
        if math.isfinite(report.speed) and math.isfinite(report.yaw):
            x = report.x + report.speed * math.cos(report.yaw) * dt
            y = report.y + report.speed * math.sin(report.yaw) * dt
            spread = 0.0
        else:
            x, y = report.x, report.y
            spread = (report.speed if math.isfinite(report.speed) else p.max_speed) * abs(dt)
        if not math.isfinite(report.speed):
            return _Claim(x, y, spread, None, 0.0)
        if math.isfinite(report.accel):
            return _Claim(x, y, spread, report.speed + report.accel * dt, 0.0)
        return _Claim(x, y, spread, report.speed, p.max_accel * abs(dt))

    def _associate(self, claims: dict[Hashable, _Claim], tracks: TrackList) -> dict[Hashable, tuple[float, float]]:
        """One-to-one claim-to-track association minimising total distance among the pairs
        within the distance gate (widened by a claim's spread) whose speeds agree (any speed
        when the claim's is unknown).

        The usual case, where no claim and no track has more than one allowed partner, is its
        own minimum (every allowed pair taken: leaving one out costs a disallowed pair, a
        thousand gates) and skips the assignment solver."""
        if not claims or not tracks.objects:
            return {}
        p = self.params
        ids = list(claims)
        claim_xy = np.array([(claims[i].x, claims[i].y) for i in ids])
        spread = np.array([claims[i].spread for i in ids])
        claim_speed = np.array([np.nan if claims[i].speed is None else claims[i].speed for i in ids])
        speed_margin = np.array([claims[i].speed_margin for i in ids])
        track_xy = np.array([(o.x, o.y) for o in tracks.objects])
        track_speed = np.array([o.speed for o in tracks.objects])
        track_speed_var = np.array([max(o.covariance[15], 0.0) for o in tracks.objects])
        distance = np.linalg.norm(claim_xy[:, None, :] - track_xy[None, :, :], axis=2)
        speed_gate = (p.gate_sigmas * np.sqrt(p.speed_sigma ** 2 + track_speed_var)[None, :]
                      + p.association_speed_margin + speed_margin[:, None])
        speed_ok = np.isnan(claim_speed)[:, None] | (np.abs(claim_speed[:, None] - track_speed[None, :]) <= speed_gate)
        allowed = (distance <= p.association_gate + spread[:, None]) & speed_ok
        if not allowed.any():
            return {}
        if allowed.sum(axis=1).max() <= 1 and allowed.sum(axis=0).max() <= 1:
            rows, cols = np.nonzero(allowed)
        else:
            rows, cols = linear_sum_assignment(np.where(allowed, distance, (p.association_gate + spread.max()) * 1e3))
        return {ids[r]: (float(track_xy[c, 0]), float(track_xy[c, 1]))
                for r, c in zip(rows, cols, strict=True) if allowed[r, c]}

    def _sigma(self, report: V2xVehicleReport) -> float:
        p = self.params
        return min(max(report.position_sigma, p.position_sigma_min), p.position_sigma_max)

    def _single_report_checks(self, report: V2xVehicleReport) -> list[MisbehaviourReason]:
        p = self.params
        failures = []
        if abs(report.speed) > p.max_speed:     # NaN compares False: not checked
            failures.append(MisbehaviourReason.SPEED_LIMIT)
        if abs(report.accel) > p.max_accel:
            failures.append(MisbehaviourReason.ACCELERATION_LIMIT)
        x, y = report.x, report.y
        if _known(x, y) and not self._is_on_road(x, y, p.gate_sigmas * self._sigma(report)):
            failures.append(MisbehaviourReason.OFF_ROAD)
        return failures

    def _step_checks(self, previous: V2xVehicleReport, report: V2xVehicleReport) -> list[MisbehaviourReason]:
        p = self.params
        failures = []
        dt = report.header.stamp - previous.header.stamp
        if _known(previous.speed, report.speed):
            speed_gate = p.max_accel * dt + self._speed_step_noise
            if abs(report.speed - previous.speed) > speed_gate:
                failures.append(MisbehaviourReason.ACCELERATION_LIMIT)
        if not _known(previous.x, previous.y, report.x, report.y):
            return failures
        position_gate = (p.gate_sigmas * math.hypot(self._sigma(previous), self._sigma(report))
                         + 0.5 * p.max_accel * dt * dt)
        if _known(previous.speed, report.speed, previous.yaw, report.yaw):
            mean_yaw = previous.yaw + 0.5 * wrap_angle(report.yaw - previous.yaw)
            travel = 0.5 * (previous.speed + report.speed) * dt
            residual = math.hypot(report.x - previous.x - travel * math.cos(mean_yaw),
                                  report.y - previous.y - travel * math.sin(mean_yaw))
        else:   # only the distance can be bounded, by the largest speed known or plausible
            speeds = [v for v in (previous.speed, report.speed) if math.isfinite(v)]
            reach = (max(speeds) if len(speeds) == 2 else p.max_speed) * dt
            residual = math.hypot(report.x - previous.x, report.y - previous.y) - reach
        if residual > position_gate:
            failures.append(MisbehaviourReason.POSITION_JUMP)
        return failures

    def _history_checks(self, history: ReportHistory) -> list[MisbehaviourReason]:
        p = self.params
        span = _history_span(history)
        if span is None or span[1].header.stamp - span[0].header.stamp < p.consistency_min_span:
            return []
        first, last, distance, heading_sums = span
        failures = []
        span_s = last.header.stamp - first.header.stamp
        noise = (p.gate_sigmas * math.hypot(self._sigma(first), self._sigma(last))
                 + p.gate_sigmas * p.speed_sigma * span_s)
        dx, dy = last.x - first.x, last.y - first.y
        displacement = math.hypot(dx, dy)
        travelled = abs(distance)
        shortest = (1.0 - p.speed_displacement_rel_tolerance) * travelled - noise
        if displacement > travelled + noise or displacement < shortest:
            failures.append(MisbehaviourReason.SPEED_VS_DISPLACEMENT)
        if displacement >= p.heading_min_displacement and heading_sums is not None:
            mean_yaw = math.atan2(*heading_sums)
            if distance < 0.0:
                mean_yaw += math.pi
            error = abs(wrap_angle(math.atan2(dy, dx) - mean_yaw))
            if error > p.max_heading_error + math.atan2(noise, displacement):
                failures.append(MisbehaviourReason.HEADING_VS_MOTION)
        return failures

    def _add_evidence(self, sender: _Sender, reason: MisbehaviourReason, now: float) -> None:
        times = sender.failures[reason]
        times.append(now)
        while now - times[0] > self.params.evidence_window:
            times.popleft()
        if len(times) >= self.params.evidence_count:
            sender.flags.setdefault(reason, now)

    def _forget(self, now: float) -> None:
        if now == self._forgot_at:   # the reports of one step arrive together
            return
        self._forgot_at = now
        timeout = self.params.sender_timeout
        for station_id in [s for s, sender in self._senders.items() if now - sender.last_heard > timeout]:
            del self._senders[station_id]
