"""V2X node: sends the ego's BSM and planned trajectory, receives and vets neighbours' messages.

Inputs: ``input/ego_state`` (EgoState, map, rear axle), ``input/trajectory`` (Trajectory, the
MPC's plan), ``input/mode`` (ModeCommand), ``input/frames`` (V2xFrame deliveries from the radio),
``input/sensor_objects`` (TrackList from onboard sensors only: the misbehaviour detector checks
that senders claiming a position in plain view are really there).
Outputs: ``output/frames`` (V2xFrame to transmit), ``output/reports`` (V2xReportList of
accepted, plausible neighbour reports), ``output/plans`` (Trajectory of each neighbour's shared
plan, frame ``map``, one message per received plan), ``output/own_plan`` (SharedPlan: each plan
this station sent, with its intent and its temporary station ID), ``output/link_quality``
(LinkQualityList), ``output/signal_timing`` (SignalTimingList from SPaT), ``output/road_events``
(RoadEventReport, one per received RSU RoadSideAlert), ``output/gap_requests`` (GapRequest: a
neighbour's shared maneuver asks this vehicle to open a gap), ``output/gap_answers`` (GapAnswer: a
neighbour's answer to this vehicle's gap request), ``output/health`` (DiagnosticStatus with
refusal counts). The mode command's ``gap_request_to`` and ``gap_answer`` go out in this vehicle's
shared maneuver (``yieldRequestTo``, ``gapResponse``).

Every frame crosses the air as bytes: UPER J2735 inside a 1609.2-style signed envelope, each
message type under its PSID (:mod:`cav_stack.v2x.permissions`). Receptions run the receive path
of :mod:`cav_stack.v2x.reception` (verify, decode, permission, timing, station-ID binding,
misbehaviour keyed on the signer); refused frames never reach the outputs and are counted by reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from collections.abc import Callable

from cav_stack.control.vehicle_models import VehicleParams, centre_from_rear_axle, load_vehicle_params
from cav_stack.core.messages import (
    MAP_FRAME, DiagnosticStatus, DrivingMode, EgoState, GapAnswer, GapRequest, GapResponseReason, Header,
    LinkQualityList, ModeCommand,
    RoadEventReport,
    SharedPlan, SignalPhaseWindow, SignalTiming, SignalTimingList, TrackList, Trajectory, V2xFrame, V2xReportList,
    V2xVehicleReport,
)
from cav_stack.perception.line_of_sight import line_of_sight
from cav_stack.core.params import validate_positive
from cav_stack.world.road_map import RoadMap
from cav_stack.runtime.node import Node, NodeContext
from cav_stack.core.share import share_path
from cav_stack.v2x.codec import V2xEncodeError, encode_bsm, encode_maneuver
from cav_stack.v2x.generation import BsmScheduler, MessageGenerationParams, StationIdentity
from cav_stack.v2x.link_quality import LinkQualityEstimator
from cav_stack.v2x.messages import (
    DecodedBsm, GapResponse, ManeuverIntent, ManeuverShare, MovementPhase, RoadAlert, SpatMessage,
)
from cav_stack.v2x.misbehaviour import MisbehaviourDetector
from cav_stack.v2x.permissions import PSID_OF_MESSAGE
from cav_stack.v2x.pki import SeededPki
from cav_stack.v2x.reception import Received, ReceivePath, Rejected
from cav_stack.v2x.security import MessageSigner, MessageVerifier
from cav_stack.v2x.trust_params import load_trust_params

#: ``observer(frame bytes, accepted reception)`` for every frame that passed the receive path
#: and reached an output (evaluation only: attack accounting).
AcceptanceObserver = Callable[[bytes, Received], None]

_GREEN = {MovementPhase.PERMISSIVE_MOVEMENT_ALLOWED, MovementPhase.PROTECTED_MOVEMENT_ALLOWED}
_YELLOW = {MovementPhase.PERMISSIVE_CLEARANCE, MovementPhase.PROTECTED_CLEARANCE}
_INTENT = {DrivingMode.CACC: ManeuverIntent.FOLLOW_LEADER, DrivingMode.PLATOON: ManeuverIntent.FOLLOW_LEADER,
           DrivingMode.MINIMAL_RISK: ManeuverIntent.MINIMAL_RISK_MANEUVER}


def _intent(mode: ModeCommand | None) -> tuple[ManeuverIntent, float | None]:
    """The intent a ManeuverShare announces for the current mode command, and the target lane's
    offset [m] (left +) during a lane change (else None)."""
    if mode is None:
        return ManeuverIntent.KEEP_LANE, None
    if mode.mode is DrivingMode.LANE_CHANGE and mode.target_lane_offset != 0.0:
        side = ManeuverIntent.LANE_CHANGE_LEFT if mode.target_lane_offset > 0.0 else ManeuverIntent.LANE_CHANGE_RIGHT
        return side, mode.target_lane_offset
    return _INTENT.get(mode.mode, ManeuverIntent.KEEP_LANE), None


def _shared_plan(share: ManeuverShare) -> SharedPlan:
    """The plan of a ManeuverShare as the nodes' message."""
    return SharedPlan(share.header, share.station_id, share.points, share.time_gap, share.intent.value,
                      share.target_lane_offset)


@dataclass(frozen=True)
class V2xNodeParams:
    """security_enabled: sign and verify; cooperative_awareness: send BSMs at the rate congestion
    control allows (10 Hz on a free channel), as cooperative driving needs; pki_seed: seed of the
    simulated CA chain shared by all stations; share_maneuvers: broadcast the planned trajectory;
    maneuver_points: points sent;
    maneuver_interval [s] (YAML ``_ms``): shortest time between two shared plans (each goes out
    with a BSM); check_interval [s] (YAML ``_ms``): period of the generation check, T_CheckCamGen
    (at most ``generation.min_interval``); the first message leaves at a random instant within one
    ``generation.min_interval`` of the start, so stations do not generate in lock-step;
    report_max_age [s]: staleness limit of passed-on reports; visibility_range [m] and
    occluder_half_width [m]: line of sight of the onboard sensors for the ghost check;
    generation: BSM generation rules."""

    security_enabled: bool
    cooperative_awareness: bool
    pki_seed: int
    share_maneuvers: bool
    maneuver_points: int
    maneuver_interval: float
    check_interval: float
    report_max_age: float
    visibility_range: float
    occluder_half_width: float
    generation: MessageGenerationParams

    def __post_init__(self) -> None:
        validate_positive(maneuver_points=self.maneuver_points, maneuver_interval=self.maneuver_interval,
                          check_interval=self.check_interval)
        if self.check_interval > self.generation.min_interval + 1e-9:
            raise ValueError(f"check_interval ({self.check_interval} s) must not exceed generation.min_interval "
                             f"({self.generation.min_interval} s): ETSI T_CheckCamGen <= T_GenCamMin")


def signal_timing_from_spat(spat: SpatMessage, tls_ids: tuple[str, ...], now: float) -> tuple[SignalTiming, ...]:
    """SPaT groups as predicted phase windows; intersection i is the i-th SUMO traffic light of
    ``tls_ids`` and signal group g controls SUMO link g - 1 (the RSU's numbering)."""
    timings = []
    for intersection in spat.intersections:
        if not 0 <= intersection.intersection_id < len(tls_ids):
            continue
        for group in intersection.groups:
            start, phases = now, []
            for event in group.events:
                end = event.likely_time or event.min_end_time
                if end is None:
                    break
                if end <= start:   # a phase ending now (SPaT sent at its switch instant) is over
                    continue
                state = "green" if event.phase in _GREEN else "yellow" if event.phase in _YELLOW else "red"
                phases.append(SignalPhaseWindow(state, start, end))
                start = end
            timings.append(SignalTiming(tls_ids[intersection.intersection_id], group.signal_group - 1,
                                        tuple(phases)))
    return tuple(timings)


class V2xNode(Node):
    node_name = "v2x_node"
    params_type = V2xNodeParams
    resource_names = ("vehicle", "road_map", "station")

    def __init__(self, context: NodeContext, *, vehicle: VehicleParams | None = None,
                 road_map: RoadMap | None = None, station: int = 0):
        """station: index of this vehicle's credentials in the simulated PKI."""
        super().__init__(context)
        p = self.params
        self._vehicle = vehicle or load_vehicle_params(share_path("controllers", "vehicle.yaml"))
        self._map = road_map
        self._tls_ids = tuple(road_map.tls_ids()) if road_map is not None else ()
        self._origin = p.generation.origin()
        self._scheduler = BsmScheduler(p.generation)
        self._identity = StationIdentity(p.generation, self.rng)
        trust = load_trust_params(share_path("v2x", "security.yaml"))
        verifier = self._signer = None
        if p.security_enabled:
            pki = SeededPki(trust.seeded_pki, p.pki_seed)
            self._signer = MessageSigner(trust.security, pki.pseudonyms(station))
            verifier = MessageVerifier(trust.security, [pki.root.certificate], pki.ca_certificates)
        on_road = road_map.is_on_road if road_map is not None else (lambda x, y, margin: True)
        self._receiver = ReceivePath(trust.reception, verifier, MisbehaviourDetector(trust.misbehaviour, on_road),
                                     self._origin)
        self.acceptance_observers: list[AcceptanceObserver] = []
        self._links = LinkQualityEstimator(trust.link_quality)
        self._ego: EgoState | None = None
        self._trajectory: Trajectory | None = None
        self._mode: ModeCommand | None = None
        self._reports: dict[int, tuple[V2xVehicleReport, object]] = {}   # station ID -> (report, sender)
        self._timings: dict[tuple[str, int], SignalTiming] = {}
        self._refused: dict[str, int] = {}
        # Vehicles' clocks are independent: generation starts at a random phase (first check after it).
        self._generation_start = self.now() + float(self.rng.uniform(0.0, p.generation.min_interval))
        self._last_maneuver: float | None = None
        self._pseudonym: bytes | None = None
        self._frame_pub = self.create_publisher(V2xFrame, "output/frames")
        self._reports_pub = self.create_publisher(V2xReportList, "output/reports")
        self._plans_pub = self.create_publisher(SharedPlan, "output/plans")
        self._own_plan_pub = self.create_publisher(SharedPlan, "output/own_plan")
        self._links_pub = self.create_publisher(LinkQualityList, "output/link_quality")
        self._timing_pub = self.create_publisher(SignalTimingList, "output/signal_timing")
        self._road_events_pub = self.create_publisher(RoadEventReport, "output/road_events")
        self._gap_requests_pub = self.create_publisher(GapRequest, "output/gap_requests")
        self._gap_answers_pub = self.create_publisher(GapAnswer, "output/gap_answers")
        self._health_pub = self.create_publisher(DiagnosticStatus, "output/health")
        self.create_subscription(EgoState, "input/ego_state", self.keep_latest("_ego"))
        self.create_subscription(Trajectory, "input/trajectory", self.keep_latest("_trajectory"))
        self.create_subscription(ModeCommand, "input/mode", self.keep_latest("_mode"))
        self.create_subscription(V2xFrame, "input/frames", self._on_frame)
        self.create_subscription(TrackList, "input/sensor_objects", self._on_sensor_objects)
        self.create_timer(p.check_interval, self._tick)

    @property
    def flagged(self) -> dict[object, float]:
        """Senders the misbehaviour detector flagged during the run: sender (signer HashedId8;
        station ID when unsigned) -> time first flagged [s]."""
        return self._receiver.flagged

    @property
    def refusals(self) -> dict[str, int]:
        """Refused receptions by reason (security refusals, undecodable, misbehaving senders), and
        messages not sent because their content could not be encoded (``not_sent_<type>``)."""
        return dict(self._refused)


    # --- sending ----------------------------------------------------------------------------

    def _tick(self) -> None:
        now = self.now()
        if self._ego is not None and now + 1e-9 >= self._generation_start:
            self._send(now, self._ego)
        header = Header(now, MAP_FRAME)
        is_flagged, max_age = self._receiver.is_flagged, self.params.report_max_age
        fresh = tuple(r for r, sender in self._reports.values() if now - r.header.stamp <= max_age
                      and not is_flagged(sender))
        self._reports_pub.publish(V2xReportList(header, fresh))
        self._links_pub.publish(LinkQualityList(header, self._links.qualities(now)))
        self._timing_pub.publish(SignalTimingList(header, tuple(
            t for t in self._timings.values() if t.phases and t.phases[-1].end > now)))
        level = 1 if self._refused else 0
        self._health_pub.publish(DiagnosticStatus(header, "v2x", level, "refused receptions" if level else "ok",
                                                  tuple(sorted((k, str(v)) for k, v in self._refused.items()))))

    def _send(self, now: float, ego: EgoState) -> None:
        self._identity.update(now, ego)
        if self._signer is not None:   # a new pseudonym certificate comes with a new temporary ID
            pseudonym = self._signer.pseudonym_id(now)
            if self._pseudonym is not None and pseudonym != self._pseudonym:
                self._identity.renew(now)
            self._pseudonym = pseudonym
        if not self._scheduler.should_send(now, ego, 0.0, self.params.cooperative_awareness):
            return
        cx, cy = centre_from_rear_axle(ego.x, ego.y, ego.yaw, self._vehicle)
        sigma = math.sqrt(max(ego.covariance[0], ego.covariance[5], 0.0)) or 0.5
        report = V2xVehicleReport(Header(now, MAP_FRAME), self._identity.station_id,
                                  self._identity.next_msg_count("BSM"), cx, cy, ego.yaw, max(ego.speed, 0.0), ego.accel,
                                  ego.yaw_rate, self._vehicle.length, self._vehicle.width, sigma)
        self._transmit(now, lambda: encode_bsm(report, origin=self._origin), "BSM")
        if not (self.params.share_maneuvers and self._trajectory is not None and self._trajectory.points):
            return
        if self._last_maneuver is not None and now - self._last_maneuver + 1e-9 < self.params.maneuver_interval:
            return
        self._last_maneuver = now
        plan = self._trajectory.points
        stride = max(1, math.ceil(len(plan) / self.params.maneuver_points))
        # a solver's plan may dip below zero speed by its tolerance: J2735 speeds are magnitudes
        points = tuple(replace(p, speed=0.0) if p.speed < 0.0 else p
                       for p in plan[::stride][: self.params.maneuver_points])
        intent, offset = _intent(self._mode)
        command = self._mode
        answer = command.gap_answer if command is not None else None
        share = ManeuverShare(Header(now, MAP_FRAME), self._identity.station_id,
                              self._identity.next_msg_count("MANEUVER"), intent, points,
                              target_lane_offset=offset,
                              time_gap=command.time_gap if command is not None else None,
                              yield_request_to=command.gap_request_to if command is not None else None,
                              gap_response=None if answer is None else GapResponse(
                                  answer.requester_id, answer.accepted, GapResponseReason(answer.reason)))
        if self._transmit(now, lambda: encode_maneuver(share, origin=self._origin), "MANEUVER"):
            self._own_plan_pub.publish(_shared_plan(share))

    def _transmit(self, now: float, encode: Callable[[], bytes], message_type: str) -> bool:
        """Encode, sign and send; content the message cannot carry is counted and skipped (False)."""
        try:
            payload = encode()
        except V2xEncodeError as exc:
            self._refuse(f"not_sent_{message_type.lower()}")
            self.logger.warning("%s not sent: %s", message_type, exc)
            return False
        if self._signer is not None:
            payload = self._signer.sign(payload, PSID_OF_MESSAGE[message_type], now)
        self._frame_pub.publish(V2xFrame(Header(now, MAP_FRAME), self._identity.station_id, payload, message_type))
        return True

    # --- receiving --------------------------------------------------------------------------

    def _on_sensor_objects(self, tracks: TrackList) -> None:
        if self._ego is None:
            return
        cx, cy = centre_from_rear_axle(self._ego.x, self._ego.y, self._ego.yaw, self._vehicle)
        visible = line_of_sight(cx, cy, tracks, self.params.visibility_range, self.params.occluder_half_width)
        self._receiver.on_sensor_tracks(tracks, visible, self.now())

    def _on_negotiation(self, share: ManeuverShare) -> None:
        """Pass on a gap request naming this vehicle, and an answer to this vehicle's request."""
        own = self._identity.station_id
        if share.yield_request_to == own and share.points:
            first = share.points[0]
            self._gap_requests_pub.publish(GapRequest(share.header, share.station_id, first.x, first.y, first.speed))
        response = share.gap_response
        if response is not None and response.requester_id == own:
            self._gap_answers_pub.publish(GapAnswer(response.requester_id, response.accepted, response.reason.value,
                                                    share.station_id))

    def _refuse(self, reason: str) -> None:
        self._refused[reason] = self._refused.get(reason, 0) + 1

    def _on_frame(self, frame: V2xFrame) -> None:
        now = self.now()
        result = self._receiver.receive(frame.payload, now, own_station=self._identity.station_id)
        if result is None:
            return
        if isinstance(result, Rejected):
            self._refuse(result.reason)
            if result.unknown_signer and self._signer is not None:
                self._signer.include_certificate_next()
            return
        message = result.message
        if isinstance(message, DecodedBsm):
            report = message.report
            if report.station_id not in self._reports and self._signer is not None:
                self._signer.include_certificate_next()      # a new neighbour: it lacks the own certificate
            self._links.on_reception(report.station_id, report.msg_count, report.header.stamp, now)
            if math.isfinite(report.x) and math.isfinite(report.y) and math.isfinite(report.speed):
                self._reports[report.station_id] = (report, result.sender)
        elif isinstance(message, SpatMessage):
            for timing in signal_timing_from_spat(message, self._tls_ids, now):
                self._timings[(timing.intersection, timing.link_index)] = timing
        elif isinstance(message, RoadAlert):
            self._road_events_pub.publish(RoadEventReport(
                message.header, frame.sender_id, message.x, message.y, message.travel_yaw,
                (message.type_event, *message.description), message.closes_road))
        elif isinstance(message, ManeuverShare):
            self._plans_pub.publish(_shared_plan(message))
            self._on_negotiation(message)
        for observer in self.acceptance_observers:
            observer(frame.payload, result)
