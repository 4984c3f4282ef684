"""The ego's lane situation on its route: neighbours per lane, which lane change to make, when a
lane change is over, and the stop before the end of a lane that ends on the route.

All positions are along the ego's lane centre line (``path``, a :class:`~cav_stack.core.path.Polyline`
in ``map``): ``s`` [m] along it, lateral offsets [m] positive to the left; SUMO lane indices grow to
the left. Gaps are bumper to bumper [m], speeds [m/s]. MOBIL decides safety and incentive
(:func:`~cav_stack.planning.lane_change.evaluate_lane_change`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cav_stack.control.idm_baseline import IdmParams
from cav_stack.core.messages import TrackList
from cav_stack.core.path import Polyline
from cav_stack.planning.lane_change import LaneNeighbours, MobilParams, evaluate_lane_change
from cav_stack.planning.mode import LaneOption
from cav_stack.world.road_map import RoadMap

LANE_CHANGE_DONE_OFFSET = 0.3
"""Lateral offset [m] from the target lane's centre below which a lane change is complete."""

LANE_END_STOP_MARGIN = 5.0
"""Distance [m] kept from the end of a lane that ends on the route, when no gap has let the ego out."""


def path_coordinates(path: Polyline, objects: TrackList) -> tuple[np.ndarray, np.ndarray]:
    """Arc length s [m] and lateral offset d [m, left] along ``path`` of every object, in order."""
    if not objects.objects:
        return np.zeros(0), np.zeros(0)
    s, d, _ = path.project_many(np.array([(o.x, o.y) for o in objects.objects]))
    return s, d


@dataclass(frozen=True)
class LaneChangeStart:
    """Where a lane change began: the ego's lane index, the time [s] and the target offset [m] (left +)."""

    lane_index: int
    time: float
    offset: float


class LaneSituation:
    """Lane-level decisions for one ego of length ``ego_length`` [m] on ``road_map``.

    idm / mobil: the models that rate gaps; lane_end_decel [m/s^2]: braking for the end of a lane
    that ends on the route starts late enough to need this deceleration; lane_change_duration [s]:
    the planned duration of a lane change (given up after twice that).
    """

    def __init__(self, road_map: RoadMap, ego_length: float, idm: IdmParams, mobil: MobilParams,
                 lane_end_decel: float, lane_change_duration: float):
        self._map = road_map
        self._length = ego_length
        self._idm = idm
        self._mobil = mobil
        self._lane_end_decel = lane_end_decel
        self._lane_change_duration = lane_change_duration

    def neighbours(self, s_obj: np.ndarray, d_obj: np.ndarray, s_ego: float, offset: float, lane_width: float,
                   objects: TrackList) -> LaneNeighbours:
        """The nearest objects ahead and behind in the lane ``offset`` [m] left of the path, from the
        objects' path coordinates ``s_obj``, ``d_obj`` [m] (:func:`path_coordinates`, in the order of
        ``objects``); an object is in the lane when it lies within half a ``lane_width`` [m] of its centre."""
        ahead: list[tuple[float, float]] = []
        behind: list[tuple[float, float]] = []
        for k in np.flatnonzero(np.abs(d_obj - offset) <= lane_width / 2.0):
            obj, s = objects.objects[k], float(s_obj[k])
            gap = abs(s - s_ego) - 0.5 * (obj.length + self._length)
            (ahead if s > s_ego else behind).append((gap, obj.speed))
        front = min(ahead, default=None)
        rear = min(behind, default=None)
        return LaneNeighbours(front[0] if front else None, front[1] if front else None,
                              rear[0] if rear else None, rear[1] if rear else None,
                              None)

    def target_lane_safe(self, path: Polyline, s_ego: float, speed: float, objects: TrackList, edge: str,
                         lane_index: int, offset: float) -> bool:
        """MOBIL's safety criterion for the lane ``offset`` [m] to the left of ``path`` (the ego's lane)."""
        lane_width = self._map.lane_width(self._map.lane_id(edge, lane_index))
        s_obj, d_obj = path_coordinates(path, objects)
        current = self.neighbours(s_obj, d_obj, s_ego, 0.0, lane_width, objects)
        target = self.neighbours(s_obj, d_obj, s_ego, offset, lane_width, objects)
        return evaluate_lane_change(speed, current, target, self._length, self._idm, self._mobil).safe

    def lane_option(self, route_edges: tuple[str, ...], path: Polyline, s_ego: float, speed: float,
                    objects: TrackList, edge: str, lane_index: int, *, discretionary: bool,
                    leader_connected: bool) -> LaneOption | None:
        """The lane change to make, if any; none on junctions (``edge`` starting with ``:``).

        Mandatory, when the ego's lane ends on its route: towards the nearest lane that leads on,
        as soon as MOBIL's safety criterion holds. Otherwise discretionary (MOBIL's incentive; only
        when ``discretionary``), never into a lane that ends on the route, and none while the leader
        is a connected vehicle the ego can follow cooperatively (``leader_connected``).
        """
        if edge.startswith(":"):
            return None
        count = self._map.lane_count(edge)
        leading_on = [i for i in range(count) if self._map.lane_continues(route_edges, edge, i)]
        mandatory = lane_index not in leading_on
        if mandatory:
            if not leading_on:
                return None
            nearest = min(leading_on, key=lambda i: abs(i - lane_index))
            steps: tuple[int, ...] = (1 if nearest > lane_index else -1,)
        else:
            if not discretionary or leader_connected:
                return None
            steps = tuple(step for step in (+1, -1) if lane_index + step in leading_on)
        lane_width = self._map.lane_width(self._map.lane_id(edge, lane_index))
        s_obj, d_obj = path_coordinates(path, objects)   # projected once, for all the lanes looked at
        current = self.neighbours(s_obj, d_obj, s_ego, 0.0, lane_width, objects)
        best: LaneOption | None = None
        for step in steps:                        # SUMO lane indices grow to the left
            offset = step * lane_width
            target = self.neighbours(s_obj, d_obj, s_ego, offset, lane_width, objects)
            result = evaluate_lane_change(speed, current, target, self._length, self._idm, self._mobil)
            wanted = result.safe if mandatory else result.change
            if wanted and (best is None or result.incentive > best.incentive):
                best = LaneOption(offset, result.incentive, mandatory)
        return best

    def gap_seeking_speed(self, route_edges: tuple[str, ...], path: Polyline, s_ego: float, objects: TrackList,
                          edge: str, lane_index: int, slower_by: float) -> float | None:
        """Speed [m/s] at which the ego lets a gap of the lane it must merge into come alongside,
        while its own lane ends on the route and no mandatory change is safe: ``slower_by`` [m/s]
        below that lane's traffic (its nearest car ahead of the ego, else behind), never negative.
        None when the ego's lane leads on, on junctions, or with no car in that lane.

        At the traffic's speed the ego would keep its place beside the same cars until its lane
        ends (dense_lane_change, seed 17: ~50 s beside the right lane's cars, then a stop at the
        lane's end); a little slower, the cars of that lane pass it one by one, and right behind
        each one comes a gap that MOBIL's safety criterion accepts (the merge-behind of
        strategic lane changes, as SUMO's LC2013 model adapts speed for them)."""
        if edge.startswith(":") or self._map.lane_continues(route_edges, edge, lane_index):
            return None
        leading_on = [i for i in range(self._map.lane_count(edge)) if self._map.lane_continues(route_edges, edge, i)]
        if not leading_on:
            return None
        nearest = min(leading_on, key=lambda i: abs(i - lane_index))
        lane_width = self._map.lane_width(self._map.lane_id(edge, lane_index))
        s_obj, d_obj = path_coordinates(path, objects)
        offset = (1 if nearest > lane_index else -1) * lane_width
        target = self.neighbours(s_obj, d_obj, s_ego, offset, lane_width, objects)
        speed = target.front_speed if target.front_speed is not None else target.rear_speed
        return None if speed is None else max(speed - slower_by, 0.0)

    def lane_change_over(self, start: LaneChangeStart | None, now: float, lane_index: int, lateral: float,
                         path: Polyline, s_ego: float, speed: float, objects: TrackList, edge: str) -> bool:
        """A lane change (begun at ``start``; None: none under way) is over once the ego is centred
        in another lane (|``lateral``| [m] below :data:`LANE_CHANGE_DONE_OFFSET`); it is given up
        after twice its planned duration (blocked), or while the ego is still in its own lane when
        MOBIL's safety criterion no longer holds for the target lane (a car closed the gap: the ego
        steers back into the centre of its lane)."""
        if start is None:
            return False
        if now - start.time > 2.0 * self._lane_change_duration:
            return True
        if lane_index == start.lane_index and start.offset != 0.0 and not edge.startswith(":"):
            return not self.target_lane_safe(path, s_ego, speed, objects, edge, lane_index, start.offset)
        return lane_index != start.lane_index and abs(lateral) < LANE_CHANGE_DONE_OFFSET

    def lane_end_stop(self, edge: str, lane_index: int, s_lane: float, speed: float) -> float | None:
        """Distance [m] from the front bumper to the stop before the end of the ego's lane (which
        ends on its route), once that end is within the distance a stop at ``lane_end_decel`` from
        ``speed`` [m/s] needs plus one second of travel; None before: until then the car keeps its
        speed to merge at the traffic's speed, after, it waits there for a gap. ``s_lane`` [m]: the
        ego centre's position along the lane."""
        lane = self._map.lane(self._map.lane_id(edge, lane_index))
        to_end = lane.length - s_lane - 0.5 * self._length - LANE_END_STOP_MARGIN
        if to_end > speed ** 2 / (2.0 * self._lane_end_decel) + speed * 1.0:
            return None
        return to_end
