"""Active merge: choose a reachable gap in the lane the ego must merge into, and the speed that
brings the ego alongside it.

Everything is along the ego's path (``s`` [m], the ego's lane centre line in ``map``): the cars of
the target lane as :class:`LaneCar` (box centre ``s``, speed [m/s], length [m]). A gap between two
consecutive cars (or behind the last / ahead of the first) has a *slot*: the ego-centre positions
from which a lane change keeps MOBIL's safety criterion (the new follower's IDM deceleration at
most ``safe_decel``, :func:`~cav_stack.planning.lane_change.evaluate_lane_change`) and the minimum
gap ahead. The slot's rear bound is computed for the ego passing into the gap ``approach_speed``
faster than the new follower (IDM's desired gap shrinks with the closing speed, so a merge that
arrives a little faster needs a shorter gap behind, as a human driver merges in). The gap whose
slot the ego reaches first (bang-bang in relative speed, within the speed limit and ``max_accel``
/ ``max_decel``) before its lane ends wins; the speed command closes the distance to the slot on
a deceleration-limited profile (square root of the distance) and then rides the gap's speed.
Choosing early and adapting speed to a gap is what merging drivers do (and what SUMO's LC2013
model's speed adaptation for strategic changes does); the stop at the end of the lane stays the
fall-back when no gap is reachable.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cav_stack.control.idm_baseline import IdmParams
from cav_stack.core.params import validate_positive


@dataclass(frozen=True)
class MergeGapParams:
    """approach_speed [m/s]: the ego enters a gap this much faster than its new follower;
    front_time_gap [s]: time gap kept to the new leader at the moment of the change (plus MOBIL's
    min_gap); max_accel, max_decel [m/s^2] (positive): speed changes used to reach a gap;
    lane_change_time [s]: time from the decision to being in the target lane (the slot must be
    reached at least this long before the lane ends); abort_decel [m/s^2] (positive): a merge that
    loses its gap stops before the lane's end at this deceleration (the slot must be reached before
    that stop has to begin); switch_margin [s]: another gap replaces the chosen
    one only when it is reached this much sooner (no dithering between two gaps); min_slot [m]: a
    gap whose slot is shorter is not targeted (in dense traffic the ego then lets the cars pass until
    one leaves a gap MOBIL accepts, :meth:`~cav_stack.planning.lane_situation.LaneSituation.gap_seeking_speed`);
    rear_visibility [m]: how far behind the ego every car of the target lane is known to be seen (other
    cars hide those further back): the open gap behind the rearmost car seen is targeted only when its
    slot reaches within this distance of the ego, as nothing is known of the lane beyond."""

    approach_speed: float
    front_time_gap: float
    max_accel: float
    max_decel: float
    lane_change_time: float
    abort_decel: float
    switch_margin: float
    min_slot: float
    rear_visibility: float

    def __post_init__(self) -> None:
        validate_positive(max_accel=self.max_accel, max_decel=self.max_decel, lane_change_time=self.lane_change_time,
                          abort_decel=self.abort_decel, rear_visibility=self.rear_visibility)
        if self.approach_speed < 0.0 or self.front_time_gap < 0.0 or self.switch_margin < 0.0:
            raise ValueError("approach_speed, front_time_gap and switch_margin must be >= 0")


@dataclass(frozen=True)
class LaneCar:
    """A car of the target lane along the ego's path: its ID (track or V2X station), box centre
    ``s`` [m], speed [m/s] and length [m]."""

    car_id: int
    s: float
    speed: float
    length: float


@dataclass(frozen=True)
class TargetGap:
    """The chosen gap: its rear and front car (None: open), the slot of ego-centre positions
    ``slot_rear`` .. ``slot_front`` [m] now, the gap's speed [m/s] (its rear car's, else its front
    car's) and the time [s] the ego needs to reach the slot."""

    rear: LaneCar | None
    front: LaneCar | None
    slot_rear: float
    slot_front: float
    speed: float
    reach_time: float

    @property
    def key(self) -> tuple[int | None, int | None]:
        """The gap's identity: the IDs of its rear and front car."""
        return (None if self.rear is None else self.rear.car_id, None if self.front is None else self.front.car_id)


def safe_rear_gap(follower_speed: float, ego_speed: float, idm: IdmParams, safe_decel: float, min_gap: float) -> float:
    """Smallest bumper-to-bumper gap [m] behind the ego at which a follower at ``follower_speed``
    [m/s] behind the ego at ``ego_speed`` [m/s] brakes no harder than ``safe_decel`` [m/s^2] by IDM
    (the inverse of MOBIL's safety criterion), never below ``min_gap`` [m]."""
    v = max(follower_speed, 0.0)
    desired = idm.standstill_gap + max(0.0, v * idm.time_gap + v * (v - ego_speed)
                                       / (2.0 * math.sqrt(idm.max_accel * idm.comfortable_decel)))
    room = 1.0 - (v / idm.desired_speed) ** idm.exponent + safe_decel / idm.max_accel
    if room <= 0.0:
        return math.inf
    return max(desired / math.sqrt(room), min_gap)


class MergeGapPlanner:
    """Gap choice and speed command of one merging ego of length ``ego_length`` [m].

    idm, safe_decel [m/s^2], min_gap [m]: the model and thresholds of MOBIL's safety criterion (the
    same as the lane-change decision's). Keeps the chosen gap between calls (:meth:`reset` once the
    merge is over).
    """

    def __init__(self, params: MergeGapParams, ego_length: float, idm: IdmParams, safe_decel: float,
                 min_gap: float):
        self.params = params
        self._length = ego_length
        self._idm = idm
        self._safe_decel = safe_decel
        self._min_gap = min_gap
        self._chosen: tuple[int | None, int | None] | None = None

    def reset(self) -> None:
        """Forget the chosen gap."""
        self._chosen = None

    def abort_distance(self, speed: float) -> float:
        """Distance [m] a stop from ``speed`` [m/s] at ``abort_decel`` takes."""
        return speed ** 2 / (2.0 * self.params.abort_decel)

    def gaps(self, cars: list[LaneCar], s_ego: float, speed: float, to_end: float, speed_limit: float
             ) -> list[TargetGap]:
        """Every gap of the target lane whose slot the ego (centre at ``s_ego`` [m], ``speed`` [m/s])
        reaches within ``speed_limit`` [m/s] while, of the ``to_end`` [m] left before its lane ends,
        enough remains for the lane change (``lane_change_time`` at the gap's pace) or, should the gap
        close, for a stop at ``abort_decel``; soonest first."""
        p = self.params
        ordered = sorted(cars, key=lambda c: c.s)
        found: list[TargetGap] = []
        for k in range(len(ordered) + 1):
            rear = ordered[k - 1] if k > 0 else None
            front = ordered[k] if k < len(ordered) else None
            gap_speed = rear.speed if rear is not None else front.speed if front is not None else speed
            ego_speed = gap_speed + (p.approach_speed if rear is not None else 0.0)
            slot_rear = -math.inf if rear is None else rear.s + 0.5 * (rear.length + self._length) + safe_rear_gap(
                rear.speed, ego_speed, self._idm, self._safe_decel, self._min_gap)
            slot_front = math.inf if front is None else front.s - 0.5 * (front.length + self._length) - (
                self._min_gap + p.front_time_gap * ego_speed)
            if slot_front - slot_rear < p.min_slot:
                continue
            if rear is None and front is not None and slot_front < s_ego - p.rear_visibility:
                continue   # behind the rearmost car seen: the lane there is unknown, not open
            reach = self._reach_time(s_ego, speed, slot_rear, slot_front, gap_speed, ego_speed, speed_limit)
            if reach is None:
                continue
            # displacement until in the target lane: the gap's pace plus the distance to its slot
            ahead = max(slot_rear - s_ego, 0.0) - max(s_ego - slot_front, 0.0)
            reserve = max(ego_speed * p.lane_change_time, self.abort_distance(ego_speed))
            if gap_speed * reach + ahead + reserve > to_end:
                continue
            found.append(TargetGap(rear, front, slot_rear, slot_front, gap_speed, reach))
        return sorted(found, key=lambda g: g.reach_time)

    def _reach_time(self, s_ego: float, speed: float, slot_rear: float, slot_front: float, gap_speed: float,
                    ego_speed: float, speed_limit: float) -> float | None:
        """Time [s] to bring the ego into the slot at the slot's pace ``ego_speed`` [m/s], from its
        ``speed`` [m/s]: in the frame moving with the slot, first shed any speed away from it, then
        accelerate towards it and brake to rest in it (bang-bang), the relative speed capped by the
        speed limit ahead and by standstill behind. None: the slot is out of reach of those speeds."""
        p = self.params
        relative = speed - ego_speed                  # > 0: the ego gains on slots ahead of it
        if slot_rear <= s_ego <= slot_front:
            if ego_speed > speed_limit:                # it would slip out of the slot backwards
                return None
            return abs(relative) / (p.max_decel if relative > 0.0 else p.max_accel)
        ahead = s_ego < slot_rear
        distance = slot_rear - s_ego if ahead else s_ego - slot_front
        towards = relative if ahead else -relative   # relative speed towards the slot
        cap = (speed_limit - ego_speed) if ahead else ego_speed
        if cap <= 0.1:
            return None
        push, brake = (p.max_accel, p.max_decel) if ahead else (p.max_decel, p.max_accel)
        time = 0.0
        if towards < 0.0:                            # moving away from it: stop that first
            time, distance, towards = -towards / push, distance + towards ** 2 / (2.0 * push), 0.0
        towards = min(towards, cap)
        # accelerate (push) from ``towards`` to ``peak``, cruise, brake to rest in the slot
        peak = min(math.sqrt((2.0 * push * brake * distance + brake * towards ** 2) / (push + brake)), cap)
        peak = max(peak, towards)
        covered = (peak ** 2 - towards ** 2) / (2.0 * push) + peak ** 2 / (2.0 * brake)
        cruise = max(distance - covered, 0.0) / peak if peak > 0.0 else math.inf
        return time + (peak - towards) / push + cruise + peak / brake

    def choose(self, cars: list[LaneCar], s_ego: float, speed: float, to_end: float, speed_limit: float, *,
               committed: bool = False, hold: float = 0.0) -> TargetGap | None:
        """The gap to merge into (see :meth:`gaps`): the one chosen before while it stays reachable and
        no other is reached ``switch_margin`` sooner; None when no gap is reachable. ``committed``: the
        lane change into the chosen gap is under way, so it stays chosen while its cars are there.
        ``hold`` [m]: the ego keeps its speed for this distance before it may change it (on a ramp,
        up to the acceleration lane, where the main line's speed is allowed): the gaps are judged
        from where the ego and the cars will be then. The gap returned has its slot as it is now."""
        if committed and self._chosen is not None:
            kept = next((g for g in self._slots_now(cars, s_ego, speed) if g.key == self._chosen), None)
            if kept is not None:
                return kept
        delay = hold / max(speed, 1.0) if hold > 0.0 else 0.0
        later = [replace(c, s=c.s + c.speed * delay) for c in cars]
        candidates = self.gaps(later, s_ego + hold, speed, to_end - hold, speed_limit)
        if not candidates:
            self._chosen = None
            return None
        best = candidates[0]
        kept = next((g for g in candidates if g.key == self._chosen), None)
        if kept is not None and kept.reach_time <= best.reach_time + self.params.switch_margin:
            best = kept
        self._chosen = best.key
        if delay == 0.0:
            return best
        now = next((g for g in self._slots_now(cars, s_ego, speed) if g.key == best.key), None)
        if now is None:            # its slot is not reachable from here at all (traffic at a standstill)
            self._chosen = None
            return None
        return replace(now, reach_time=best.reach_time + delay)

    def _slots_now(self, cars: list[LaneCar], s_ego: float, speed: float) -> list[TargetGap]:
        """Every gap of the target lane with a slot, whatever the speed limit and the lane end."""
        return self.gaps(cars, s_ego, speed, math.inf, math.inf)

    def speed_command(self, gap: TargetGap, s_ego: float, speed: float, speed_limit: float) -> float:
        """Speed [m/s] for the ego (centre at ``s_ego`` [m], at ``speed`` [m/s]) that brings it into the slot of ``gap``
        and through it, within 0 .. ``speed_limit`` [m/s]. In the slot it passes from ``approach_speed`` faster
        than the gap's rear car in the slot's rear half to the front car's speed at its front end (it enters the
        gap faster than its new follower and does not run up on its new leader); the slot's rear end moves
        forward while the ego is slower than planned (the lane change is judged on its real speed). Outside, it
        aims at the slot's rear end, moved forward by the distance the slot gains while the ego makes up a speed
        deficit at ``max_accel`` (a ramp car slower than the main line waits for its gap ahead of it, and the
        gap reaches it as it speeds up in the acceleration lane); behind that point it closes in on a profile
        that brakes back to the gap's pace at ``max_decel``, beyond it and the slot's front it drops back on one
        that recovers it at ``max_accel``."""
        p = self.params
        ride = gap.speed + (p.approach_speed if gap.rear is not None else 0.0)
        slot_rear = gap.slot_rear
        if gap.rear is not None:   # slower than planned, the ego needs more room behind: MOBIL judges its real speed
            slot_rear = max(slot_rear, gap.rear.s + 0.5 * (gap.rear.length + self._length) + safe_rear_gap(
                gap.rear.speed, speed, self._idm, self._safe_decel, self._min_gap))
        if gap.front is not None and slot_rear <= s_ego <= gap.slot_front:
            half = 0.5 * (gap.slot_front + slot_rear)
            through = max(s_ego - half, 0.0) / max(gap.slot_front - half, 1e-6) if gap.rear else 1.0
            return min(max((1.0 - through) * ride + through * gap.front.speed, 0.0), speed_limit)
        deficit = max(ride - min(speed, speed_limit), 0.0)
        aim = slot_rear + deficit ** 2 / (2.0 * p.max_accel)
        beyond = max(aim, gap.slot_front)
        if s_ego < aim:
            ride += math.sqrt(2.0 * p.max_decel * (aim - s_ego))
        elif s_ego > beyond:
            ride -= math.sqrt(2.0 * p.max_accel * (s_ego - beyond))
        return min(max(ride, 0.0), speed_limit)
