"""Baseline controller node: IDM + pure pursuit on the ego lane of the mission route.

Inputs (relative, remapped at launch): ``input/ego_state`` (EgoState, map, rear axle),
``input/objects`` (TrackList, map), ``input/route`` (Route), ``input/signal_timing``
(SignalTimingList: the light states the driver sees), ``input/stop_request`` (StopRequest from
outside the stack). Output: ``output/command``
(ControlCommand). Keeps the lane it starts in, drives at most the speed limit, and stops for
signals like a human driver: a red light, or a yellow one it can stop for at the comfortable
deceleration, is a stopped virtual leader at the stop line (see :func:`cav_stack.control.idm_baseline.signal_leader`).
A stop request is a stopped virtual leader too, fixed where the car can stop comfortably from the
speed it had when the request came (:func:`~cav_stack.control.idm_baseline.stopping_distance`),
until a request to drive on.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from cav_stack.control.idm_baseline import (
    STOP_REQUEST_LEADER_ID, IdmParams, Leader, LeaderWindow, find_leader, idm_acceleration, pure_pursuit_steer,
    signal_leader, stopping_distance,
)
from cav_stack.control.vehicle_models import VehicleParams, centre_from_rear_axle, load_vehicle_params
from cav_stack.core.messages import (
    BASE_LINK_FRAME, ControlCommand, EgoState, Header, Route, SignalTimingList, StopRequest, TrackList,
)
from cav_stack.core.params import validate_positive
from cav_stack.core.path import Polyline
from cav_stack.world.road_map import RoadMap
from cav_stack.planning.signals import StopLine, next_stop_line, state_at, timing_of
from cav_stack.runtime.node import LATCHED_QOS, Node, NodeContext
from cav_stack.core.share import share_path


@dataclass(frozen=True)
class IdmBaselineParams:
    """rate_hz: control rate [Hz]; net_file: SUMO network of the road map; leader: the leader
    search window; idm: see IdmParams."""

    rate_hz: float
    net_file: str
    leader: LeaderWindow
    idm: IdmParams

    def __post_init__(self) -> None:
        validate_positive(rate_hz=self.rate_hz)


class IdmBaselineNode(Node):
    node_name = "idm_baseline"
    params_type = IdmBaselineParams
    resource_names = ("vehicle", "road_map")

    def __init__(self, context: NodeContext, *, vehicle: VehicleParams | None = None,
                 road_map: RoadMap | None = None):
        super().__init__(context)
        self._vehicle = vehicle or load_vehicle_params(share_path("controllers", "vehicle.yaml"))
        self._map = road_map or RoadMap.from_net_file(self.params.net_file)
        self._ego: EgoState | None = None
        self._objects = TrackList(Header(0.0, "map"))
        self._route: Route | None = None
        self._path: Polyline | None = None
        self._stop_lines: list[tuple[str, int, float]] = []
        self._signals = SignalTimingList(Header(0.0, "map"))
        self._committed: StopLine | None = None
        self._stop_requested = False
        self._stop_at: float | None = None
        self._command_pub = self.create_publisher(ControlCommand, "output/command")
        self.create_subscription(EgoState, "input/ego_state", self._on_ego)
        self.create_subscription(TrackList, "input/objects", self._on_objects)
        self.create_subscription(Route, "input/route", self._on_route, LATCHED_QOS)
        self.create_subscription(SignalTimingList, "input/signal_timing", self._on_signals)
        self.create_subscription(StopRequest, "input/stop_request", self._on_stop_request)
        self.create_timer(1.0 / self.params.rate_hz, self._tick)

    def _on_ego(self, msg: EgoState) -> None:
        self._ego = msg

    def _on_objects(self, msg: TrackList) -> None:
        self._objects = msg

    def _on_signals(self, msg: SignalTimingList) -> None:
        self._signals = msg

    def _on_stop_request(self, msg: StopRequest) -> None:
        if msg.stop and not self._stop_requested:
            self.logger.info("%.2f s: stop requested", self.now())
        self._stop_requested = msg.stop
        if not msg.stop:
            self._stop_at = None

    def _on_route(self, msg: Route) -> None:
        self._route = msg
        self._path = None

    def _tick(self) -> None:
        ego, p = self._ego, self.params.idm
        if ego is None or self._route is None:
            return
        cx, cy = centre_from_rear_axle(ego.x, ego.y, ego.yaw, self._vehicle)
        if self._path is None:
            edge, lane_index, _, _ = self._map.locate(cx, cy, ego.yaw)
            self._path = Polyline(self._map.route_centerline(self._route.edges, lane_index, lane_edge=edge))
            self._stop_lines = self._map.stop_lines(self._route.edges, lane_index, lane_edge=edge)
        leader = find_leader(self._path, cx, cy, self._vehicle.length, self._objects, self.params.leader)
        for stopped in (self._signal_leader(self._path, cx, cy, ego.speed),
                        self._requested_stop(self._path, cx, cy, ego.speed)):
            if stopped is not None and (leader is None or stopped.gap < leader.gap):
                leader = stopped
        limit = self._map.speed_limit_at(cx, cy, ego.yaw)
        accel = idm_acceleration(ego.speed, leader, replace(p, desired_speed=min(p.desired_speed, limit)))
        steer = pure_pursuit_steer(self._path, ego.x, ego.y, ego.yaw, ego.speed, self._vehicle.wheelbase, p)
        self._command_pub.publish(ControlCommand(Header(self.now(), BASE_LINK_FRAME), accel, steer,
                                                 source="idm_baseline"))

    def _requested_stop(self, path: Polyline, cx: float, cy: float, speed: float) -> Leader | None:
        """A stop request's virtual stopped leader: fixed on the path where the car stops at the
        comfortable deceleration from the speed it had when the request came."""
        if not self._stop_requested:
            return None
        s_front = path.project(cx, cy)[0] + 0.5 * self._vehicle.length
        if self._stop_at is None:
            self._stop_at = s_front + stopping_distance(speed, self.params.idm)
        return Leader(gap=max(self._stop_at - s_front, 0.0), speed=0.0, track_id=STOP_REQUEST_LEADER_ID)

    def _signal_leader(self, path: Polyline, cx: float, cy: float, speed: float) -> Leader | None:
        s_front = path.project(cx, cy)[0] + 0.5 * self._vehicle.length
        line = next_stop_line(self._stop_lines, s_front)
        if line != self._committed:
            self._committed = None
        timing = timing_of(self._signals, line) if line is not None else None
        state = state_at(timing, self.now()) if timing is not None else None
        distance = line.s - s_front if line is not None else 0.0
        leader = signal_leader(state, distance, speed, self.params.idm, self._committed is not None)
        if line is not None and state == "yellow" and leader is None:
            self._committed = line
        return leader
