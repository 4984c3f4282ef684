"""UN R157 (ALKS) pass criteria of an OpenSCENARIO run, with the regulation's reference driver.

Measured on ground truth, in the frame of the ego's initial lane: each entity's distance ``along``
[m] that lane's centreline, its ``lateral`` offset [m, left +] from it (box centres) and its speed
along the lane [m/s] (a vehicle changing lanes moves partly sideways). Per run:
collision (first box contact with the ego), impact speed [m/s] (the closing speed along the ego's
heading at first contact), minimum time to collision [s] and minimum bumper-to-bumper distance [m]
to the objects overlapping the ego's lane ahead of it.

Reference driver model: UN Regulation No. 157, Annex 4, Appendix 3 ("Guidance on traffic
disturbance critical scenarios for ALKS", E/ECE/TRANS/505/Rev.3/Add.156), the "competent and
careful human driver" the ALKS must be at least as good as. The regulation's own text could not
be retrieved here; each figure below is checked against the secondary sources that quote or
implement that appendix: the European Commission JRC's reference implementation
(github.com/ec-jrc/JRC-FSM, ``utility/vehicle.py``, ``utility/models.py``; its issues #1 and #2
quote the appendix), and esmini's ``ControllerALKS_R157SM`` (the ALKS scenario authors' controller):
  * risk perception starts when the other vehicle's lateral motion exceeds the lateral wandering
    distance, 0.375 m (cut-in: towards the ego's lane; cut-out: the lead leaving it) [JRC-FSM
    ``wandering_zone = -0.375``; esmini ``wandering_threshold_(0.375)``], or, for a decelerating
    lead, when its deceleration exceeds 5 m/s^2 [the appendix as quoted in JRC-FSM issue #2: "The
    risk perception time [a] begins when the leading vehicle exceeds a deceleration threshold
    5m/s2"; a lead that never brakes that hard gives no reference outcome: the run passes only
    without a collision];
  * risk perception time 0.4 s [JRC-FSM issue #1 quoting the appendix: "a = lateral movement
    speed x Risk perception time [a] (0.4sec)"; esmini ``perception_time_(0.4)``; the appendix's
    figure draws it as 0.72 m of lateral motion, i.e. 1.8 m/s x 0.4 s], then reaction time 0.75 s
    before the brake acts [JRC-FSM ``CC_rt = 0.75``; esmini ``ReferenceDriver(..., 0.75, ...)``];
  * braking builds up at 12.65 m/s^3 to 0.774 g (i.e. within 0.6 s) [JRC-FSM ``CC_min_jerk =
    12.65``, ``CC_max_deceleration = 0.774 * 9.81``; esmini the same] and is held while an object
    in the lane ahead is slower than the ego; then the ego keeps that object's speed.
  Not confirmed by any source found: whether the model decelerates during the reaction time
  (JRC-FSM applies 0.4 m/s^2 of accelerator release, marked "I think" in its code; here the speed
  is kept, which makes the reference driver slightly worse), and JRC-FSM/esmini's extra
  condition that the driver reacts only when TTC < 2 s (not modelled: the reference driver
  brakes for any slower object in its lane, which only makes it more cautious).
The reference ego starts at the ego's initial state and keeps its initial speed until it brakes;
the other entities move as recorded (the storyboard moves them, whatever the ego does); its contact
with them is the same box test as the stack's (``boxes_overlap``, oriented boxes).

Minimum following distance (R157 paragraph 5.2.3.3): the time gap to a moving vehicle ahead in the
lane must not fall below 1.0 s at 7.2 km/h rising to 1.6 s at 60 km/h (the paragraph's table as
this module reads it; no source retrieved here quotes it, so its rows are unverified; linear
between its rows, 1.6 s above 60 km/h as far as this check goes); checked outside
emergencies, i.e. before the risk perception point of the run's disturbance (cut-in, cut-out,
deceleration) and only while the ego drives faster than 7.2 km/h.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.eval.metrics import boxes_overlap
from cav_stack.world.road_map import RoadMap

G = 9.81
#: Annex 4 Appendix 3 (module docstring): lateral wandering distance [m] ...
LATERAL_WANDERING_M = 0.375
#: ... risk perception time [s] ...
PERCEPTION_TIME_S = 0.4
#: ... reaction time [s] ...
REACTION_TIME_S = 0.75
#: ... peak deceleration [m/s^2] (0.774 g) ...
MAX_DECEL_MPS2 = 0.774 * G
#: ... reached in this time [s] (12.65 m/s^3 of jerk) ...
BRAKE_BUILD_UP_S = 0.6
#: ... and the lead deceleration [m/s^2] that starts risk perception in the deceleration family.
DECEL_THRESHOLD_MPS2 = 5.0
#: "Hits harder" means an impact speed above the reference driver's by more than this [m/s]: one
#: 50 ms sample of braking at 2 m/s^2 (both impact speeds are read from 20 Hz samples).
IMPACT_TOLERANCE_MPS = 0.1
#: R157 paragraph 5.2.3.3: ego speed [km/h] -> minimum time gap [s] to the vehicle ahead.
MIN_GAP_SPEEDS_KPH = (7.2, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0)
MIN_GAP_TIMES_S = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6)
#: A vehicle ahead slower than this [m/s] is an obstacle, not a vehicle to follow.
MOVING_MPS = 0.5


def minimum_time_gap(speed: float) -> float:
    """R157 minimum time gap [s] at ego ``speed`` [m/s] (module docstring)."""
    return float(np.interp(speed * 3.6, MIN_GAP_SPEEDS_KPH, MIN_GAP_TIMES_S))


def family_of(name: str) -> str | None:
    """The R157 scenario family of a scenario name (cut_in, cut_out, deceleration), None otherwise."""
    lowered = name.lower().replace("-", "_")
    for key, family in (("cut_in", "cut_in"), ("cutin", "cut_in"), ("cut_out", "cut_out"), ("cutout", "cut_out"),
                        ("deceleration", "deceleration"), ("braking", "deceleration")):
        if key in lowered:
            return family
    return None


@dataclass
class _Track:
    time: list[float] = field(default_factory=list)
    along: list[float] = field(default_factory=list)
    lateral: list[float] = field(default_factory=list)
    speed: list[float] = field(default_factory=list)
    boxes: list[VehicleTruth] = field(default_factory=list)
    length: float = 0.0
    width: float = 0.0


class R157Recorder:
    """Observer of the world truth (see the module docstring); ``summary()`` gives the figures."""

    def __init__(self, ego: str, road_map: RoadMap, family: str | None):
        self.ego = ego
        self.road_map = road_map
        self.family = family
        self.tracks: dict[str, _Track] = {}
        self.collision: dict[str, Any] | None = None
        self.min_ttc = math.inf
        self.min_distance = math.inf
        self.following: list[tuple[float, float, float]] = []
        """(time [s], time gap [s], R157 minimum [s]) to the nearest moving vehicle ahead in the lane."""
        self._nearest_moving: float | None = None
        self._line: np.ndarray | None = None
        self._cumulative: np.ndarray | None = None

    def _project(self, x: float, y: float) -> tuple[float, float, float]:
        """(distance along the lane line [m], lateral offset [m, left +], the line's heading there [rad])."""
        assert self._line is not None and self._cumulative is not None
        starts, ends = self._line[:-1], self._line[1:]
        direction = ends - starts
        lengths = np.hypot(direction[:, 0], direction[:, 1])
        t = np.clip(((x - starts[:, 0]) * direction[:, 0] + (y - starts[:, 1]) * direction[:, 1]) / lengths ** 2, 0, 1)
        px, py = starts[:, 0] + t * direction[:, 0], starts[:, 1] + t * direction[:, 1]
        k = int(np.argmin(np.hypot(px - x, py - y)))
        cross = direction[k, 0] * (y - starts[k, 1]) - direction[k, 1] * (x - starts[k, 0])
        return (float(self._cumulative[k] + t[k] * lengths[k]), float(cross / lengths[k]),
                math.atan2(direction[k, 1], direction[k, 0]))

    def __call__(self, truth: WorldTruth, commands: dict[str, Any]) -> None:
        ego = truth.vehicle(self.ego)
        if ego is None:
            return
        if self._line is None:
            self._line = self.road_map.lane_centerline(self.road_map.lane_id(ego.edge_id, ego.lane_index))
            self._cumulative = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(self._line, axis=0).T))])
        ego_along, _, _ = self._project(ego.x, ego.y)
        self._nearest_moving = None
        for vehicle in truth.vehicles:
            along, lateral, heading = self._project(vehicle.x, vehicle.y)
            track = self.tracks.setdefault(vehicle.vehicle_id, _Track(length=vehicle.length, width=vehicle.width))
            track.time.append(truth.stamp)
            track.along.append(along)
            track.lateral.append(lateral)
            track.speed.append(vehicle.speed * math.cos(vehicle.yaw - heading))   # along the lane
            track.boxes.append(vehicle)
            if vehicle.vehicle_id == self.ego:
                continue
            self._measure(truth.stamp, ego, ego_along, vehicle, along, lateral)
        if self._nearest_moving is not None and ego.speed * 3.6 > MIN_GAP_SPEEDS_KPH[0]:
            self.following.append((truth.stamp, self._nearest_moving / ego.speed, minimum_time_gap(ego.speed)))

    def _measure(self, stamp: float, ego: VehicleTruth, ego_along: float, other: VehicleTruth, along: float,
                 lateral: float) -> None:
        closing = ego.speed - other.speed * math.cos(other.yaw - ego.yaw)
        if self.collision is None and boxes_overlap(ego, other):
            self.collision = {"time_s": round(stamp, 3), "with": other.vehicle_id,
                              "impact_speed_mps": round(max(closing, 0.0), 3)}
        _, ego_lateral, _ = self._project(ego.x, ego.y)
        if abs(lateral - ego_lateral) >= 0.5 * (ego.width + other.width) or along <= ego_along:
            return
        gap = along - ego_along - 0.5 * (ego.length + other.length)
        self.min_distance = min(self.min_distance, max(gap, 0.0))
        if other.speed > MOVING_MPS and (self._nearest_moving is None or gap < self._nearest_moving):
            self._nearest_moving = max(gap, 0.0)
        if closing > 1e-3:
            self.min_ttc = min(self.min_ttc, max(gap, 0.0) / closing)

    # --- reference driver ---------------------------------------------------------------------------

    def risk_perception_time(self) -> tuple[float, str] | None:
        """(time [s], entity) where the reference driver's risk perception starts (module docstring)."""
        ego = self.tracks.get(self.ego)
        if ego is None or self.family is None:
            return None
        width = ego.width
        candidates = []
        for name, track in self.tracks.items():
            if name == self.ego or not track.time:
                continue
            lateral = np.array(track.lateral)
            start = lateral[0]
            in_lane_at_start = abs(start) < 0.5 * (width + track.width) and track.along[0] > ego.along[0]
            if self.family == "cut_in" and not in_lane_at_start:
                moved = np.nonzero(abs(start) - np.abs(lateral) > LATERAL_WANDERING_M)[0]
            elif self.family == "cut_out" and in_lane_at_start:
                moved = np.nonzero(np.abs(lateral - start) > LATERAL_WANDERING_M)[0]
            elif self.family == "deceleration" and in_lane_at_start and len(track.time) > 1:
                decel = -np.diff(track.speed) / np.diff(track.time)
                moved = np.nonzero(decel > DECEL_THRESHOLD_MPS2)[0] + 1
            else:
                continue
            if moved.size:
                candidates.append((track.time[int(moved[0])], name))
        return min(candidates) if candidates else None

    def reference_driver(self) -> dict[str, Any] | None:
        """Outcome of the reference driver in the recorded situation: collision, impact speed [m/s]."""
        risk = self.risk_perception_time()
        ego = self.tracks.get(self.ego)
        if risk is None or ego is None:
            return None
        t_risk, _ = risk
        brake_at = t_risk + PERCEPTION_TIME_S + REACTION_TIME_S
        times = np.array(ego.time)
        dt = float(np.median(np.diff(times))) if len(times) > 1 else 0.05
        position, speed, decel = ego.along[0], ego.speed[0], 0.0
        others = {n: t for n, t in self.tracks.items() if n != self.ego}
        for k in range(1, len(times)):
            t = times[k]
            ahead = self._nearest_ahead(others, k, position, ego)
            if t >= brake_at and ahead is not None and speed > ahead[1]:
                decel = min(decel + MAX_DECEL_MPS2 * dt / BRAKE_BUILD_UP_S, MAX_DECEL_MPS2)
                speed = max(speed - decel * dt, ahead[1], 0.0)
            elif t >= brake_at and ahead is not None:
                speed, decel = ahead[1], 0.0
            position += speed * dt
            contact = self._contact(others, k, position, speed, ego)
            if contact is not None:
                return {"collision": True, "impact_speed_mps": round(max(speed - contact, 0.0), 3),
                        "risk_perception_s": round(t_risk, 3), "brake_onset_s": round(brake_at, 3)}
        return {"collision": False, "impact_speed_mps": 0.0, "risk_perception_s": round(t_risk, 3),
                "brake_onset_s": round(brake_at, 3)}

    def _contact(self, others: dict[str, _Track], k: int, position: float, speed: float,
                 ego: _Track) -> float | None:
        """Speed along the lane [m/s] of an object whose box touches the reference ego's box at sample
        ``k`` (the reference ego at ``position`` [m] on its lane's centreline, heading along it); None."""
        assert self._line is not None and self._cumulative is not None
        x = float(np.interp(position, self._cumulative, self._line[:, 0]))
        y = float(np.interp(position, self._cumulative, self._line[:, 1]))
        segment = int(np.clip(np.searchsorted(self._cumulative, position) - 1, 0, len(self._line) - 2))
        direction = self._line[segment + 1] - self._line[segment]
        box = replace(ego.boxes[min(k, len(ego.boxes) - 1)], x=x, y=y, speed=speed,
                      yaw=math.atan2(direction[1], direction[0]))
        for track in others.values():
            if k < len(track.boxes) and abs(track.along[k] - position) < 0.5 * (ego.length + track.length) + 5.0 \
                    and boxes_overlap(box, track.boxes[k]):
                return track.speed[k]
        return None

    def _nearest_ahead(self, others: dict[str, _Track], k: int, position: float,
                       ego: _Track) -> tuple[float, float] | None:
        """(bumper gap [m], speed [m/s]) of the nearest object in the ego's lane ahead of ``position``
        at sample ``k`` (the reference ego stays at its lane's centre)."""
        best: tuple[float, float] | None = None
        for track in others.values():
            if k >= len(track.time) or abs(track.lateral[k]) >= 0.5 * (ego.width + track.width):
                continue
            gap = track.along[k] - position - 0.5 * (ego.length + track.length)
            if track.along[k] > position - 0.5 * ego.length and (best is None or gap < best[0]):
                best = (gap, track.speed[k])
        return best

    def following_summary(self, until: float) -> dict[str, Any]:
        """Smallest ratio of time gap to the R157 minimum and the time [s] spent below it, before ``until`` [s]."""
        samples = [(gap, required) for t, gap, required in self.following if t < until]
        if not samples:
            return {"min_following_ratio": None, "following_below_min_s": 0.0}
        dt = float(np.median(np.diff([t for t, _, _ in self.following]))) if len(self.following) > 1 else 0.05
        return {"min_following_ratio": round(min(gap / required for gap, required in samples), 3),
                "following_below_min_s": round(dt * sum(gap < required for gap, required in samples), 3)}

    def summary(self) -> dict[str, Any]:
        """The ``r157`` block of the run report (module docstring); ``passed`` per the regulation:
        a collision where the reference driver has none, or a harder impact than it, fails."""
        reference = self.reference_driver()
        risk = self.risk_perception_time()
        impact = self.collision["impact_speed_mps"] if self.collision else 0.0
        if reference is None:
            passed = self.collision is None
        else:
            passed = (self.collision is None or
                      (reference["collision"] and impact <= reference["impact_speed_mps"] + IMPACT_TOLERANCE_MPS))
        return {"r157": {
            "family": self.family, "collision": self.collision is not None, "collision_event": self.collision,
            "impact_speed_mps": impact,
            "min_ttc_s": None if math.isinf(self.min_ttc) else round(self.min_ttc, 3),
            "min_distance_m": None if math.isinf(self.min_distance) else round(self.min_distance, 3),
            **self.following_summary(math.inf if risk is None else risk[0]),
            "reference_driver": reference, "passed": passed}}
