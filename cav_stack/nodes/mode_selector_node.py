"""Mode selector node: turns tracks, ego state, route, V2X quality, SPaT and health into a mode.

Inputs: ``input/ego_state`` (EgoState), ``input/objects`` (TrackList), ``input/route`` (Route),
``input/link_quality`` (LinkQualityList), ``input/signal_timing`` (SignalTimingList),
``input/sensor_health`` (DiagnosticStatus), ``input/driver`` (DriverState), ``input/v2x_reports``
(V2xReportList: binds a leader track without a V2X ID to its sender's link).
Output: ``output/mode`` (ModeCommand) at ``rate_hz``. Every switch is logged with its reason.
A perception input that falls silent for longer than ``sensor_timeout`` counts as a sensor
failure (not as an empty road).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from cav_stack.control.idm_baseline import IdmParams, LeaderWindow, find_leader
from cav_stack.control.vehicle_models import VehicleParams, centre_from_rear_axle, load_vehicle_params
from cav_stack.core.messages import (
    DiagnosticStatus, DrivingMode, DriverState, EgoState, Header, LinkQualityList, ModeCommand, Route, SignalTimingList,
    TrackList, V2xReportList,
)
from cav_stack.core.params import validate_positive
from cav_stack.core.path import Polyline
from cav_stack.planning.eco_approach import GreenWindow
from cav_stack.planning.lane_change import LaneNeighbours, MobilParams, evaluate_lane_change
from cav_stack.planning.mode import LaneOption, LeaderInfo, ModeInputs, ModeSelector, ModeSelectorParams, SignalAhead
from cav_stack.planning.odd import OperatingDomain
from cav_stack.planning.road_map import RoadMap
from cav_stack.planning.signals import next_stop_line, timing_of
from cav_stack.planning.v2x_matching import match_report
from cav_stack.runtime.node import LATCHED_QOS, Node, NodeContext
from cav_stack.share import share_path

LANE_CHANGE_DONE_OFFSET = 0.3
"""Lateral offset [m] from the target lane's centre below which a lane change is complete."""

LANE_END_STOP_MARGIN = 5.0
"""Distance [m] kept from the end of a lane that ends on the route, when no gap has let the ego out."""


@dataclass(frozen=True)
class ModeSelectorNodeParams:
    """rate_hz [Hz]; net_file: SUMO network of the road map; startup_grace [s]: time perception
    may take to report for the first time (localisation initialising); sensor_timeout [s]: silence of the
    perception input treated as a sensor failure; v2x_match_max_age [s], v2x_match_distance [m]:
    binding of the leader track to a V2X sender (when the tracker has not bound it); odd: the operating
    domain (the runner sets a scenario's; unbounded: everywhere); lane_changes: allow discretionary
    (MOBIL) lane changes; lane_end_decel [m/s^2]: braking for the end of a lane that ends on the
    route starts late enough to need this deceleration;
    leader: leader search window; selector / mobil / idm: see their dataclasses."""

    rate_hz: float
    net_file: str
    sensor_timeout: float
    startup_grace: float
    v2x_match_max_age: float
    v2x_match_distance: float
    odd: OperatingDomain
    lane_changes: bool
    lane_end_decel: float
    leader: LeaderWindow
    selector: ModeSelectorParams
    mobil: MobilParams
    idm: IdmParams

    def __post_init__(self) -> None:
        validate_positive(rate_hz=self.rate_hz, sensor_timeout=self.sensor_timeout, lane_end_decel=self.lane_end_decel)


class ModeSelectorNode(Node):
    node_name = "mode_selector"
    params_type = ModeSelectorNodeParams
    resource_names = ("vehicle", "road_map")

    def __init__(self, context: NodeContext, *, vehicle: VehicleParams | None = None,
                 road_map: RoadMap | None = None):
        super().__init__(context)
        self._vehicle = vehicle or load_vehicle_params(share_path("controllers", "vehicle.yaml"))
        self._map = road_map or RoadMap.from_net_file(self.params.net_file)
        self.params.odd.check_against(self._map)
        self._selector = ModeSelector(self.params.selector, self.now())
        self._started = self.now()
        self._ego: EgoState | None = None
        self._objects: TrackList | None = None
        self._route: Route | None = None
        self._links = LinkQualityList(Header(0.0, "map"))
        self._timings = SignalTimingList(Header(0.0, "map"))
        self._unhealthy: dict[str, str] = {}
        self._driver = DriverState(Header(0.0, "base_link"))
        self._reports = V2xReportList(Header(0.0, "map"))
        self._lane: tuple[tuple[int, str | None], Polyline] | None = None
        self._lane_change_from: tuple[int, float, float] | None = None   # lane index, start [s], offset [m]
        self._mode_pub = self.create_publisher(ModeCommand, "output/mode")
        self.create_subscription(EgoState, "input/ego_state", self.keep_latest("_ego"))
        self.create_subscription(TrackList, "input/objects", self.keep_latest("_objects"))
        self.create_subscription(Route, "input/route", self._on_route, LATCHED_QOS)
        self.create_subscription(LinkQualityList, "input/link_quality", self.keep_latest("_links"))
        self.create_subscription(SignalTimingList, "input/signal_timing", self.keep_latest("_timings"))
        self.create_subscription(DiagnosticStatus, "input/sensor_health", self._on_health)
        self.create_subscription(DriverState, "input/driver", self.keep_latest("_driver"))
        self.create_subscription(V2xReportList, "input/v2x_reports", self.keep_latest("_reports"))
        self.create_timer(1.0 / self.params.rate_hz, self._tick)

    @property
    def switches(self):
        """The selector's switch log (time, previous, mode, reason)."""
        return self._selector.log


    def _on_route(self, msg: Route) -> None:
        self._route = msg
        self._lane = None

    def _on_health(self, msg: DiagnosticStatus) -> None:
        if msg.level >= 2:
            self._unhealthy[msg.name] = msg.message
        else:
            self._unhealthy.pop(msg.name, None)

    def _tick(self) -> None:
        ego, route = self._ego, self._route
        if ego is None or route is None:
            return
        now = self.now()
        cx, cy = centre_from_rear_axle(ego.x, ego.y, ego.yaw, self._vehicle)
        edge, lane_index, lateral, s_lane = self._map.locate(cx, cy, ego.yaw)
        path = self._path(route, edge, lane_index)
        s_ego, _, _ = path.project(cx, cy)
        objects = self._objects if self._objects is not None else TrackList(Header(now, "map"))
        leader = find_leader(path, cx, cy, self._vehicle.length, objects, self.params.leader)
        sensors_ok, sensor_reason = self._sensors_ok(now)
        inputs = ModeInputs(
            now=now, ego_speed=ego.speed, speed_limit=self._map.speed_limit_at(cx, cy, ego.yaw),
            leader=self._leader_info(leader, objects, now),
            sensors_healthy=sensors_ok,
            localization_sigma=math.sqrt(max(ego.covariance[0], ego.covariance[5], 0.0)),
            driver_available=self._driver.available, driver_took_over=self._driver.in_control,
            odd_exit_distance=self._odd_exit_distance(route, edge, lane_index, s_ego),
            signal=self._signal_ahead(route, edge, lane_index, s_ego, now),
            lane_option=self._lane_option(route, path, s_ego, ego.speed, objects, edge, lane_index, leader),
            lane_change_done=self._lane_change_done(now, lane_index, lateral, path, s_ego, ego.speed, objects, edge),
        )
        command = self._selector.step(inputs)
        if command.mode is DrivingMode.LANE_CHANGE and self._lane_change_from is None:
            self._lane_change_from = (lane_index, now, command.target_lane_offset)
        elif command.mode is not DrivingMode.LANE_CHANGE:
            self._lane_change_from = None
        if command.mode is not DrivingMode.LANE_CHANGE and not self._map.lane_continues(route.edges, edge, lane_index):
            command = self._stop_at_lane_end(command, edge, lane_index, s_lane, ego.speed)
        if not sensors_ok:
            command = ModeCommand(command.header, command.mode, command.target_speed, command.time_gap,
                                  command.standstill_gap, command.leader_id, command.target_lane_offset,
                                  command.stop_distance, f"{command.reason}: {sensor_reason}")
        if self._selector.log and self._selector.log[-1].time == now:
            switch = self._selector.log[-1]
            self.logger.info("%.2f s: %s -> %s (%s)", now, switch.previous.value, switch.mode.value, switch.reason)
        self._mode_pub.publish(command)

    def _path(self, route: Route, edge: str, lane_index: int) -> Polyline:
        """The route's centre line in lane ``lane_index``, ending (run-out) where that lane ends on ``edge``."""
        key = (lane_index, None if self._map.lane_continues(route.edges, edge, lane_index) else edge)
        if self._lane is None or self._lane[0] != key:
            self._lane = (key, Polyline(self._map.route_centerline(route.edges, lane_index, lane_edge=edge,
                                                                         lane_ends_on=key[1])))
        return self._lane[1]

    def _sensors_ok(self, now: float) -> tuple[bool, str]:
        if self._unhealthy:
            name, message = sorted(self._unhealthy.items())[0]
            return False, f"{name}: {message}"
        if self._objects is None:
            if now - self._started < self.params.startup_grace:
                return True, ""          # perception still starting up (localisation initialising)
            return False, "perception never reported"
        if now - self._objects.header.stamp > self.params.sensor_timeout:
            return False, "perception silent"
        return True, ""

    def _leader_info(self, leader, objects: TrackList, now: float) -> LeaderInfo | None:
        if leader is None:
            return None
        track = next(o for o in objects.objects if o.track_id == leader.track_id)
        station = track.v2x_id
        if station is None:
            report = match_report(track, self._reports, now, self.params.v2x_match_max_age,
                                  self.params.v2x_match_distance)
            station = report.station_id if report is not None else None
        link = next((q for q in self._links.links if q.neighbour_id == station), None) if station is not None else None
        return LeaderInfo(leader.track_id, leader.gap, leader.speed, link)

    def _odd_exit_distance(self, route: Route, edge: str, lane_index: int, s_ego: float) -> float | None:
        """Distance [m] from the front bumper to where the operating domain ends along the route, from
        the map (negative: already outside); None when the route stays inside it."""
        if not self.params.odd.bounded:
            return None
        s_exit = self.params.odd.exit_along(self._map, route.edges, lane_index, lane_edge=edge)
        return None if s_exit is None else s_exit - (s_ego + 0.5 * self._vehicle.length)

    def _signal_ahead(self, route: Route, edge: str, lane_index: int, s_ego: float, now: float) -> SignalAhead | None:
        """The next stop line with its green windows; distances from the front bumper (the MPC's
        stop_distance convention). None when no signal is ahead or its SPaT is unknown."""
        s_front = s_ego + 0.5 * self._vehicle.length
        line = next_stop_line(self._map.stop_lines(route.edges, lane_index, lane_edge=edge), s_front)
        timing = timing_of(self._timings, line) if line is not None else None
        if timing is None:
            return None
        windows = tuple(GreenWindow(p.start - now, p.end - now) for p in timing.phases
                        if p.state == "green" and p.end > now)
        return SignalAhead(line.s - s_front, windows)

    def _lane_change_done(self, now: float, lane_index: int, lateral: float, path: Polyline, s_ego: float,
                          speed: float, objects: TrackList, edge: str) -> bool:
        """A lane change is over once the ego is centred in another lane; it is given up after
        twice its planned duration (blocked), or while the ego is still in its own lane when MOBIL's
        safety criterion no longer holds for the target lane (a car closed the gap: the ego
        steers back into the centre of its lane)."""
        if self._lane_change_from is None:
            return False
        start_lane, start_time, offset = self._lane_change_from
        if now - start_time > 2.0 * self.params.selector.lane_change_duration:
            return True
        if lane_index == start_lane and offset != 0.0 and not edge.startswith(":"):
            return not self._target_lane_safe(path, s_ego, speed, objects, edge, lane_index, offset)
        return lane_index != start_lane and abs(lateral) < LANE_CHANGE_DONE_OFFSET

    def _target_lane_safe(self, path: Polyline, s_ego: float, speed: float, objects: TrackList, edge: str,
                          lane_index: int, offset: float) -> bool:
        """MOBIL's safety criterion for the lane ``offset`` [m] to the left of ``path`` (the ego's lane)."""
        lane_width = self._map.lane_width(self._map.lane_id(edge, lane_index))
        s_obj, d_obj = _path_coordinates(path, objects)
        current = self._neighbours(s_obj, d_obj, s_ego, 0.0, lane_width, objects)
        target = self._neighbours(s_obj, d_obj, s_ego, offset, lane_width, objects)
        return evaluate_lane_change(speed, current, target, self._vehicle.length, self.params.idm,
                                    self.params.mobil).safe

    def _stop_at_lane_end(self, command: ModeCommand, edge: str, lane_index: int, s_lane: float,
                          speed: float) -> ModeCommand:
        """``command`` with a stop before the end of the ego's lane, which ends on its route, once
        that end is within the distance a stop at ``lane_end_decel`` from ``speed`` [m/s] needs
        (plus one second of travel): until then the car keeps its speed to merge at the traffic's
        speed; after, it waits there for a gap. ``s_lane`` [m]: the ego centre's position along the lane."""
        lane = self._map.lane(self._map.lane_id(edge, lane_index))
        to_end = lane.length - s_lane - 0.5 * self._vehicle.length - LANE_END_STOP_MARGIN
        if to_end > speed ** 2 / (2.0 * self.params.lane_end_decel) + speed * 1.0:
            return command
        stop = to_end if command.stop_distance is None else min(command.stop_distance, to_end)
        return replace(command, stop_distance=stop)

    def _lane_option(self, route: Route, path: Polyline, s_ego: float, speed: float, objects: TrackList,
                     edge: str, lane_index: int, leader) -> LaneOption | None:
        """The lane change to make, if any; none on junctions.

        Mandatory, when the ego's lane ends on its route: towards the nearest lane that leads on,
        as soon as MOBIL's safety criterion holds. Otherwise discretionary (MOBIL's incentive; only
        with ``lane_changes``), never into a lane that ends on the route, and none while the leader
        is a connected vehicle the ego can follow cooperatively.
        """
        if edge.startswith(":"):
            return None
        count = self._map.lane_count(edge)
        leading_on = [i for i in range(count) if self._map.lane_continues(route.edges, edge, i)]
        mandatory = lane_index not in leading_on
        if mandatory:
            if not leading_on:
                return None
            nearest = min(leading_on, key=lambda i: abs(i - lane_index))
            steps: tuple[int, ...] = (1 if nearest > lane_index else -1,)
        else:
            if not self.params.lane_changes:
                return None
            if leader is not None and self._leader_info(leader, objects, self.now()).link is not None:
                return None
            steps = tuple(step for step in (+1, -1) if lane_index + step in leading_on)
        lane_width = self._map.lane_width(self._map.lane_id(edge, lane_index))
        s_obj, d_obj = _path_coordinates(path, objects)   # projected once, for all the lanes looked at
        current = self._neighbours(s_obj, d_obj, s_ego, 0.0, lane_width, objects)
        best: LaneOption | None = None
        for step in steps:                        # SUMO lane indices grow to the left
            offset = step * lane_width
            target = self._neighbours(s_obj, d_obj, s_ego, offset, lane_width, objects)
            result = evaluate_lane_change(speed, current, target, self._vehicle.length, self.params.idm,
                                          self.params.mobil)
            wanted = result.safe if mandatory else result.change
            if wanted and (best is None or result.incentive > best.incentive):
                best = LaneOption(offset, result.incentive, mandatory)
        return best

    def _neighbours(self, s_obj: np.ndarray, d_obj: np.ndarray, s_ego: float, offset: float, lane_width: float,
                    objects: TrackList) -> LaneNeighbours:
        """Nearest object ahead and behind in the lane at ``offset`` [m] from the path, from the
        objects' path coordinates ``s_obj``, ``d_obj`` [m] (in the order of ``objects``)."""
        ahead, behind = [], []
        for k in np.flatnonzero(np.abs(d_obj - offset) <= lane_width / 2.0):
            obj, s = objects.objects[k], float(s_obj[k])
            gap = abs(s - s_ego) - 0.5 * (obj.length + self._vehicle.length)
            (ahead if s > s_ego else behind).append((gap, obj.speed))
        front = min(ahead, default=None)
        rear = min(behind, default=None)
        return LaneNeighbours(front[0] if front else None, front[1] if front else None,
                              rear[0] if rear else None, rear[1] if rear else None,
                              None)


def _path_coordinates(path: Polyline, objects: TrackList) -> tuple[np.ndarray, np.ndarray]:
    """Arc length s [m] and lateral offset d [m, left] along ``path`` of every object, in order."""
    if not objects.objects:
        return np.zeros(0), np.zeros(0)
    s, d, _ = path.project_many(np.array([(o.x, o.y) for o in objects.objects]))
    return s, d
