"""Mode selector node: turns tracks, ego state, route, V2X quality, SPaT and health into a mode.

Inputs: ``input/ego_state`` (EgoState), ``input/objects`` (TrackList), ``input/route`` (Route),
``input/link_quality`` (LinkQualityList), ``input/signal_timing`` (SignalTimingList),
``input/sensor_health`` (DiagnosticStatus), ``input/driver`` (DriverState), ``input/v2x_reports``
(V2xReportList: binds a leader track without a V2X ID to its sender's link), ``input/stop_request``
(StopRequest from outside the stack: a minimal-risk stop in lane while it stands),
``input/gap_requests`` (GapRequest: a neighbour asks over V2X for a gap ahead of the ego),
``input/gap_answers`` (GapAnswer: answers to the ego's own gap request), ``input/plans``
(SharedPlan: neighbours' ManeuverShares) and ``input/own_plan`` (SharedPlan: the own one as sent),
which the joint-action shield (:mod:`cav_stack.planning.shield`) weighs against the own lane change:
a lane change that conflicts with a neighbour CAV's claim of the same gap is deferred, or aborted
while still in the own lane, when the shield says yield (:attr:`ModeSelectorNode.shield_records`).
Output: ``output/mode`` (ModeCommand) at ``rate_hz``, with the ego's gap request and answer for
V2X (:mod:`cav_stack.planning.gap_negotiation`). Every switch is logged with its reason.
A perception input that falls silent for longer than ``sensor_timeout`` counts as a sensor
failure (not as an empty road).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace


from cav_stack.control.idm_baseline import IdmParams, LeaderWindow, crossing_ahead, find_leader
from cav_stack.control.vehicle_models import VehicleParams, centre_from_rear_axle, load_vehicle_params
from cav_stack.core.messages import (
    DiagnosticStatus, DrivingMode, DriverState, EgoState, GapAnswer, GapRequest, Header, LinkQualityList, ModeCommand,
    Route, SharedPlan, SignalTimingList, StopRequest, TrackList, V2xReportList,
)
from cav_stack.core.params import validate_positive
from cav_stack.core.path import Polyline
from cav_stack.planning.eco_approach import GreenWindow
from cav_stack.planning.lane_change import MobilParams
from cav_stack.planning.lane_situation import LaneChangeStart, LaneSituation, MergeLaneCars
from cav_stack.planning.gap_negotiation import GapAsker, GapYielder, NegotiationParams, requester_on_path
from cav_stack.planning.merge_gap import LaneCar, MergeGapParams
from cav_stack.planning.mode import LaneOption, LeaderInfo, ModeInputs, ModeSelector, ModeSelectorParams, SignalAhead
from cav_stack.planning.shield import JointActionShield, ShieldParams
from cav_stack.planning.shield_claims import claim_of, claimed_offset
from cav_stack.world.odd import OperatingDomain
from cav_stack.world.road_map import RoadMap
from cav_stack.planning.signals import next_stop_line, timing_of
from cav_stack.planning.v2x_matching import match_report
from cav_stack.runtime.node import LATCHED_QOS, Node, NodeContext
from cav_stack.core.share import share_path

@dataclass(frozen=True)
class ModeSelectorNodeParams:
    """rate_hz [Hz]; net_file: SUMO network of the road map; startup_grace [s]: time perception
    may take to report for the first time (localisation initialising); sensor_timeout [s]: silence of the
    perception input treated as a sensor failure; v2x_match_max_age [s], v2x_match_distance [m]:
    binding of the leader track to a V2X sender (when the tracker has not bound it); odd: the operating
    domain (the runner sets a scenario's; unbounded: everywhere); lane_changes: allow discretionary
    (MOBIL) lane changes; lane_end_decel [m/s^2]: braking for the end of a lane that ends on the
    route starts late enough to need this deceleration; merge_seek_speed [m/s]: while that lane
    change is not safe yet, the ego drives this much slower than the lane it must merge into
    (:meth:`~cav_stack.planning.lane_situation.LaneSituation.gap_seeking_speed`); active_merge: choose
    a reachable gap of that lane early and adapt the speed to it (:mod:`~cav_stack.planning.merge_gap`,
    ``merge`` its parameters), from ``merge_lookahead`` [m] before the end of a lane the ego's lane
    leads into; cooperative_merge: ask connected vehicles for a gap and answer their requests over
    V2X (``negotiation`` its parameters); leader: leader search window; joint_shield: apply the
    joint-action shield's decisions (off: it only watches, for a comparison run); selector / mobil /
    idm / shield: see their dataclasses."""

    rate_hz: float
    net_file: str
    sensor_timeout: float
    startup_grace: float
    v2x_match_max_age: float
    v2x_match_distance: float
    odd: OperatingDomain
    lane_changes: bool
    lane_end_decel: float
    merge_seek_speed: float
    active_merge: bool
    merge_lookahead: float
    merge: MergeGapParams
    cooperative_merge: bool
    negotiation: NegotiationParams
    leader: LeaderWindow
    selector: ModeSelectorParams
    mobil: MobilParams
    idm: IdmParams
    shield: ShieldParams
    joint_shield: bool = True

    def __post_init__(self) -> None:
        validate_positive(rate_hz=self.rate_hz, sensor_timeout=self.sensor_timeout, lane_end_decel=self.lane_end_decel,
                          merge_seek_speed=self.merge_seek_speed)


@dataclass(frozen=True)
class ShieldRecord:
    """One resolution of the joint-action shield as this CAV made it: time [s], the station that
    proceeds, the one that yields (temporary IDs), unsure (the other's claim was stale) and how
    this CAV acted on it."""

    time: float
    proceeds: int
    yields: int
    unsure: bool
    how: str


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
        self._stop = StopRequest(Header(0.0, ""), stop=False)
        self._reports = V2xReportList(Header(0.0, "map"))
        self._track_stations: dict[int, int] = {}     # track ID -> V2X station ID once matched
        self._lane: tuple[tuple[int, str | None], Polyline] | None = None
        self._lane_change_from: LaneChangeStart | None = None
        p = self.params
        self._lanes = LaneSituation(self._map, self._vehicle.length, p.idm, p.mobil, p.lane_end_decel,
                                    p.selector.lane_change_duration, p.merge if p.active_merge else None,
                                    p.merge_lookahead)
        self._asker = GapAsker(p.negotiation)
        self._yielder = GapYielder(p.negotiation, p.idm, p.mobil.safe_decel, p.mobil.min_gap)
        self._gap_requests: dict[int, GapRequest] = {}
        self._gap_answers: list[GapAnswer] = []
        self._mode_pub = self.create_publisher(ModeCommand, "output/mode")
        self.create_subscription(EgoState, "input/ego_state", self.keep_latest("_ego"))
        self.create_subscription(TrackList, "input/objects", self.keep_latest("_objects"))
        self.create_subscription(Route, "input/route", self._on_route, LATCHED_QOS)
        self.create_subscription(LinkQualityList, "input/link_quality", self.keep_latest("_links"))
        self.create_subscription(SignalTimingList, "input/signal_timing", self.keep_latest("_timings"))
        self.create_subscription(DiagnosticStatus, "input/sensor_health", self._on_health)
        self.create_subscription(DriverState, "input/driver", self.keep_latest("_driver"))
        self.create_subscription(StopRequest, "input/stop_request", self.keep_latest("_stop"))
        self.create_subscription(V2xReportList, "input/v2x_reports", self.keep_latest("_reports"))
        self.create_subscription(GapRequest, "input/gap_requests", self._on_gap_request)
        self.create_subscription(GapAnswer, "input/gap_answers", self._gap_answers.append)
        self._plans: dict[int, SharedPlan] = {}
        self._own_plan: SharedPlan | None = None
        self._shield = JointActionShield(self.params.shield)
        self._shield_seen = 0
        self.shield_records: list[ShieldRecord] = []
        self.own_stations: set[int] = set()
        self.create_subscription(SharedPlan, "input/plans", self._on_plan)
        self.create_subscription(SharedPlan, "input/own_plan", self._on_own_plan)
        self.create_timer(1.0 / self.params.rate_hz, self._tick)

    @property
    def switches(self):
        """The selector's switch log (time, previous, mode, reason)."""
        return self._selector.log

    @property
    def negotiations(self):
        """Gap negotiation log of this vehicle, both roles (NegotiationEvent), in time order."""
        return sorted(self._asker.log + self._yielder.log, key=lambda e: e.time)

    def _on_gap_request(self, msg: GapRequest) -> None:
        self._gap_requests[msg.requester_id] = msg


    def _on_plan(self, msg: SharedPlan) -> None:
        self._plans[msg.station_id] = msg

    def _on_own_plan(self, msg: SharedPlan) -> None:
        self._own_plan = msg
        self.own_stations.add(msg.station_id)

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
        present = {o.track_id for o in objects.objects}
        self._track_stations = {t: s for t, s in self._track_stations.items() if t in present}
        leader = find_leader(path, cx, cy, self._vehicle.length, objects, self.params.leader)
        sensors_ok, sensor_reason = self._sensors_ok(now)
        leader_info = self._leader_info(leader, objects, now)
        waiting = crossing_ahead(path, s_ego, objects, self.params.leader.sensing_range)
        lane_option = self._lanes.lane_option(
            route.edges, path, s_ego, ego.speed, objects, edge, lane_index,
            discretionary=self.params.lane_changes and not waiting,
            leader_connected=leader_info is not None and leader_info.link is not None)
        done = self._lanes.lane_change_over(self._lane_change_from, now, lane_index, lateral, path, s_ego,
                                            ego.speed, objects, edge)
        lane_option, done = self._shielded(now, path, edge, lane_index, lane_option, done)
        inputs = ModeInputs(
            now=now, ego_speed=ego.speed, speed_limit=self._map.speed_limit_at(cx, cy, ego.yaw),
            leader=leader_info,
            sensors_healthy=sensors_ok,
            localization_sigma=math.sqrt(max(ego.covariance[0], ego.covariance[5], 0.0)),
            driver_available=self._driver.available, driver_took_over=self._driver.in_control,
            stop_requested=self._stop.stop,
            odd_exit_distance=self._odd_exit_distance(route, edge, lane_index, s_ego),
            signal=self._signal_ahead(route, edge, lane_index, s_ego, now),
            lane_option=lane_option, lane_change_done=done,
        )
        command = self._selector.step(inputs)
        if command.mode is DrivingMode.LANE_CHANGE and self._lane_change_from is None:
            self._lane_change_from = LaneChangeStart(lane_index, now, command.target_lane_offset)
        elif command.mode is not DrivingMode.LANE_CHANGE:
            self._lane_change_from = None
        # the merge's speed holds through its lane change too (no speeding up on the new leader)
        lane_cars = self._lanes.merge_lane_cars(route.edges, path, objects, edge, lane_index, s_lane)
        merge = self._lanes.merge_target(lane_cars, s_ego, ego.speed, inputs.speed_limit,
                                         changing=command.mode is DrivingMode.LANE_CHANGE)
        if merge is not None and merge.speed < command.target_speed:
            command = replace(command, target_speed=merge.speed)
        if self.params.cooperative_merge:
            command = self._negotiate(command, now, path, s_ego, ego.speed, edge, lane_index, objects, lane_cars,
                                      merge.gap.rear if merge is not None else None)
        if command.mode is not DrivingMode.LANE_CHANGE and not self._map.lane_continues(route.edges, edge, lane_index):
            stop = self._lanes.lane_end_stop(edge, lane_index, s_lane, ego.speed, merging=merge is not None)
            if stop is not None:
                command = replace(command, stop_distance=stop if command.stop_distance is None
                                  else min(command.stop_distance, stop))
            seek = None if merge is not None else self._lanes.gap_seeking_speed(
                route.edges, path, s_ego, objects, edge, lane_index, self.params.merge_seek_speed)
            if seek is not None and seek < command.target_speed:
                command = replace(command, target_speed=seek)
        if not sensors_ok:
            command = ModeCommand(command.header, command.mode, command.target_speed, command.time_gap,
                                  command.standstill_gap, command.leader_id, command.target_lane_offset,
                                  command.stop_distance, f"{command.reason}: {sensor_reason}")
        if self._selector.log and self._selector.log[-1].time == now:
            switch = self._selector.log[-1]
            self.logger.info("%.2f s: %s -> %s (%s)", now, switch.previous.value, switch.mode.value, switch.reason)
        self._mode_pub.publish(command)

    def _negotiate(self, command: ModeCommand, now: float, path: Polyline, s_ego: float, speed: float, edge: str,
                   lane_index: int, objects: TrackList, lane_cars: MergeLaneCars | None,
                   gap_rear: LaneCar | None) -> ModeCommand:
        """Both roles of the gap negotiation: whom the ego asks (the rear car of its chosen gap, else the
        nearest car behind it in the target lane, when connected), its answer to requests, and the
        lower speed target while it opens a gap."""
        rear = gap_rear
        if rear is None and lane_cars is not None:
            rear = max((c for c in lane_cars.cars if c.s <= s_ego + 0.5 * self._vehicle.length),
                       key=lambda c: c.s, default=None)
        candidate = self._station_of(rear.car_id, objects, now) if rear is not None else None
        ask = self._asker.step(now, lane_cars is not None, candidate, self._gap_answers)
        self._gap_answers.clear()
        lane_width = 0.0 if edge.startswith(":") else self._map.lane_width(self._map.lane_id(edge, lane_index))
        s_front = s_ego + 0.5 * self._vehicle.length
        requesters = [requester_on_path(path, r, now, s_front, self._vehicle.length, lane_width)
                      for r in self._gap_requests.values()]
        answer = self._yielder.step(now, speed, requesters)
        held = next((r for r in requesters if r.station_id == self._yielder.holding), None)
        if held is not None:
            command = replace(command, target_speed=min(command.target_speed, self._yielder.yield_speed(speed, held)))
        return replace(command, gap_request_to=ask, gap_answer=answer)

    def _station_of(self, track_id: int, objects: TrackList, now: float) -> int | None:
        """V2X station ID of a track: bound by the tracker, else the report at its position; a
        track once matched keeps its station while that station's link is listed (heard within
        the link estimator's neighbour timeout), so that a few lost reports leave the leader
        connected with an older age of information (the mode selector weighs that) instead of
        unconnected."""
        track = next((o for o in objects.objects if o.track_id == track_id), None)
        if track is None:
            return None
        if track.v2x_id is not None:
            return track.v2x_id
        report = match_report(track, self._reports, now, self.params.v2x_match_max_age, self.params.v2x_match_distance,
                              objects.objects)
        if report is not None:
            self._track_stations[track_id] = report.station_id
            return report.station_id
        station = self._track_stations.get(track_id)
        if station is not None and any(q.neighbour_id == station for q in self._links.links):
            return station
        return None
    def _shielded(self, now: float, path: Polyline, edge: str, lane_index: int, option: LaneOption | None,
                  done: bool) -> tuple[LaneOption | None, bool]:
        """The lane option and lane-change-over flag after the joint-action shield: its decision on
        the own lane change (under way, else the one the lane option proposes) against the
        neighbours' claims; a yield defers the option, or ends a lane change still in the own lane."""
        if edge.startswith(":"):
            return option, done
        start = self._lane_change_from if self._selector.mode is DrivingMode.LANE_CHANGE else None
        offset = start.offset if start is not None else option.lane_offset if option is not None else None
        forget = self.params.shield.forget_after
        self._plans = {k: plan for k, plan in self._plans.items() if now - plan.header.stamp <= forget}
        width = self._map.lane_width(self._map.lane_id(edge, lane_index))
        own = None
        if offset and self._own_plan is not None and self._own_plan.points:
            own = claim_of(self._own_plan, path, offset, width, self._lane_ends(self._own_plan),
                           self._vehicle.length)
        others = []           # the neighbours' length is not in their shares: taken as the own
        for plan in self._plans.values():
            claimed = claimed_offset(plan)
            if claimed is not None:
                others.append(claim_of(plan, path, claimed, width, self._lane_ends(plan), self._vehicle.length))
        decision = self._shield.decide(now, own, others)
        how = "proceeds"
        if not decision.proceed:
            if not self.params.joint_shield:
                how = "not applied (shield off)"
            elif start is None:
                how, option = "defers its lane change", None
            elif lane_index == start.lane_index:
                how, done = "aborts its lane change", True
            else:
                how = "already in the target lane"
        for resolution in self._shield.log[self._shield_seen:]:
            record = ShieldRecord(resolution.time, resolution.proceeds, resolution.yields, resolution.unsure,
                                  how if own is not None and resolution.yields == own.station_id else "proceeds")
            self.shield_records.append(record)
            self.logger.info("%.2f s: shield: %d proceeds, %d yields (%s)%s", record.time, record.proceeds,
                             record.yields, record.how, " (unsure: stale claim)" if record.unsure else "")
        self._shield_seen = len(self._shield.log)
        return option, done

    def _lane_ends(self, plan: SharedPlan) -> bool:
        """Whether the lane of the plan's first point leads nowhere (the sender must merge)."""
        first = plan.points[0]
        try:
            edge, lane_index, _, _ = self._map.locate(first.x, first.y, first.yaw)
        except ValueError:
            return False
        return self._map.lane_ends(edge, lane_index)

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
        station = self._station_of(leader.track_id, objects, now)
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
        if line is None:
            return None
        timing = timing_of(self._timings, line)
        if timing is None:
            return None
        windows = tuple(GreenWindow(p.start - now, p.end - now) for p in timing.phases
                        if p.state == "green" and p.end > now)
        return SignalAhead(line.s - s_front, windows)
