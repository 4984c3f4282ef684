"""A distributed shield over the CAVs' joint lane-change actions (in the spirit of SROLE,
arXiv 2206.00774: each agent's decision passes a shield that keeps the joint action safe).

Two CAVs' intended manoeuvres conflict when both change lanes into the same lane and their
planned trajectories put them there at the same place at the same time: one from the on-ramp's
acceleration lane, one from the next lane into the same gap. Each CAV runs this shield on its own
claim and the claims it received in ManeuverShares (intent ``laneChangeLeft/Right``, planned
trajectory points, ``target_lane_offset``); the shield says whether it may proceed and, when not,
whom it yields to. The node turns a yield into an action: *defer* a lane change not begun, *abort*
one begun while still in the own lane (steer back to its centre).

Frame: a :class:`Claim` is in the road frame of the CAV running the shield: ``s`` [m] along its
own lane's centre line (in driving direction), lateral ``d`` [m] to the left of it. Times [s] are
simulation time (absolute).

**Rule** (:func:`priority`): the claim from a lane that ends (it must merge: the acceleration lane)
goes first; among claims of the same class the lower station ID goes first.

**Why both sides agree without a central authority.** The conflict test (:func:`conflict`) is
symmetric in its two claims, and the priority is a strict total order on claims computed only from
what each claim itself carries (the sender's lane class, from its shared position on the common
map, and its station ID), not from who evaluates it: A and B, each holding the other's latest
share, reach the same winner. The priority uses a class, not a continuous distance to the lane
end, so that a share one generation older than the other side's (they go out every 0.2 s) gives
the same order; station IDs change only with pseudonyms (minutes). A decision is kept for a pair
(:class:`JointActionShield`) until that pair no longer conflicts, so it does not flip while the
manoeuvre runs.

**A lost or late message.** A conflicting claim older than ``max_age`` is *unsure*: the other side
may have moved on, or may be going ahead; the shield yields to it whatever the rule would say
(conservative), until the claim is ``forget_after`` old (the other's lane change is over by then)
or a fresh share withdraws it. Without any share from the other vehicle there is no claim to
conflict with: the onboard MOBIL safety check (sensing) still guards the lane change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from cav_stack.core.params import validate_positive


@dataclass(frozen=True)
class ShieldParams:
    """clearance [m]: bumper-to-bumper distance two claims in the same lane keep at every common
    time (below it they conflict); time_gap [s]: added to the clearance times the rear vehicle's
    speed; lane_width [m]: claims whose target lanes' centres are closer than half of it target
    the same lane; max_age [s]: a claim older than this is unsure (yield to it);
    forget_after [s]: a claim older than this is dropped; step [s]: time step of the conflict test."""

    clearance: float
    time_gap: float
    lane_width: float
    max_age: float
    forget_after: float
    step: float

    def __post_init__(self) -> None:
        validate_positive(clearance=self.clearance, lane_width=self.lane_width, max_age=self.max_age,
                          step=self.step)
        if self.time_gap < 0.0:
            raise ValueError("time_gap must be >= 0")
        if not self.forget_after > self.max_age:
            raise ValueError("forget_after must be above max_age")


@dataclass(frozen=True)
class Claim:
    """A lane change one CAV intends or runs: its station ID, the time [s] its plan was made,
    whether its lane ends (it must merge), the target lane's centre ``target_d`` [m] (road frame,
    left +), its length [m] and its planned path ``times`` [s, absolute], ``s`` [m] and ``speed`` [m/s]."""

    station_id: int
    stamp: float
    lane_ends: bool
    target_d: float
    length: float
    times: tuple[float, ...]
    s: tuple[float, ...]
    speed: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.times or not len(self.times) == len(self.s) == len(self.speed):
            raise ValueError("a claim needs one s and speed per time, at least one")
        if any(b < a for a, b in pairwise(self.times)):
            raise ValueError("claim times must not decrease")


def priority(claim: Claim) -> tuple[int, int]:
    """The rule's order (lower goes first): a claim from a lane that ends, then the lower station ID."""
    return (0 if claim.lane_ends else 1, claim.station_id)


def same_lane(a: Claim, b: Claim, params: ShieldParams) -> bool:
    """Whether both claims target the same lane."""
    return abs(a.target_d - b.target_d) < 0.5 * params.lane_width


def min_separation(a: Claim, b: Claim, params: ShieldParams) -> float | None:
    """Smallest bumper-to-bumper distance [m] minus the time-gap margin between the two planned
    paths over their common time window (linear between points); None when they share no time."""
    start, end = max(a.times[0], b.times[0]), min(a.times[-1], b.times[-1])
    if end < start:
        return None
    t = np.append(np.arange(start, end, params.step), end)
    sa, sb = np.interp(t, a.times, a.s), np.interp(t, b.times, b.s)
    va, vb = np.interp(t, a.times, a.speed), np.interp(t, b.times, b.speed)
    rear_speed = np.where(sa < sb, va, vb)
    gap = np.abs(sb - sa) - 0.5 * (a.length + b.length) - params.time_gap * rear_speed
    return float(gap.min())


def conflict(a: Claim, b: Claim, params: ShieldParams) -> bool:
    """Overlapping occupancy: both target the same lane and, at some common time, their planned
    positions are closer than the clearance (plus the time gap). Symmetric in ``a`` and ``b``."""
    if not same_lane(a, b, params):
        return False
    separation = min_separation(a, b, params)
    return separation is not None and separation < params.clearance


@dataclass(frozen=True)
class ShieldDecision:
    """What the shield allows at ``time`` [s]: ``proceed``; when not, the station ``yield_to`` and
    ``unsure`` (its claim is stale: yielded out of caution); ``conflicts``: the stations whose claims
    conflict with the own one now."""

    time: float
    proceed: bool
    yield_to: int | None = None
    unsure: bool = False
    conflicts: tuple[int, ...] = ()


@dataclass(frozen=True)
class Resolution:
    """One resolved conflict as this CAV decided it: time [s], the station that proceeds, the one
    that yields, whether the decision was out of caution (the other's claim was stale)."""

    time: float
    proceeds: int
    yields: int
    unsure: bool


@dataclass
class JointActionShield:
    """The shield of one CAV: :meth:`decide` each cycle; decisions per pair are kept while the pair
    conflicts; :attr:`log` records each new resolution once."""

    params: ShieldParams
    log: list[Resolution] = field(default_factory=list)
    _decided: dict[int, Resolution] = field(default_factory=dict)

    def decide(self, now: float, own: Claim | None, others: list[Claim]) -> ShieldDecision:
        """The decision at ``now`` [s] for the own claim (None: no lane change wanted) against the
        latest claim of each other station."""
        p = self.params
        if own is None:
            self._decided.clear()
            return ShieldDecision(now, True)
        live = [c for c in others if now - c.stamp <= p.forget_after and c.station_id != own.station_id]
        conflicting = [c for c in live if conflict(own, c, p)]
        for station in set(self._decided) - {c.station_id for c in conflicting}:
            del self._decided[station]          # that pair no longer conflicts: its decision ends
        yield_to: Resolution | None = None
        for other in sorted(conflicting, key=priority):
            unsure = now - other.stamp > p.max_age
            resolution = self._decided.get(other.station_id)
            if resolution is None or (unsure and not resolution.unsure and resolution.proceeds == own.station_id):
                own_first = not unsure and priority(own) < priority(other)
                winner, loser = (own, other) if own_first else (other, own)
                resolution = Resolution(now, winner.station_id, loser.station_id, unsure)
                self._decided[other.station_id] = resolution
                self.log.append(resolution)
            if resolution.yields == own.station_id and yield_to is None:
                yield_to = resolution
        ids = tuple(c.station_id for c in conflicting)
        if yield_to is None:
            return ShieldDecision(now, True, conflicts=ids)
        return ShieldDecision(now, False, yield_to.proceeds, yield_to.unsure, ids)
