"""Baseline controller: IDM car following plus pure-pursuit lane keeping.

A named, honest baseline for comparison with the stack (and to close the loop before the
full stack exists). Intelligent Driver Model: M. Treiber, A. Hennecke, D. Helbing, "Congested
traffic states in empirical observations and microscopic simulations", Phys. Rev. E 62 (2000).
Pure pursuit: R. C. Coulter, "Implementation of the Pure Pursuit Path Tracking Algorithm",
CMU-RI-TR-92-01 (1992).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cav_stack.core.messages import ObjectClass, TrackedObject, TrackList
from cav_stack.core.path import Polyline
from cav_stack.core.params import validate_positive


@dataclass(frozen=True)
class IdmParams:
    """IDM and pure-pursuit parameters.

    desired_speed [m/s]; time_gap [s]; standstill_gap [m]; max_accel [m/s^2];
    comfortable_decel [m/s^2] (positive); max_decel [m/s^2] (positive, emergency bound);
    exponent (IDM delta, dimensionless); lookahead_time [s] and min_lookahead [m] of pure
    pursuit.
    """

    desired_speed: float
    time_gap: float
    standstill_gap: float
    max_accel: float
    comfortable_decel: float
    max_decel: float
    exponent: float
    lookahead_time: float
    min_lookahead: float

    def __post_init__(self) -> None:
        validate_positive(desired_speed=self.desired_speed, time_gap=self.time_gap,
                          max_accel=self.max_accel, comfortable_decel=self.comfortable_decel,
                          max_decel=self.max_decel, lookahead_time=self.lookahead_time,
                          min_lookahead=self.min_lookahead)


@dataclass(frozen=True)
class LeaderWindow:
    """Where the leader is searched: objects whose box reaches within corridor_half_width [m] of
    the path (the ego's half width plus a margin: a bus or a long car turning into the lane
    touches it with a corner long before its centre is in the lane), up to sensing_range [m]
    ahead (bumper to bumper). A neighbour's drift across the path is projected cut_in_horizon [s]
    ahead (0: not at all), so a car cutting in counts as the leader while it is still crossing the
    lane line rather than once it is in the lane. A pedestrian or cyclist walking or riding across
    the path is projected crossing_horizon [s] ahead (0: not at all): one that will reach the
    corridor within it is a leader (at its along-path speed, about 0: the ego stops short of its
    crossing line), one that has crossed it and walks on is not."""

    corridor_half_width: float
    sensing_range: float
    cut_in_horizon: float = 0.0
    crossing_horizon: float = 0.0

    def __post_init__(self) -> None:
        validate_positive(corridor_half_width=self.corridor_half_width, sensing_range=self.sensing_range)
        for name in ("cut_in_horizon", "crossing_horizon"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"{name} must be >= 0 s, got {getattr(self, name)}")


@dataclass(frozen=True)
class Leader:
    """The vehicle ahead on the path: bumper-to-bumper gap [m] and its speed [m/s]."""

    gap: float
    speed: float
    track_id: int


CUT_IN_MAX_OFFSET = 4.5
"""[m] farthest lateral offset of a car cutting in: the centre of a neighbouring lane (3.2-3.75 m) plus margin."""
CROSSING_CLASSES = (ObjectClass.PEDESTRIAN, ObjectClass.BICYCLE)
"""Road users whose walk or ride across the path is projected ``LeaderWindow.crossing_horizon`` ahead."""
CROSSING_MIN_SPEED = 0.2
"""[m/s] a pedestrian or cyclist slower than this stands (an obstacle to pass), faster it is on its way."""


def crossing_user(obj: TrackedObject) -> bool:
    """Whether ``obj`` is a pedestrian or cyclist on the move (:data:`CROSSING_CLASSES`)."""
    return obj.object_class in CROSSING_CLASSES and obj.speed > CROSSING_MIN_SPEED


def crossing_ahead(path: Polyline, s_ego: float, objects: TrackList, sensing_range: float) -> bool:
    """Whether a pedestrian or cyclist on the move (:func:`crossing_user`) is ahead of the ego
    (arc length ``s_ego`` [m] on ``path``) within ``sensing_range`` [m], in the ego's lane or a
    neighbouring one (centre within CUT_IN_MAX_OFFSET of the path): the ego waits for it rather
    than steer round it, since it walks on into the lane the ego would take."""
    users = [obj for obj in objects.objects if crossing_user(obj)]
    if not users:
        return False
    s, d, _ = path.project_many([(obj.x, obj.y) for obj in users])
    return bool(np.any((s > s_ego) & (s - s_ego <= sensing_range) & (np.abs(d) <= CUT_IN_MAX_OFFSET)))
CUT_IN_MAX_LATERAL_SPEED = 3.5
"""[m/s] fastest lateral drift of a car cutting in: R157 Annex 5's cut-in variations (4.4) run at
0.5-3.0 m/s across; a main-line car seen from an on-ramp drifts faster (0.24 rad at 27 m/s: 6.4 m/s)."""
CUT_IN_MAX_ANGLE = math.pi / 4
"""[rad] largest heading of a cut-in relative to the lane: a slow car cutting in heads far off the
lane (a bus at 10 km/h moving 1.2 m/s across: 0.41 rad), crossing traffic does not drift into it."""


def idm_acceleration(speed: float, leader: Leader | None, p: IdmParams) -> float:
    """IDM acceleration [m/s^2] for the ego speed [m/s] behind ``leader`` (None: free road)."""
    free = 1.0 - (max(speed, 0.0) / p.desired_speed) ** p.exponent
    accel: float
    if leader is None:
        accel = p.max_accel * free
    else:
        closing = speed - leader.speed
        desired_gap = p.standstill_gap + max(
            0.0, speed * p.time_gap + speed * closing / (2.0 * math.sqrt(p.max_accel * p.comfortable_decel)))
        accel = p.max_accel * (free - (desired_gap / max(leader.gap, 0.1)) ** 2)
    return max(accel, -p.max_decel)


def find_leader(path: Polyline, ego_x: float, ego_y: float, ego_length: float, objects: TrackList,
                p: LeaderWindow) -> Leader | None:
    """Nearest object ahead of the ego (box centre ego_x, ego_y [m, map]) whose box reaches into
    the window's corridor, now or, drifting across the path, within ``p.cut_in_horizon`` seconds."""
    if not objects.objects:
        return None
    s, d, headings = path.project_many([(ego_x, ego_y)] + [(obj.x, obj.y) for obj in objects.objects])
    s_ego, d_ego = float(s[0]), float(d[0])
    best: Leader | None = None
    for obj, s_obj, d_obj, heading in zip(objects.objects, s[1:].tolist(), d[1:].tolist(), headings[1:].tolist(),
                                          strict=True):
        if s_obj <= s_ego or _closest_offset(obj, d_obj - d_ego, heading, p) > p.corridor_half_width:
            continue
        gap = s_obj - s_ego - 0.5 * (obj.length + ego_length)
        if gap > p.sensing_range:
            continue
        if best is None or gap < best.gap:
            along = obj.speed * math.cos(obj.yaw - heading)
            best = Leader(gap=gap, speed=along, track_id=obj.track_id)
    return best


def _closest_offset(obj: TrackedObject, offset: float, path_heading: float, p: LeaderWindow) -> float:
    """Smallest distance [m] of ``obj``'s box from the ego's path line over the next
    ``p.cut_in_horizon`` s (a vehicle) or ``p.crossing_horizon`` s (a pedestrian or cyclist,
    :data:`CROSSING_CLASSES`), its lateral speed held (0 once the box touches or straddles the
    line); ``offset`` is the signed offset [m] of its centre now. A vulnerable road user drifts in
    any direction; a vehicle only when in a neighbouring lane (|offset| <= CUT_IN_MAX_OFFSET),
    heading at most CUT_IN_MAX_ANGLE off the path and moving at most CUT_IN_MAX_LATERAL_SPEED
    across it: a car on a converging road (an on-ramp's main line) crosses the path line by
    geometry, not by cutting in."""
    relative_yaw = math.remainder(obj.yaw - path_heading, math.tau)
    half_span = 0.5 * (obj.length * abs(math.sin(relative_yaw)) + obj.width * abs(math.cos(relative_yaw)))
    near, far = offset - half_span, offset + half_span        # the box's lateral extent [m]
    if near <= 0.0 <= far:
        return 0.0
    lateral_speed = obj.speed * math.sin(relative_yaw)
    if crossing_user(obj):
        shift = lateral_speed * p.crossing_horizon
    elif (abs(offset) <= CUT_IN_MAX_OFFSET and abs(relative_yaw) <= CUT_IN_MAX_ANGLE
          and abs(lateral_speed) <= CUT_IN_MAX_LATERAL_SPEED):
        shift = lateral_speed * p.cut_in_horizon
    else:
        shift = 0.0
    if near > 0.0:
        return max(near + min(shift, 0.0), 0.0)
    return max(-(far + max(shift, 0.0)), 0.0)


def pure_pursuit_steer(path: Polyline, rear_x: float, rear_y: float, yaw: float, speed: float,
                       wheelbase: float, p: IdmParams) -> float:
    """Front-wheel angle [rad] steering the rear axle (rear_x, rear_y) [m] onto ``path``."""
    s, _, _ = path.project(rear_x, rear_y)
    lookahead = max(p.min_lookahead, p.lookahead_time * speed)
    gx, gy, _ = path.sample(s + lookahead)
    alpha = math.atan2(gy - rear_y, gx - rear_x) - yaw
    distance = math.hypot(gx - rear_x, gy - rear_y)
    return math.atan2(2.0 * wheelbase * math.sin(alpha), max(distance, 1e-3))


SIGNAL_LEADER_ID = -1
STOP_REQUEST_LEADER_ID = -2
"""Track IDs of virtual stopped leaders: a signal's stop line, a requested stop."""


def stopping_distance(speed: float, p: IdmParams) -> float:
    """Distance [m] ahead of the front bumper where a car at ``speed`` [m/s] can stop behind a
    virtual stopped leader without braking harder than IDM's comfortable deceleration: the
    standstill gap, one time gap of travel and the braking distance at ``comfortable_decel``."""
    return p.standstill_gap + speed * p.time_gap + speed ** 2 / (2.0 * p.comfortable_decel)
"""Track ID of the virtual stopped leader standing at a stop line."""


def signal_leader(state: str | None, distance: float, speed: float, p: IdmParams,
                  committed: bool) -> Leader | None:
    """The virtual stopped leader the next signal imposes, or None to drive on.

    state: its light now (``green``, ``yellow``, ``red``; None: no signal ahead or its state is
    unknown, treated as green); distance: front bumper to the stop line [m]; speed [m/s]; committed: the driver already
    decided to go on this light's yellow. A human driver stops for red, and for yellow when the
    stop needs at most the comfortable deceleration; a light that turns red so close that even
    ``max_decel`` cannot stop the car before the line is passed (no braking inside the junction).
    """
    if state in (None, "green") or committed:
        return None
    stop_needs = speed ** 2 / (2.0 * max(distance, 1e-3))
    limit = p.comfortable_decel if state == "yellow" else p.max_decel
    if stop_needs > limit:
        return None
    return Leader(gap=distance, speed=0.0, track_id=SIGNAL_LEADER_ID)
