"""Cooperative merge over V2X: a merging CAV asks one main-line CAV for a gap, that CAV answers
and, if it accepts, opens the gap ahead of itself; both release it when the merge is done or the
time is up.

Two roles, one per vehicle, each a small state machine driven by :meth:`step` at the mode
selector's rate (``now`` [s] is the only clock):

* :class:`GapAsker` (the merging vehicle): asks the vehicle it wants as its new follower (the rear
  car of the gap it targets, else the nearest car behind it in the target lane) while its merge
  lasts; after a refusal it waits ``retry_after`` before asking the same vehicle again.
* :class:`GapYielder` (a vehicle asked): accepts when it can open the gap the requester needs
  within ``open_time`` braking at most ``comfort_decel``; then its speed target follows the
  requester projected into its own lane, settling ``gap_margin`` behind the gap MOBIL's safety
  criterion needs (:func:`~cav_stack.planning.merge_gap.safe_rear_gap`). It releases the gap when
  the requester is in its lane (``merged``), when the request stops for ``request_timeout``
  (``requestWithdrawn``), or after ``yield_timeout`` (``timedOut``); it refuses a second requester while it holds a gap
  (``yieldingToAnother``) and a requester behind it (``requesterNotAhead``).

Along-path quantities are on the yielding vehicle's path (its lane centre line in ``map``): gaps
bumper to bumper [m], positive when the requester is ahead; speeds [m/s]. Reasons are the
``GapResponseReason`` values of cav_maneuver.asn.
"""
from __future__ import annotations

from dataclasses import dataclass

from cav_stack.control.idm_baseline import IdmParams
from cav_stack.core.messages import GapAnswer, GapRequest, GapResponseReason
from cav_stack.core.path import Polyline
from cav_stack.core.params import validate_positive
from cav_stack.planning.merge_gap import safe_rear_gap

BESIDE_MARGIN = 5.0
"""A requester whose rear is up to this far [m] behind the yielding vehicle's front bumper is beside
it (a gap can be opened by dropping back); further back it is behind (``requesterNotAhead``)."""


@dataclass(frozen=True)
class NegotiationParams:
    """open_time [s]: an accepted gap must be open within this time; comfort_decel [m/s^2]
    (positive): strongest constant braking accepted to open it; gap_margin [m]: opened beyond what
    the requester's safety check needs; request_timeout [s]: a request not heard for this long is
    over; yield_timeout [s]: longest a gap is held; retry_after [s]: a refused requester asks the same
    vehicle again after this; answer_hold [s]: a release is repeated this long (so it reaches the
    requester)."""

    open_time: float
    comfort_decel: float
    gap_margin: float
    request_timeout: float
    yield_timeout: float
    retry_after: float
    answer_hold: float

    def __post_init__(self) -> None:
        validate_positive(open_time=self.open_time, comfort_decel=self.comfort_decel,
                          request_timeout=self.request_timeout, yield_timeout=self.yield_timeout)
        if self.gap_margin < 0.0 or self.retry_after < 0.0 or self.answer_hold < 0.0:
            raise ValueError("gap_margin, retry_after and answer_hold must be >= 0")


@dataclass(frozen=True)
class RequesterState:
    """A requester as the yielding vehicle sees it: its station ID, the bumper-to-bumper gap [m]
    from the yielding vehicle's front to its rear along the yielding vehicle's path (negative: it is
    not yet ahead), its speed [m/s], whether it is in the yielding vehicle's lane, and when its
    request was last heard [s]."""

    station_id: int
    gap: float
    speed: float
    in_lane: bool
    heard: float


@dataclass(frozen=True)
class NegotiationEvent:
    """One logged step of a negotiation: time [s], role (``request`` / ``answer``), the requester's
    and the responder's station IDs (None: this vehicle), accepted, reason."""

    time: float
    role: str
    requester_id: int | None
    responder_id: int | None
    accepted: bool | None
    reason: str


class GapYielder:
    """The asked vehicle's side (see module docstring). ``idm``, ``safe_decel`` [m/s^2], ``min_gap`` [m]:
    the requester's safety check (MOBIL's), which the opened gap must pass."""

    def __init__(self, params: NegotiationParams, idm: IdmParams, safe_decel: float, min_gap: float):
        self.params = params
        self._idm = idm
        self._safe_decel = safe_decel
        self._min_gap = min_gap
        self._holding: int | None = None
        self._since = 0.0
        self._released: dict[int, tuple[float, str]] = {}   # station -> (time, reason)
        self._last: dict[int, tuple[bool, str]] = {}
        self.log: list[NegotiationEvent] = []

    @property
    def holding(self) -> int | None:
        """Station ID of the requester whose gap is being opened (None: none)."""
        return self._holding

    def needed_gap(self, speed: float, requester_speed: float) -> float:
        """Gap [m] the yielding vehicle at ``speed`` [m/s] leaves behind the requester at
        ``requester_speed`` [m/s]: what the requester's safety check needs, plus ``gap_margin``."""
        needed = safe_rear_gap(speed, requester_speed, self._idm, self._safe_decel, self._min_gap)
        return needed + self.params.gap_margin

    def opening_decel(self, gap: float, speed: float, requester_speed: float) -> float:
        """Constant deceleration [m/s^2] (positive: braking) that opens ``gap`` [m] to the needed gap
        within ``open_time`` while the requester keeps its speed."""
        t = self.params.open_time
        missing = self.needed_gap(speed, requester_speed) - gap - (requester_speed - speed) * t
        return 2.0 * missing / t ** 2

    def step(self, now: float, speed: float, requesters: list[RequesterState]) -> GapAnswer | None:
        """The answer to send now (None: nothing to answer); updates which gap is held."""
        p = self.params
        heard = {r.station_id: r for r in requesters if now - r.heard <= p.request_timeout}
        if self._holding is not None:
            held = heard.get(self._holding)
            reason = None
            if held is None:
                reason = GapResponseReason.REQUEST_WITHDRAWN.value
            elif held.in_lane:
                reason = GapResponseReason.MERGED.value
            elif now - self._since > p.yield_timeout:
                reason = GapResponseReason.TIMED_OUT.value
            if reason is not None:
                self._released[self._holding] = (now, reason)
                self._note(now, self._holding, False, reason)
                self._holding = None
        answers: list[GapAnswer] = []
        for requester in sorted(heard.values(), key=lambda r: r.station_id):
            answer = self._answer(now, speed, requester)
            if answer is not None:
                answers.append(answer)
        for station, (at, reason) in list(self._released.items()):
            if now - at <= p.answer_hold and station not in heard:
                answers.append(GapAnswer(station, False, reason))
            elif now - at > max(p.answer_hold, p.retry_after):
                del self._released[station]
        held_answer = next((a for a in answers if a.accepted), None)
        return held_answer or (answers[0] if answers else None)

    def _answer(self, now: float, speed: float, requester: RequesterState) -> GapAnswer | None:
        station = requester.station_id
        if station == self._holding:
            return GapAnswer(station, True, GapResponseReason.GAP_OPENING.value)
        if station in self._released:
            return GapAnswer(station, False, self._released[station][1])
        if requester.in_lane:
            return None
        if self._holding is not None:
            return self._note(now, station, False, GapResponseReason.YIELDING_TO_ANOTHER.value)
        if requester.gap < -BESIDE_MARGIN:
            return self._note(now, station, False, GapResponseReason.REQUESTER_NOT_AHEAD.value)
        decel = self.opening_decel(requester.gap, speed, requester.speed)
        if decel > self.params.comfort_decel or speed - max(decel, 0.0) * self.params.open_time < 0.0:
            return self._note(now, station, False, GapResponseReason.BEYOND_COMFORT_LIMITS.value)
        self._holding, self._since = station, now
        return self._note(now, station, True, GapResponseReason.GAP_OPENING.value)

    def _note(self, now: float, station: int, accepted: bool, reason: str) -> GapAnswer:
        if self._last.get(station) != (accepted, reason):
            self._last[station] = (accepted, reason)
            self.log.append(NegotiationEvent(now, "answer", station, None, accepted, reason))
        return GapAnswer(station, accepted, reason)

    def yield_speed(self, speed: float, requester: RequesterState) -> float:
        """Speed target [m/s] while opening the gap for ``requester``: its speed, lowered by the gap
        still missing spread over ``open_time`` (the requester projected into this lane is a
        virtual leader followed at the needed gap), never below zero."""
        missing = self.needed_gap(speed, requester.speed) - requester.gap
        return max(requester.speed - max(missing, 0.0) / self.params.open_time, 0.0)


def requester_on_path(path: Polyline, request: GapRequest, now: float, s_front: float, length: float,
                      lane_width: float) -> RequesterState:
    """A request as the yielding vehicle sees it along its ``path``: the requester's reported position
    moved on at its speed to ``now`` [s], its gap from the front bumper ``s_front`` [m] (both vehicles
    ``length`` [m] long: a V2X request carries no size), in the lane when within half a
    ``lane_width`` [m] of the path."""
    s, d, _ = path.project(request.x, request.y)
    s += request.speed * max(now - request.header.stamp, 0.0)
    return RequesterState(request.requester_id, s - 0.5 * length - s_front, request.speed,
                          abs(d) < 0.5 * lane_width, request.header.stamp)


class GapAsker:
    """The merging vehicle's side (see module docstring)."""

    def __init__(self, params: NegotiationParams):
        self.params = params
        self._asking: int | None = None
        self._refused: dict[int, float] = {}
        self._answers: dict[int, tuple[bool, str]] = {}
        self.log: list[NegotiationEvent] = []

    def step(self, now: float, merging: bool, candidate: int | None, answers: list[GapAnswer]) -> int | None:
        """Station ID to ask now (None: ask nobody). ``merging``: the ego's merge is on;
        ``candidate``: the connected vehicle it wants as its new follower (None: none connected);
        ``answers``: the answers received since the last step."""
        for answer in answers:
            if answer.responder_id is None or answer.requester_id is None:
                continue
            if self._answers.get(answer.responder_id) != (answer.accepted, answer.reason):
                self._answers[answer.responder_id] = (answer.accepted, answer.reason)
                self.log.append(NegotiationEvent(now, "answer", None, answer.responder_id, answer.accepted,
                                                 answer.reason))
            if not answer.accepted and answer.responder_id == self._asking:
                self._refused[answer.responder_id] = now
                self._asking = None
        if not merging or candidate is None:
            self._asking = None
            return None
        refused = self._refused.get(candidate)
        if refused is not None and now - refused < self.params.retry_after:
            return None
        if candidate != self._asking:
            self._asking = candidate
            self._answers.pop(candidate, None)
            self.log.append(NegotiationEvent(now, "request", None, candidate, None, ""))
        return self._asking
