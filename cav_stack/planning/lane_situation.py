"""The ego's lane situation on its route: neighbours per lane, which lane change to make, when a
lane change is over, and the stop before the end of a lane that ends on the route.

All positions are along the ego's lane centre line (``path``, a :class:`~cav_stack.core.path.Polyline`
in ``map``): ``s`` [m] along it, lateral offsets [m] positive to the left; SUMO lane indices grow to
the left. Gaps are bumper to bumper [m], speeds [m/s]. MOBIL decides safety and incentive
(:func:`~cav_stack.planning.lane_change.evaluate_lane_change`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from cav_stack.control.idm_baseline import IdmParams
from cav_stack.core.messages import TrackList
from cav_stack.core.path import Polyline
from cav_stack.planning.lane_change import LaneNeighbours, MobilParams, evaluate_lane_change
from cav_stack.planning.merge_gap import LaneCar, MergeGapParams, MergeGapPlanner, TargetGap
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


class MergeLaneCars(NamedTuple):
    """The lane to merge into ahead: its cars along the ego's path, the distance [m] from the front
    bumper to the end of the lane that ends, and that lane's speed limit [m/s] (the acceleration
    lane's, not the ramp's: the merge speed is planned for where the merge happens)."""

    cars: list[LaneCar]
    to_end: float
    speed_limit: float
    to_start: float
    """[m] from the front bumper to the start of the lane that ends (0 on it)."""


@dataclass(frozen=True)
class MergeTarget:
    """An active merge's plan: the gap chosen in the target lane, the speed [m/s] that brings the
    ego alongside it, and the distance [m] from the front bumper to the end of the ego's lane."""

    gap: TargetGap
    speed: float
    to_end: float


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
                 lane_end_decel: float, lane_change_duration: float, merge: MergeGapParams | None = None,
                 merge_lookahead: float = 0.0):
        """merge: the active merge's parameters (None: none, the ego waits for a gap MOBIL accepts);
        merge_lookahead [m]: it starts this far before the end of the ego's lane or of a lane it leads
        into (on an on-ramp, before the acceleration lane); further back, a lane change forced by a
        distant lane end (crossing lanes to an exit) waits for a gap MOBIL accepts
        (:meth:`gap_seeking_speed`)."""
        self._map = road_map
        self._length = ego_length
        self._idm = idm
        self._mobil = mobil
        self._lane_end_decel = lane_end_decel
        self._lane_change_duration = lane_change_duration
        self._merge = None if merge is None else MergeGapPlanner(merge, ego_length, idm, mobil.safe_decel,
                                                                  mobil.min_gap)
        self._merge_lookahead = merge_lookahead

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
        step = self._merge_step(route_edges, edge, lane_index)
        if step is None:
            return None
        lane_width = self._map.lane_width(self._map.lane_id(edge, lane_index))
        s_obj, d_obj = path_coordinates(path, objects)
        offset = step * lane_width
        target = self.neighbours(s_obj, d_obj, s_ego, offset, lane_width, objects)
        speed = target.front_speed if target.front_speed is not None else target.rear_speed
        return None if speed is None else max(speed - slower_by, 0.0)

    def _lane_end_ahead(self, route_edges: tuple[str, ...], edge: str, lane_index: int, s_lane: float
                        ) -> tuple[float, int, float, float] | None:
        """Distance [m] from the front bumper to the end of the lane that ends on the route, along the
        ego's lane and the lanes it leads into, the direction (+1 left, -1 right) of the nearest
        lane leading on there, the ending lane's speed limit [m/s] and the distance [m] to its start
        (0 on it); None when no such end is within
        the merge lookahead (or the ego's lane ends where no lane leads on)."""
        to_end = self._map.lane(self._map.lane_id(edge, lane_index)).length - s_lane - 0.5 * self._length
        current, index = edge, lane_index
        while self._map.lane_continues(route_edges, current, index):
            following = self._map.next_lane_on_route(route_edges, current, index)
            if following is None or to_end > self._merge_lookahead:
                return None
            current = route_edges[route_edges.index(current) + 1]
            index = following
            to_end += self._map.lane(self._map.lane_id(current, index)).length
        if to_end > self._merge_lookahead:
            return None
        step = self._merge_step(route_edges, current, index)
        ending = self._map.lane(self._map.lane_id(current, index))
        return None if step is None else (to_end, step, ending.speed_limit, max(to_end - ending.length, 0.0))

    def _merge_step(self, route_edges: tuple[str, ...], edge: str, lane_index: int) -> int | None:
        """Direction (+1 left, -1 right) from lane ``lane_index`` of ``edge`` towards the nearest lane
        of it leading on along the route; None when none does."""
        leading_on = [i for i in range(self._map.lane_count(edge)) if self._map.lane_continues(route_edges, edge, i)]
        if not leading_on:
            return None
        return 1 if min(leading_on, key=lambda i: abs(i - lane_index)) > lane_index else -1

    def merge_lane_cars(self, route_edges: tuple[str, ...], path: Polyline, objects: TrackList, edge: str,
                        lane_index: int, s_lane: float) -> MergeLaneCars | None:
        """While the ego's lane, or a lane it leads into, ends on the route within the merge lookahead:
        the cars of the lane to merge into along ``path`` (IDs: track IDs), the distance [m] from the
        front bumper to that end and the ending lane's speed limit. None otherwise and on junctions.
        ``s_lane`` [m]: the ego centre's position along its lane."""
        if edge.startswith(":"):
            return None
        ahead = self._lane_end_ahead(route_edges, edge, lane_index, s_lane)
        if ahead is None:
            return None
        to_end, step, limit, to_start = ahead
        lane_width = self._map.lane_width(self._map.lane_id(edge, lane_index))
        s_obj, d_obj = path_coordinates(path, objects)
        cars = [LaneCar(obj.track_id, float(s_obj[k]), obj.speed, obj.length)
                for k, obj in enumerate(objects.objects) if abs(d_obj[k] - step * lane_width) <= lane_width / 2.0]
        return MergeLaneCars(cars, to_end, limit, to_start)

    def merge_target(self, lane_cars: MergeLaneCars | None, s_ego: float, speed: float,
                     speed_limit: float, *, changing: bool = False) -> MergeTarget | None:
        """The active merge (:mod:`~cav_stack.planning.merge_gap`) among ``lane_cars``
        (:meth:`merge_lane_cars`): the gap the ego (centre at ``s_ego`` [m], ``speed`` [m/s]) reaches
        first within the speed limit of the lane it merges from (on a ramp: the acceleration lane's,
        where it can reach the main line's speed), and the speed (at most ``speed_limit`` [m/s], the
        limit where the ego is now) that takes it there. None when no merge is
        ahead, without merge parameters, or when no gap is reachable before the lane ends (then the
        ego waits for one). ``changing``: the lane change is under way (its gap stays the target while
        its cars are there)."""
        if self._merge is None:
            return None
        if lane_cars is None:
            self._merge.reset()
            return None
        cars, to_end, merge_limit, to_start = lane_cars
        gap = self._merge.choose(cars, s_ego, speed, to_end - LANE_END_STOP_MARGIN, merge_limit, committed=changing,
                                 hold=to_start if speed_limit < merge_limit else 0.0)
        if gap is None:
            return None
        return MergeTarget(gap, min(self._merge.speed_command(gap, s_ego, speed, merge_limit), speed_limit), to_end)

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

    def lane_end_stop(self, edge: str, lane_index: int, s_lane: float, speed: float, *,
                      merging: bool = False) -> float | None:
        """Distance [m] from the front bumper to the stop before the end of the ego's lane (which
        ends on its route), once that end is within the distance a stop at ``lane_end_decel`` from
        ``speed`` [m/s] needs plus one second of travel; None before: until then the car keeps its
        speed to merge at the traffic's speed, after, it waits there for a gap. While an active merge
        has a reachable gap (``merging``), only once the stop needs the merge's ``abort_decel``.
        ``s_lane`` [m]: the ego centre's position along the lane."""
        lane = self._map.lane(self._map.lane_id(edge, lane_index))
        to_end = lane.length - s_lane - 0.5 * self._length - LANE_END_STOP_MARGIN
        if merging and self._merge is not None:
            needed = self._merge.abort_distance(speed)
        else:
            needed = speed ** 2 / (2.0 * self._lane_end_decel) + speed * 1.0
        return None if to_end > needed else to_end
