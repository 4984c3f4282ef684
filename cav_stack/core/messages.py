"""Typed messages exchanged between nodes.

Every message is a frozen dataclass carrying a :class:`Header` (stamp in seconds of
simulation or vehicle time, and the ``frame_id`` its geometry is expressed in).
Units are SI throughout: metres, seconds, radians, m/s, m/s², rad/s.
Frames follow REP 103/105: x forward, y left, z up; ``map`` is the world-fixed frame,
``base_link`` is the vehicle frame at the rear-axle centre.

Messages holding arrays (point clouds) compare by identity (``eq=False``); all other
messages compare by value so tests can check round trips.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

MAP_FRAME = "map"
ODOM_FRAME = "odom"
BASE_LINK_FRAME = "base_link"


@dataclass(frozen=True)
class Header:
    """Time and frame of a message.

    stamp: time the content refers to, in seconds on the simulation/vehicle clock.
    frame_id: frame the geometry is expressed in (``map``, ``base_link``, a sensor frame).
    """

    stamp: float
    frame_id: str


@dataclass(frozen=True)
class EgoState:
    """Ego vehicle state in ``header.frame_id`` (normally ``map``).

    x, y: rear-axle position [m]; yaw: heading [rad] in [-pi, pi), counter-clockwise from x;
    speed: longitudinal speed [m/s]; accel: longitudinal acceleration [m/s^2];
    yaw_rate [rad/s]; steer: front-wheel steering angle [rad], positive left.
    covariance: row-major 4x4 covariance of (x, y, yaw, speed) in SI units squared.
    """

    header: Header
    x: float
    y: float
    yaw: float
    speed: float
    accel: float = 0.0
    yaw_rate: float = 0.0
    steer: float = 0.0
    covariance: tuple[float, ...] = (0.0,) * 16


class ObjectClass(enum.Enum):
    """Class of a perceived road user."""

    UNKNOWN = "unknown"
    CAR = "car"
    TRUCK = "truck"
    BUS = "bus"
    MOTORCYCLE = "motorcycle"
    BICYCLE = "bicycle"
    PEDESTRIAN = "pedestrian"


@dataclass(frozen=True)
class TrackedObject:
    """One tracked road user in the frame of the enclosing :class:`TrackList`.

    x, y: centre of the bounding box [m]; yaw [rad]; speed [m/s] along yaw;
    accel [m/s^2] along yaw; length, width, height: box size [m];
    covariance: row-major 4x4 covariance of (x, y, yaw, speed).
    v2x_id: station ID of a V2X sender bound to this track, if any.
    """

    track_id: int
    x: float
    y: float
    yaw: float
    speed: float
    length: float
    width: float
    height: float = 1.5
    accel: float = 0.0
    object_class: ObjectClass = ObjectClass.CAR
    covariance: tuple[float, ...] = (0.0,) * 16
    v2x_id: int | None = None


@dataclass(frozen=True)
class TrackList:
    """Objects perceived by the ego at ``header.stamp``, in ``header.frame_id``."""

    header: Header
    objects: tuple[TrackedObject, ...] = ()


@dataclass(frozen=True, eq=False)
class PointCloud:
    """LiDAR returns in ``header.frame_id`` (the LiDAR frame).

    points: float32 array (N, 4) of x, y, z [m] and intensity [0..1].
    """

    header: Header
    points: np.ndarray


@dataclass(frozen=True)
class RadarDetection:
    """One radar detection, polar in the radar frame.

    range_m [m]; azimuth [rad], positive left; range_rate [m/s], positive receding;
    rcs_dbsm: radar cross-section [dBsm].
    """

    range_m: float
    azimuth: float
    range_rate: float
    rcs_dbsm: float


@dataclass(frozen=True)
class RadarFrame:
    """Radar detections of one scan in ``header.frame_id`` (the radar frame)."""

    header: Header
    detections: tuple[RadarDetection, ...] = ()


@dataclass(frozen=True)
class CameraDetection:
    """One 2D detection in image pixels (u right, v down) with class and score [0..1]."""

    u_min: float
    v_min: float
    u_max: float
    v_max: float
    object_class: ObjectClass
    score: float


@dataclass(frozen=True)
class CameraFrame:
    """2D detections of one image in ``header.frame_id`` (the optical frame)."""

    header: Header
    detections: tuple[CameraDetection, ...] = ()


@dataclass(frozen=True)
class GnssFix:
    """Position fix projected into ``map``: x, y [m] with standard deviation sigma_m [m]."""

    header: Header
    x: float
    y: float
    sigma_m: float


@dataclass(frozen=True)
class ImuSample:
    """IMU in ``base_link``: longitudinal/lateral acceleration [m/s^2], yaw rate [rad/s]."""

    header: Header
    accel_x: float
    accel_y: float
    yaw_rate: float


@dataclass(frozen=True)
class WheelOdometry:
    """Wheel-speed odometry: longitudinal speed [m/s] in ``base_link``."""

    header: Header
    speed: float


class V2xTechnology(enum.Enum):
    """Radio access technology a V2X frame travels on."""

    DSRC = "dsrc"
    CV2X = "cv2x"


@dataclass(frozen=True)
class V2xFrame:
    """An encoded V2X message as it crosses the air.

    header.stamp: time of transmission (sent) or reception (received) [s];
    header.frame_id: ``map`` (positions inside the payload are geodetic or map-projected).
    sender_id: station (temporary) ID of the transmitter; payload: the encoded bytes
    (UPER-encoded J2735 MessageFrame, optionally wrapped in a signed envelope);
    message_type: name of the payload's message (``BSM``, ``SPAT``, ``MAP``, ...);
    tx_power_dbm: transmit power [dBm]; latency: air + access delay on delivery [s].
    """

    header: Header
    sender_id: int
    payload: bytes
    message_type: str
    technology: V2xTechnology = V2xTechnology.DSRC
    tx_power_dbm: float = 23.0
    latency: float = 0.0


@dataclass(frozen=True)
class V2xVehicleReport:
    """What a V2X sender says about itself (decoded BSM / CAM), converted to SI and ``map``.

    header.stamp: the sender's generation time [s] (age it on use); header.frame_id: ``map``.
    station_id: sender's temporary ID; msg_count: the message counter (0..127);
    x, y: reported position of the sender's reference point in ``map`` [m];
    position_sigma: reported 1-sigma position accuracy [m]; yaw [rad]; speed [m/s];
    accel: longitudinal acceleration [m/s^2]; yaw_rate [rad/s]; length, width [m].
    """

    header: Header
    station_id: int
    msg_count: int
    x: float
    y: float
    yaw: float
    speed: float
    accel: float = 0.0
    yaw_rate: float = 0.0
    length: float = 4.5
    width: float = 1.8
    position_sigma: float = 1.0


@dataclass(frozen=True)
class Route:
    """A route over the road network: SUMO edge IDs in travel order, with its cost [s]."""

    header: Header
    edges: tuple[str, ...]
    expected_travel_time: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class RoadEventReport:
    """A road event reported over V2X (an RSU's RoadSideAlert), as received.

    header.stamp: the sender's generation time [s]; header.frame_id: ``map``.
    sender_id: radio station that sent it; x, y: position of the event [m, map];
    travel_yaw: direction of travel it affects [rad, REP 103] (None: every direction);
    itis_codes: the ITIS phrases (SAE J2540-2) describing it, event type first;
    closed: the road is closed to traffic there.
    """

    header: Header
    sender_id: int
    x: float
    y: float
    travel_yaw: float | None
    itis_codes: tuple[int, ...]
    closed: bool


class DrivingMode(enum.Enum):
    """Driving modes the mode selector can choose."""

    MANUAL = "manual"
    CRUISE = "cruise"
    ACC = "acc"
    CACC = "cacc"
    PLATOON = "platoon"
    LANE_CHANGE = "lane_change"
    ECO_APPROACH = "eco_approach"
    MINIMAL_RISK = "minimal_risk"
    TAKEOVER_REQUEST = "takeover_request"


class GapResponseReason(enum.Enum):
    """Why a vehicle asked to open a gap answered as it did (GapResponseReason of cav_maneuver.asn)."""

    GAP_OPENING = "gapOpening"
    BEYOND_COMFORT_LIMITS = "beyondComfortLimits"
    YIELDING_TO_ANOTHER = "yieldingToAnother"
    REQUESTER_NOT_AHEAD = "requesterNotAhead"
    MERGED = "merged"
    TIMED_OUT = "timedOut"
    REQUEST_WITHDRAWN = "requestWithdrawn"


@dataclass(frozen=True)
class GapAnswer:
    """An answer to a gap request (cooperative merge over V2X): the requester's and the responder's
    V2X station IDs (responder None: this vehicle's own answer, sent under its own ID), whether the
    responder opens the gap ahead of itself, and why (a :class:`GapResponseReason` value)."""

    requester_id: int
    accepted: bool
    reason: str
    responder_id: int | None = None


@dataclass(frozen=True)
class GapRequest:
    """A neighbour's request over V2X that this vehicle open the gap ahead of itself: the requester's
    V2X station ID and, at ``header.stamp``, its box centre in ``map`` [m] and speed [m/s] (the first
    point of its shared trajectory)."""

    header: Header
    requester_id: int
    x: float
    y: float
    speed: float


@dataclass(frozen=True)
class ModeCommand:
    """Mode and targets for the execution layer.

    target_speed [m/s]; time_gap [s] and standstill_gap [m] to the leader;
    leader_id: track ID of the leader (None: free road); target_lane_offset: lateral
    offset of the target lane relative to the current one [m] (positive left);
    stop_distance: distance along the path to a stop line [m] (None: no stop);
    reason: why the selector chose this mode (logged on every switch);
    takeover_level: escalation level of a running takeover request, shown to the driver (0: none);
    gap_request_to: V2X station ID of the vehicle asked to open a gap for the ego's merge (None: none);
    gap_answer: the ego's answer to a gap request, sent over V2X (None: nothing to answer).
    """

    header: Header
    mode: DrivingMode
    target_speed: float
    time_gap: float
    standstill_gap: float
    leader_id: int | None = None
    target_lane_offset: float = 0.0
    stop_distance: float | None = None
    reason: str = ""
    takeover_level: int = 0
    gap_request_to: int | None = None
    gap_answer: GapAnswer | None = None


@dataclass(frozen=True)
class TrajectoryPoint:
    """A planned state at relative time t [s] after the trajectory's stamp, in its frame."""

    t: float
    x: float
    y: float
    yaw: float
    speed: float
    accel: float


@dataclass(frozen=True)
class Trajectory:
    """A planned trajectory in ``header.frame_id`` starting at ``header.stamp``."""

    header: Header
    points: tuple[TrajectoryPoint, ...] = ()


@dataclass(frozen=True)
class ControlCommand:
    """Actuator request for the vehicle, in ``base_link``.

    accel: longitudinal acceleration [m/s^2] (negative brakes); steer: front-wheel angle
    [rad], positive left; source: which controller produced it; fallback: True when
    the command comes from a fallback path (solver failure or overrun).
    """

    header: Header
    accel: float
    steer: float
    source: str = ""
    fallback: bool = False


@dataclass(frozen=True)
class LinkQuality:
    """V2X information quality of one neighbour over the evaluation window.

    pdr: packet delivery ratio [0..1]; latency: mean delivery latency [s];
    age_of_information: time since the newest received generation time [s].
    """

    header: Header
    neighbour_id: int
    pdr: float
    latency: float
    age_of_information: float


@dataclass(frozen=True)
class DiagnosticStatus:
    """Health of a component: level 0 OK, 1 WARN, 2 ERROR, 3 STALE, with a message."""

    header: Header
    name: str
    level: int
    message: str = ""
    values: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class V2xReportList:
    """The newest accepted V2X report of every neighbour at ``header.stamp`` (``map``)."""

    header: Header
    reports: tuple[V2xVehicleReport, ...] = ()


@dataclass(frozen=True)
class LinkQualityList:
    """Link quality of every V2X neighbour heard within the window, at ``header.stamp``."""

    header: Header
    links: tuple[LinkQuality, ...] = ()


@dataclass(frozen=True)
class SignalPhaseWindow:
    """A predicted phase of one signal group: state (``green``, ``yellow``, ``red``) between
    ``start`` and ``end`` [s, absolute time on the vehicle clock]."""

    state: str
    start: float
    end: float


@dataclass(frozen=True)
class SignalTiming:
    """Timing of one signal group at one intersection, from SPaT: ``intersection`` is the SUMO
    traffic-light ID, ``link_index`` the controlled link (signal group), phases in time order."""

    intersection: str
    link_index: int
    phases: tuple[SignalPhaseWindow, ...] = ()


@dataclass(frozen=True)
class SignalTimingList:
    """Every signal timing the vehicle currently knows (from received SPaT) at ``header.stamp``."""

    header: Header
    timings: tuple[SignalTiming, ...] = ()


@dataclass(frozen=True)
class StopRequest:
    """A request from outside the stack (an operator, a fleet manager, any ROS 2 node) to stop the
    vehicle in its lane (``stop``) or to drive on (``not stop``). header.stamp: when it was sent [s]
    (0 when the carrier has no stamp: std_msgs/Bool on ROS 2)."""

    header: Header
    stop: bool = True


@dataclass(frozen=True)
class DriverState:
    """The person in the seat: available (awake, able to take over) and whether they hold the controls."""

    header: Header
    available: bool = True
    in_control: bool = False


@dataclass(frozen=True)
class SharedPlan:
    """A neighbour's planned trajectory received over V2X: its station ID, the points (``map``,
    ``t`` relative to ``header.stamp``, the generation time) and its desired time gap [s];
    intent: the ManeuverShare's intended manoeuvre (its ASN.1 enumerator name, e.g.
    ``laneChangeLeft``; None: not given); target_lane_offset [m]: lateral offset of the target lane
    from the lane the sender is in when its lane change began, positive left (None: none)."""

    header: Header
    station_id: int
    points: tuple[TrajectoryPoint, ...]
    time_gap: float | None = None
    intent: str | None = None
    target_lane_offset: float | None = None


@dataclass(frozen=True)
class VehicleStatus:
    """The vehicle's own report of its state (CAN bus), in ``base_link``: speed [m/s],
    longitudinal acceleration [m/s^2], front-wheel steering angle [rad] (positive left)."""

    header: Header
    speed: float
    accel: float
    steer: float
