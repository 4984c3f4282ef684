"""MPC controller node: the mode's targets, the route's lane and the leader become a command.

Inputs: ``input/ego_state`` (EgoState), ``input/objects`` (TrackList), ``input/route`` (Route),
``input/mode`` (ModeCommand), ``input/v2x_reports`` (V2xReportList), ``input/plans``
(SharedPlan), ``input/vehicle_status`` (VehicleStatus: the actuators' acceleration and steering
angle, which the MPC starts from). Outputs: ``output/command`` (ControlCommand), ``output/trajectory`` (Trajectory,
shared over V2X). The reference path is the route's centre line in the lane the ego is in,
kept through a lane change until the mode says it is over. In CACC/PLATOON the leader's
communicated acceleration and planned speeds (V2X) are the feed-forward; otherwise the leader
comes from onboard tracks only. Without a mode command the vehicle holds its lane and brakes
to a stop (nothing has said it may drive). In MANUAL the driver holds the controls (a takeover,
or the route's end handed over): the node neither solves nor commands.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from cav_stack.control.comfort_profile import ComfortProfile, load_comfort_profile
from cav_stack.control.idm_baseline import LeaderWindow, find_leader
from cav_stack.control.leader_prediction import LeaderAccelEstimate, LeaderPrediction
from cav_stack.control.mpc import MpcController, MpcOutput
from cav_stack.control.mpc_params import MpcParams
from cav_stack.control.vehicle_models import VehicleParams, centre_from_rear_axle, load_vehicle_params
from cav_stack.core.messages import (
    MAP_FRAME, DrivingMode, EgoState, Header, ModeCommand, Route, SharedPlan, TrackList, Trajectory,
    V2xReportList, ControlCommand, VehicleStatus,
)
from cav_stack.core.params import validate_positive
from cav_stack.core.path import Polyline
from cav_stack.perception.constant_velocity import predict_tracks
from cav_stack.world.road_map import RoadMap
from cav_stack.planning.v2x_matching import match_report
from cav_stack.runtime.node import LATCHED_QOS, Node, NodeContext
from cav_stack.core.share import share_path

COOPERATIVE_MODES = (DrivingMode.CACC, DrivingMode.PLATOON)
V2X_MATCH_DISTANCE = 4.0
"""Largest distance [m] between a track and a V2X report (aged to now) for them to be the same car."""
LEADER_ACCEL_MAX_GAP = 0.2
"""[s] a leader not seen for longer restarts its acceleration estimate (4 ticks at 20 Hz)."""


@dataclass(frozen=True)
class MpcNodeParams:
    """rate_hz [Hz]; net_file: SUMO network of the road map; enforce_time_budget: a solve slower
    than the MPC's wall-time budget counts as an overrun (fallback) — off in reproducible
    simulation runs, where only the iteration limit applies; comfort_profile: name of the
    active profile in controllers/comfort.yaml; v2x_max_age [s]: oldest V2X feed-forward used;
    leader: leader search window; mpc: MpcParams."""

    rate_hz: float
    net_file: str
    enforce_time_budget: bool
    comfort_profile: str
    v2x_max_age: float
    leader: LeaderWindow
    mpc: MpcParams

    def __post_init__(self) -> None:
        validate_positive(rate_hz=self.rate_hz, v2x_max_age=self.v2x_max_age)


class MpcControllerNode(Node):
    node_name = "mpc_controller"
    params_type = MpcNodeParams
    resource_names = ("vehicle", "road_map", "comfort")

    def __init__(self, context: NodeContext, *, vehicle: VehicleParams | None = None,
                 road_map: RoadMap | None = None, comfort: ComfortProfile | None = None):
        super().__init__(context)
        p = self.params
        self._vehicle = vehicle or load_vehicle_params(share_path("controllers", "vehicle.yaml"))
        self._map = road_map or RoadMap.from_net_file(p.net_file)
        comfort = comfort or load_comfort_profile(share_path("controllers", "comfort.yaml"), p.comfort_profile)
        self._mpc = MpcController(p.mpc, self._vehicle, comfort, p.enforce_time_budget)
        self._leader_accel = LeaderAccelEstimate(p.mpc.leader_accel_filter_time_constant, LEADER_ACCEL_MAX_GAP,
                                                 p.mpc.leader_accel_manoeuvre_gate)
        self._ego: EgoState | None = None
        self._objects = TrackList(Header(0.0, MAP_FRAME))
        self._route: Route | None = None
        self._mode: ModeCommand | None = None
        self._reports = V2xReportList(Header(0.0, MAP_FRAME))
        self._plans: dict[int, SharedPlan] = {}
        self._status: VehicleStatus | None = None
        self._path: tuple[tuple[int, str | None], Polyline] | None = None
        self.outputs: list[MpcOutput] = []
        self._command_pub = self.create_publisher(ControlCommand, "output/command")
        self._trajectory_pub = self.create_publisher(Trajectory, "output/trajectory")
        self.create_subscription(EgoState, "input/ego_state", self.keep_latest("_ego"))
        self.create_subscription(TrackList, "input/objects", self.keep_latest("_objects"))
        self.create_subscription(Route, "input/route", self._on_route, LATCHED_QOS)
        self.create_subscription(ModeCommand, "input/mode", self.keep_latest("_mode"))
        self.create_subscription(V2xReportList, "input/v2x_reports", self.keep_latest("_reports"))
        self.create_subscription(SharedPlan, "input/plans", self._on_plan)
        self.create_subscription(VehicleStatus, "input/vehicle_status", self.keep_latest("_status"))
        self.create_timer(1.0 / p.rate_hz, self._tick)


    def _on_route(self, msg: Route) -> None:
        self._route = msg
        self._path = None

    def _on_plan(self, msg: SharedPlan) -> None:
        self._plans[msg.station_id] = msg

    def _tick(self) -> None:
        ego, route = self._ego, self._route
        if ego is None or route is None:
            return
        if self._status is not None:        # the actuators' own state, as the vehicle reports it
            ego = replace(ego, accel=self._status.accel, steer=self._status.steer)
        if self._mode is not None and self._mode.mode is DrivingMode.MANUAL:
            return
        now = self.now()
        mode = self._mode or ModeCommand(Header(now, MAP_FRAME), DrivingMode.MINIMAL_RISK, 0.0, 1.5, 3.0,
                                         reason="no mode command received")
        cx, cy = centre_from_rear_axle(ego.x, ego.y, ego.yaw, self._vehicle)
        path = self._reference(route, cx, cy, ego.yaw, mode)
        leader = self._leader(path, cx, cy, now, mode)
        output = self._mpc.step(now, ego, path.points, mode, leader)
        self.outputs.append(output)
        self._command_pub.publish(output.command)
        self._trajectory_pub.publish(output.trajectory)

    def _reference(self, route: Route, cx: float, cy: float, yaw: float, mode: ModeCommand) -> Polyline:
        if self._path is None or mode.mode is not DrivingMode.LANE_CHANGE:
            edge, lane_index, _, _ = self._map.locate(cx, cy, yaw)
            key = (lane_index, None if self._map.lane_continues(route.edges, edge, lane_index) else edge)
            if self._path is None or self._path[0] != key:
                self._path = (key, Polyline(self._map.route_centerline(route.edges, lane_index, lane_edge=edge,
                                                                         lane_ends_on=key[1])))
        return self._path[1]

    def _leader(self, path: Polyline, cx: float, cy: float, now: float, mode: ModeCommand) -> LeaderPrediction | None:
        objects = predict_tracks(self._objects, now)   # a late or silent list: its cars kept moving
        found = find_leader(path, cx, cy, self._vehicle.length, objects, self.params.leader)
        if found is None:
            return None
        track = next(o for o in objects.objects if o.track_id == found.track_id)
        if mode.mode in COOPERATIVE_MODES:
            report = match_report(track, self._reports, now, self.params.v2x_max_age, V2X_MATCH_DISTANCE,
                                  objects.objects)
            if report is not None and math.isfinite(report.accel):
                plan = self._plans.get(report.station_id)
                return LeaderPrediction(found.gap, found.speed, report.accel, self._planned_speeds(plan, now),
                                        source="v2x")
        accel = self._leader_accel.update(now, found.track_id, track.accel if math.isfinite(track.accel) else 0.0)
        return LeaderPrediction(found.gap, found.speed, accel)

    def _planned_speeds(self, plan: SharedPlan | None, now: float) -> tuple[float, ...] | None:
        if plan is None or not plan.points or now - plan.header.stamp > self.params.v2x_max_age:
            return None
        times = np.array([p.t for p in plan.points]) + plan.header.stamp - now
        speeds = np.array([p.speed for p in plan.points])
        stages = self.params.mpc.step * np.arange(self.params.mpc.horizon_steps + 1)
        if times[-1] < stages[-1] * 0.5:
            return None
        return tuple(float(v) for v in np.interp(stages, times, speeds))
