"""SI-level content of the V2X messages the codec carries (decoded BSM, SPaT, MAP, maneuver).

All positions are in ``map`` (x east, y north; REP 105), angles REP 103 (rad, CCW from x),
times are absolute on the simulation/vehicle clock [s] unless stated as relative.
A value the sender marked "unavailable" is None (or listed in ``DecodedBsm.unavailable``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from cav_stack.core.messages import GapResponseReason, Header, Trajectory, TrajectoryPoint, V2xVehicleReport


@dataclass(frozen=True)
class PathHistoryPoint:
    """A breadcrumb of the sender's path (J2735 DF_PathHistoryPoint).

    age: time before the BSM's generation time [s] (> 0); x, y: position in ``map`` [m];
    speed [m/s] or None when not sent.
    """

    age: float
    x: float
    y: float
    speed: float | None = None


@dataclass(frozen=True)
class PathPrediction:
    """Predicted path (J2735 DF_PathPrediction).

    radius: curve radius [m], positive when the centre is on the left (REP 103), None for a
    straight path; confidence: [0..1].
    """

    radius: float | None
    confidence: float


@dataclass(frozen=True)
class DecodedBsm:
    """A received BasicSafetyMessage in SI.

    report: core data (``report.header.stamp`` = generation time [s] from secMark).
    unavailable: names of ``report`` fields the sender marked unavailable; those hold NaN
    (kinematics, size) or +inf (``position_sigma``).
    altitude: height above the WGS84 ellipsoid [m] or None;
    path_history: Part II breadcrumbs in the order sent (J2945/1: newest first);
    path_prediction: Part II predicted path or None when not sent.
    """

    report: V2xVehicleReport
    unavailable: frozenset[str] = frozenset()
    altitude: float | None = None
    path_history: tuple[PathHistoryPoint, ...] = ()
    path_prediction: PathPrediction | None = None


class MovementPhase(enum.Enum):
    """J2735 DE_MovementPhaseState (value = the standard's enumerator name)."""

    UNAVAILABLE = "unavailable"
    DARK = "dark"
    STOP_THEN_PROCEED = "stop-Then-Proceed"
    STOP_AND_REMAIN = "stop-And-Remain"
    PRE_MOVEMENT = "pre-Movement"
    PERMISSIVE_MOVEMENT_ALLOWED = "permissive-Movement-Allowed"
    PROTECTED_MOVEMENT_ALLOWED = "protected-Movement-Allowed"
    PERMISSIVE_CLEARANCE = "permissive-clearance"
    PROTECTED_CLEARANCE = "protected-clearance"
    CAUTION_CONFLICTING_TRAFFIC = "caution-Conflicting-Traffic"


@dataclass(frozen=True)
class MovementEvent:
    """One phase of a signal group with its timing (J2735 DF_MovementEvent).

    min_end_time: earliest end of this phase [s, absolute]; max_end_time, likely_time:
    latest and most likely end [s, absolute] or None when unknown.
    """

    phase: MovementPhase
    min_end_time: float | None
    max_end_time: float | None = None
    likely_time: float | None = None


@dataclass(frozen=True)
class SignalGroupState:
    """State of one signal group: the current event first, then announced ones."""

    signal_group: int
    events: tuple[MovementEvent, ...]


@dataclass(frozen=True)
class IntersectionSignalState:
    """Signal state of one intersection (J2735 DF_IntersectionState).

    intersection_id: J2735 IntersectionID (0..65535); revision: MsgCount (0..127) that
    changes when the content changes; groups: one entry per signal group.
    """

    intersection_id: int
    revision: int
    groups: tuple[SignalGroupState, ...]


@dataclass(frozen=True)
class SpatMessage:
    """Signal phase and timing (J2735 MSG_SPAT); header.stamp: generation time [s]."""

    header: Header
    intersections: tuple[IntersectionSignalState, ...]


class Maneuver(enum.Enum):
    """Movements a lane or connection allows (J2735 DE_AllowedManeuvers bits used here)."""

    STRAIGHT = "maneuverStraightAllowed"
    LEFT = "maneuverLeftAllowed"
    RIGHT = "maneuverRightAllowed"
    U_TURN = "maneuverUTurnAllowed"


@dataclass(frozen=True)
class LaneConnection:
    """Where a lane leads across the intersection (J2735 DF_Connection).

    to_lane: lane ID of the egress lane; signal_group: the group controlling this movement
    (None: unsignalised); maneuvers: the movement(s) it is.
    """

    to_lane: int
    signal_group: int | None
    maneuvers: frozenset[Maneuver] = frozenset()


@dataclass(frozen=True)
class MapLane:
    """One vehicle lane of an intersection (J2735 DF_GenericLane).

    is_ingress / is_egress: travel direction relative to the intersection;
    approach: ingress or egress approach ID (0..15) or None;
    centreline: (x, y) points in ``map`` [m]; by J2735 convention the first point is at the
    stop line (ingress) or the intersection edge (egress), the others lead away from it.
    """

    lane_id: int
    is_ingress: bool
    is_egress: bool
    centreline: tuple[tuple[float, float], ...]
    approach: int | None = None
    maneuvers: frozenset[Maneuver] = frozenset()
    connections: tuple[LaneConnection, ...] = ()


@dataclass(frozen=True)
class IntersectionMap:
    """Geometry of one signalised intersection (J2735 DF_IntersectionGeometry).

    ref_x, ref_y: reference point in ``map`` [m]; lane_width [m] or None; revision: MsgCount.
    """

    intersection_id: int
    revision: int
    ref_x: float
    ref_y: float
    lanes: tuple[MapLane, ...]
    lane_width: float | None = None


@dataclass(frozen=True)
class MapMessage:
    """Intersection geometry (J2735 MSG_MapData); header.stamp: generation time [s]."""

    header: Header
    revision: int
    intersections: tuple[IntersectionMap, ...]


class ManeuverIntent(enum.Enum):
    """What a CAV intends to do (value = IntendedManeuver enumerator of cav_maneuver.asn)."""

    KEEP_LANE = "keepLane"
    LANE_CHANGE_LEFT = "laneChangeLeft"
    LANE_CHANGE_RIGHT = "laneChangeRight"
    FOLLOW_LEADER = "followLeader"
    JOIN_PLATOON = "joinPlatoon"
    LEAVE_PLATOON = "leavePlatoon"
    STOP_AT_LINE = "stopAtLine"
    MINIMAL_RISK_MANEUVER = "minimalRiskManeuver"


@dataclass(frozen=True)
class GapResponse:
    """The answer to a gap request (``ManeuverShare.yield_request_to``) naming the sender.

    requester_id: temporary ID of the vehicle that asked; accepted: the sender opens (holds) the gap
    ahead of itself; reason: :class:`GapResponseReason` (GAP_OPENING when accepted).
    """

    requester_id: int
    accepted: bool
    reason: GapResponseReason


@dataclass(frozen=True)
class ManeuverShare:
    """A CAV's intended maneuver and planned trajectory (ManeuverSharingMessage).

    header.stamp: time of the trajectory's t = 0 and of generation [s]; frame ``map``.
    points: planned states, ``t`` relative to header.stamp [s] (0..10 s), 1..50 points.
    target_lane_offset: lateral offset of the target lane [m], positive left, or None;
    leader_id: temporary ID of the followed vehicle; time_gap: desired time gap [s];
    yield_request_to: temporary ID of the vehicle asked to open a gap;
    gap_response: the sender's answer to a gap request that named it, or None.
    """

    header: Header
    station_id: int
    msg_count: int
    intent: ManeuverIntent
    points: tuple[TrajectoryPoint, ...]
    target_lane_offset: float | None = None
    leader_id: int | None = None
    time_gap: float | None = None
    yield_request_to: int | None = None
    gap_response: GapResponse | None = None

    def trajectory(self) -> Trajectory:
        """The planned trajectory as the core message type."""
        return Trajectory(header=self.header, points=self.points)


ITIS_INCIDENT = 531
"""ITIS phrase (SAE J2540-2, category accidents and incidents) "incident"."""
ITIS_CLOSED_TO_TRAFFIC = 769
"""ITIS phrase (SAE J2540-2, category closures) "closed to traffic"."""


@dataclass(frozen=True)
class RoadAlert:
    """A roadside unit's alert about an event on the road (RoadSideAlert).

    header.stamp: generation time [s]; frame ``map``. msg_count: 0..127. type_event: the ITIS
    code of the event (e.g. :data:`ITIS_INCIDENT`); description: further ITIS codes (0..8, e.g.
    :data:`ITIS_CLOSED_TO_TRAFFIC`). x, y: position of the event in ``map`` [m]; travel_yaw: the
    direction of travel it affects, REP 103 [rad] (None: every direction).
    """

    header: Header
    msg_count: int
    type_event: int
    x: float
    y: float
    travel_yaw: float | None = None
    description: tuple[int, ...] = ()

    @property
    def closes_road(self) -> bool:
        """Whether the alert says the road is closed to traffic there."""
        return ITIS_CLOSED_TO_TRAFFIC in (self.type_event, *self.description)
