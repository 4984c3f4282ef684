"""Multi-object tracker fusing LiDAR, radar, camera and V2X detections in ``map``.

- Extended Kalman filter per track on the CTRA model (:mod:`motion_model`), all tracks
  predicted together; measurement models per :class:`MeasurementKind` (:mod:`measurement_models`).
- Association: global nearest neighbour (``scipy.optimize.linear_sum_assignment``) on the
  position log-likelihood cost d^2 + ln|S|, gated by the position Mahalanobis distance d^2;
  radar detections add their radial-speed term (gated alike), predicted along the detection's own
  line of sight (where its reflections are), not towards the track's centre.
- Track management: M-of-N confirmation over detection opportunities (a track inside a sensor's
  coverage either is detected or missed), deletion after ``max_coast`` without updates or when
  the position uncertainty grows too large; close duplicates are merged. Unmatched detections
  start tracks unless they are near a track (``birth_exclusion_chi2``) or inside its box
  (fragments of a known object). Estimated yaw rates are clipped to ``max_yaw_rate``.
- Time: detection sets are processed in stamp order. A set older than the newest processed one
  (a delayed V2X report, a late sensor) is fused by buffered re-filtering: the tracker restores
  the snapshot taken just before the first later set and re-processes everything after it in
  time order (exact for an EKF; the history covers ``history_duration``).
- V2X: a report's ``station_id`` binds to the track it updates (``TrackedObject.v2x_id``);
  later reports of that station go to that track while they fall inside ``rebind_chi2``.
- Extents: a detection's centre is moved along its ``extent_shift`` directions when the track
  knows the object is longer/wider than the detection saw. A detection with a surface model
  (``surface_offset``: radar reflections) is re-centred with the track's box: the mean of the
  outline the sensor sees of it (:func:`surface_centroids`) stands for the reflections, so an
  obliquely seen car's side reflections move its centre sideways, not further along the line of
  sight, and the outline's spread adds to the detection's position covariance.
- Vulnerable road users (``TrackerParams.vru``): a track whose class votes make it a pedestrian or
  cyclist drops the vehicle prior it was born with (heading and speed of the ego, a car-sized box):
  its motion restarts at rest with an unknown heading and the class's box, and once its displacement
  since is significant its heading and speed come from it (a crossing walk is at right angles to the
  ego; at rest the heading is unobservable, so the filter cannot turn it there); it restarts at rest
  whenever it stops. It runs on its own process noise. A LiDAR detection completed to a larger prior
  is moved back onto such a small box, and a LiDAR box's orientation does not update its heading.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.optimize import linear_sum_assignment

from cav_stack.core.frames import wrap_angle
from cav_stack.core.messages import MAP_FRAME, Header, ObjectClass, TrackedObject, TrackList
from cav_stack.perception.detections import DetectionSet, MeasurementKind
from cav_stack.perception.measurement_models import (line_of_sight, predict_measurements, radial_speeds, residuals,
                                                     surface_centroids, yaw_branch)
from cav_stack.perception.motion_model import ACCEL, SPEED, STATE_SIZE, YAW, YAW_RATE, predict_states, process_noise
from cav_stack.perception.params import TrackerParams, V2xFusionParams

CLASSES = tuple(ObjectClass)
_UNASSIGNED = 1.0e6  # cost of a pair outside the gate
_FORCED = -1.0e6  # cost of a V2X report and the track its station is bound to
_TIME_EPS = 1.0e-9
_VEHICLE, _VRU_AT_REST, _VRU_MOVING = 0, 1, 2  # motion stages of a track


def _popcount(bits: np.ndarray) -> np.ndarray:
    return np.array([bin(int(b)).count("1") for b in bits], dtype=np.int64)


@dataclass
class _Tracks:
    """Column store of all tracks (row i = one track)."""

    x: np.ndarray  # (N, 6) CTRA state
    p: np.ndarray  # (N, 6, 6) covariance
    ids: np.ndarray  # (N,) track IDs
    bits: np.ndarray  # (N,) detection history, newest in bit 0
    opportunities: np.ndarray  # (N,) detection opportunities so far
    confirmed: np.ndarray  # (N,) bool
    last_hit: np.ndarray  # (N,) stamp of the last update [s]
    born: np.ndarray  # (N,) stamp of creation [s]
    size: np.ndarray  # (N, 3) length, width, height [m]
    votes: np.ndarray  # (N, len(CLASSES)) class evidence
    v2x: np.ndarray  # (N,) bound station ID or -1
    stage: np.ndarray  # (N,) motion stage: _VEHICLE, _VRU_AT_REST, _VRU_MOVING
    anchor: np.ndarray  # (N, 4) x, y [m, map], stamp [s], position variance [m^2] where a VRU track's window starts

    @staticmethod
    def empty() -> _Tracks:
        return _Tracks(np.zeros((0, STATE_SIZE)), np.zeros((0, STATE_SIZE, STATE_SIZE)), np.zeros(0, np.int64),
                       np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0), np.zeros(0),
                       np.zeros((0, 3)), np.zeros((0, len(CLASSES))), np.zeros(0, np.int64), np.zeros(0, np.int64),
                       np.zeros((0, 4)))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        return dict(self.__dict__)

    def copy(self) -> _Tracks:
        return _Tracks(**{k: v.copy() for k, v in self.columns().items()})

    def select(self, mask: np.ndarray) -> _Tracks:
        return _Tracks(**{k: v[mask] for k, v in self.columns().items()})

    def extend(self, other: _Tracks) -> _Tracks:
        return _Tracks(**{k: np.concatenate([v, getattr(other, k)]) for k, v in self.columns().items()})


@dataclass
class _Snapshot:
    """Tracker state just before a detection set was processed."""

    time: float
    tracks: _Tracks
    next_id: int


class MultiObjectTracker:
    """Tracks road users from :class:`DetectionSet` s; outputs a :class:`TrackList` in ``map``."""

    def __init__(self, params: TrackerParams, v2x: V2xFusionParams):
        self.params = params
        self.v2x_params = v2x
        self._tracks = _Tracks.empty()
        self._time = -math.inf
        self._next_id = 1
        self._history: list[tuple[_Snapshot, DetectionSet]] = []
        self.dropped_late = 0
        self._window_mask = (1 << params.confirm_window) - 1
        self._vru_classes = np.array([CLASSES.index(ObjectClass(c)) for c in params.vru.classes], dtype=np.int64)

    @property
    def time(self) -> float:
        """Stamp of the newest processed detection set [s] (-inf before the first)."""
        return self._time

    def process(self, detections: DetectionSet) -> None:
        """Fuse one detection set, re-filtering the buffered history if it arrives out of order.

        A set older than the history (``history_duration``) is dropped and counted in
        ``dropped_late``."""
        if detections.stamp >= self._time - _TIME_EPS:
            self._apply(detections)
            self._prune_history()
            return
        later = [i for i, (_, ds) in enumerate(self._history) if ds.stamp > detections.stamp]
        first = later[0] if later else len(self._history)
        if first >= len(self._history) or self._history[first][0].time > detections.stamp + _TIME_EPS:
            self.dropped_late += 1
            return
        snapshot = self._history[first][0]
        replay = [detections] + [ds for _, ds in self._history[first:]]
        self._history = self._history[:first]
        self._tracks, self._time, self._next_id = snapshot.tracks.copy(), snapshot.time, snapshot.next_id
        for ds in replay:
            self._apply(ds)
        self._prune_history()

    def track_list(self, now: float, confirmed_only: bool = True) -> TrackList:
        """Tracks predicted to ``now`` [s] (without changing the filter), in ``map``."""
        t = self._tracks
        keep = t.confirmed if confirmed_only else np.ones(len(t), bool)
        x, p = t.x[keep], t.p[keep]
        if x.shape[0] and math.isfinite(self._time):
            dt = now - self._time
            x, jac = predict_states(x, dt)
            q = self._process_noise(x, abs(dt), t.stage[keep] != _VEHICLE)
            p = jac @ p @ jac.transpose(0, 2, 1) + q
        rows = np.flatnonzero(keep)
        objects = []
        for k, i in enumerate(rows):
            cov = p[k][np.ix_([0, 1, YAW, SPEED], [0, 1, YAW, SPEED])]
            votes = t.votes[i]
            cls = CLASSES[int(np.argmax(votes))] if votes.max() > 0.0 else ObjectClass.UNKNOWN
            objects.append(TrackedObject(
                track_id=int(t.ids[i]), x=float(x[k, 0]), y=float(x[k, 1]), yaw=float(x[k, YAW]),
                speed=float(x[k, SPEED]), length=float(t.size[i, 0]), width=float(t.size[i, 1]),
                height=float(t.size[i, 2]), accel=float(x[k, ACCEL]), object_class=cls,
                covariance=tuple(float(c) for c in cov.ravel()),
                v2x_id=int(t.v2x[i]) if t.v2x[i] >= 0 else None))
        return TrackList(Header(now, MAP_FRAME), tuple(objects))

    # -- internals -------------------------------------------------------------------------

    def _process_noise(self, states: np.ndarray, dt: float, vru: np.ndarray) -> np.ndarray:
        p, v = self.params, self.params.vru
        return process_noise(states, dt, np.where(vru, v.jerk_psd, p.jerk_psd),
                             np.where(vru, v.yaw_accel_psd, p.yaw_accel_psd),
                             np.where(vru, v.position_psd, p.position_psd))

    def _prune_history(self) -> None:
        horizon = self._time - self.params.history_duration
        while self._history and self._history[0][1].stamp < horizon:
            self._history.pop(0)

    def _apply(self, ds: DetectionSet) -> None:
        self._history.append((_Snapshot(self._time, self._tracks.copy(), self._next_id), ds))
        self._predict(ds.stamp)
        t = self._tracks
        n, m = len(t), len(ds)
        shift, spread = self._extent_shift(ds) if n and m else (np.zeros((m, n, 2)), np.zeros((n, 2, 2)))
        d2, cost = self._association_cost(ds, shift, spread)
        cost = self._bind_v2x(ds, d2, cost)
        pairs = self._assign(cost)
        matched_tracks = np.array([j for _, j in pairs], dtype=np.int64)
        matched_dets = np.array([i for i, _ in pairs], dtype=np.int64)
        if pairs:
            self._update(ds, matched_dets, matched_tracks, shift[matched_dets, matched_tracks],
                         spread[matched_tracks])
        self._book_keeping(ds, matched_tracks)
        self._initiate(ds, matched_dets, d2)
        self._prune(ds.stamp)

    def _predict(self, stamp: float) -> None:
        t = self._tracks
        if len(t) and stamp > self._time:
            dt = stamp - self._time
            t.x, jac = predict_states(t.x, dt)
            t.p = jac @ t.p @ jac.transpose(0, 2, 1) + self._process_noise(t.x, dt, t.stage != _VEHICLE)
        self._time = max(self._time, stamp)

    def _extent_shift(self, ds: DetectionSet) -> tuple[np.ndarray, np.ndarray]:
        """Centre corrections (M, N, 2) [m] from the tracks' boxes: extents exceeding each
        detection's, and for a surface model (``surface_offset``) the depth behind the seen surface
        that each track's box implies instead of the detector's stand-in; with them the position
        covariance (N, 2, 2) [m^2] a surface model adds per track: the spread of the outline its
        sensor sees, over which single reflections scatter (zero without a surface model)."""
        t = self._tracks
        det_size = np.stack([ds.lengths, ds.widths], axis=1)  # (M, 2)
        # a VRU track's small box also moves a detection completed to a larger prior back (negative excess)
        floor = np.where(t.stage != _VEHICLE, -np.inf, 0.0)[None, :, None]
        excess = np.maximum(t.size[None, :, :2] - det_size[:, None, :], floor)  # (M, N, 2)
        excess = np.nan_to_num(excess, nan=0.0)
        shift = 0.5 * np.einsum("mnk,mkd->mnd", excess, ds.extent_shift)
        if ds.surface_offset is None:
            return shift, np.zeros((len(t), 2, 2))
        centroid, spread = surface_centroids(t.x, t.size, ds.sensor_position)
        stand_in = ds.surface_offset[:, None] * line_of_sight(ds.z[:, :2], ds.sensor_position)  # (M, 2)
        shift += (t.x[None, :, :2] - centroid[None, :, :]) - stand_in[:, None, :]
        return shift, spread

    def _association_cost(self, ds: DetectionSet, shift: np.ndarray,
                          spread: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position Mahalanobis distances d^2 (M, N) and GNN costs (M, N)."""
        t = self._tracks
        m, n = len(ds), len(t)
        if m == 0 or n == 0:
            return np.full((m, n), np.inf), np.full((m, n), _UNASSIGNED)
        r = ds.z[:, None, :2] + shift - t.x[None, :, :2]  # (M, N, 2)
        s = t.p[None, :, :2, :2] + spread[None, :, :, :] + ds.covariance[:, None, :2, :2]
        det = s[..., 0, 0] * s[..., 1, 1] - s[..., 0, 1] * s[..., 1, 0]
        d2 = (s[..., 1, 1] * r[..., 0] ** 2 - 2.0 * s[..., 0, 1] * r[..., 0] * r[..., 1]
              + s[..., 0, 0] * r[..., 1] ** 2) / det
        cost = d2 + np.log(det)
        gated = d2 < self.params.gate_chi2
        if ds.kind is MeasurementKind.POSITION_RADIAL:
            # Doppler separates neighbours that positions alone confuse (a car overtaking another)
            u = line_of_sight(ds.z[:, :2], ds.sensor_position)  # (M, 2) where the reflections are
            expected, h_v = radial_speeds(t.x[None, :, :], u[:, None, :])  # (M, N), (M, N, 6)
            a, b = h_v[..., YAW], h_v[..., SPEED]  # the only non-zero Jacobian entries
            s_v = (a * a * t.p[:, YAW, YAW] + 2.0 * a * b * t.p[:, YAW, SPEED] + b * b * t.p[:, SPEED, SPEED]
                   + ds.covariance[:, None, 2, 2])
            d2_v = (ds.z[:, None, 2] - expected) ** 2 / s_v
            cost += d2_v + np.log(s_v)
            gated &= d2_v < self.params.gate_chi2
        return d2, np.where(gated, cost, _UNASSIGNED)

    def _bind_v2x(self, ds: DetectionSet, d2: np.ndarray, cost: np.ndarray) -> np.ndarray:
        """Force V2X reports onto their bound tracks; keep other stations' tracks out of reach."""
        t = self._tracks
        if len(t) == 0:
            return cost
        cost = cost.copy()
        for i, station in enumerate(ds.station_ids):
            if station < 0:
                continue
            bound = np.flatnonzero(t.v2x == station)
            for j in bound:
                if d2[i, j] < self.v2x_params.rebind_chi2:
                    cost[i, j] = _FORCED
                else:
                    t.v2x[j] = -1
            cost[i, (t.v2x >= 0) & (t.v2x != station)] = _UNASSIGNED
        return cost

    @staticmethod
    def _assign(cost: np.ndarray) -> list[tuple[int, int]]:
        if cost.size == 0:
            return []
        rows, cols = linear_sum_assignment(cost)
        return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if cost[i, j] < _UNASSIGNED]

    def _update(self, ds: DetectionSet, dets: np.ndarray, tracks: np.ndarray, shift: np.ndarray,
                spread: np.ndarray) -> None:
        t = self._tracks
        x, p = t.x[tracks], t.p[tracks]
        expected, h = predict_measurements(ds.kind, x, line_of_sight(ds.z[dets, :2], ds.sensor_position))
        z = ds.z[dets].copy()
        z[:, :2] += shift
        r = residuals(ds.kind, z, expected)
        if ds.kind is MeasurementKind.POSITION_YAW:
            # the box of a pedestrian or cyclist is no heading: only its position is used
            vru = t.stage[tracks] != _VEHICLE
            h[vru, 2, :], r[vru, 2] = 0.0, 0.0
        cov_r = ds.covariance[dets].copy()
        cov_r[:, :2, :2] += spread
        ph = p @ h.transpose(0, 2, 1)
        s = h @ ph + cov_r
        gain = np.linalg.solve(s, ph.transpose(0, 2, 1)).transpose(0, 2, 1)  # P H^T S^-1
        x = x + np.einsum("nij,nj->ni", gain, r)
        x[:, YAW] = wrap_angle(x[:, YAW])
        x[:, YAW_RATE] = np.clip(x[:, YAW_RATE], -self.params.max_yaw_rate, self.params.max_yaw_rate)
        i_kh = np.eye(STATE_SIZE) - gain @ h
        p = i_kh @ p @ i_kh.transpose(0, 2, 1) + gain @ cov_r @ gain.transpose(0, 2, 1)
        t.x[tracks], t.p[tracks] = x, 0.5 * (p + p.transpose(0, 2, 1))
        t.last_hit[tracks] = ds.stamp
        alpha = self.params.size_smoothing
        for k, measured in enumerate((ds.lengths[dets], ds.widths[dets])):
            seen = np.isfinite(measured) & ~np.any(ds.extent_shift[dets, k, :] != 0.0, axis=1)
            cur = t.size[tracks, k]
            lower = np.where(np.isfinite(measured), measured, 0.0)
            grown = np.where(t.stage[tracks] != _VEHICLE, cur, np.maximum(cur, lower))  # completed to a car prior
            t.size[tracks, k] = np.where(seen, (1.0 - alpha) * cur + alpha * measured, grown)
        for j, i in zip(tracks, dets, strict=True):
            cls = ds.classes[i]
            if cls is not ObjectClass.UNKNOWN:
                t.votes[j, CLASSES.index(cls)] += 1.0
                prior = self.params.size_priors.get(cls.value)
                if prior is not None and np.isfinite(ds.lengths[i]) and t.votes[j].argmax() == CLASSES.index(cls):
                    # a larger class than assumed, from a sensor that measures extents (not a class
                    # label alone, which may come from a wrong association): unseen extents grow
                    t.size[j] = [max(t.size[j, 0], prior.length), max(t.size[j, 1], prior.width), prior.height]
            if ds.station_ids[i] >= 0:
                t.v2x[j] = ds.station_ids[i]
        self._vru_motion(tracks, ds.stamp)

    def _vru_motion(self, rows: np.ndarray, stamp: float) -> None:
        """Advance the motion stages of tracks ``rows`` updated at ``stamp`` [s]: a track now voted a
        VRU, or a moving one slowed below one sigma of its speed, restarts at rest (anchored where it
        is); one at rest for ``heading_baseline`` takes its displacement's heading and speed if the
        displacement is significant (``moving_chi2``), else is anchored anew where it stands."""
        t, v = self._tracks, self.params.vru
        votes = t.votes[rows]
        vru = (votes.max(axis=1) > 0.0) & np.isin(votes.argmax(axis=1), self._vru_classes)
        stopped = (t.stage[rows] == _VRU_MOVING) & (t.x[rows, SPEED] ** 2 < t.p[rows, SPEED, SPEED])
        for j in rows[vru & ((t.stage[rows] == _VEHICLE) | stopped)]:
            if t.stage[j] == _VEHICLE:
                # the centre placed with the vehicle prior's box may be off by the difference in size
                prior = self.params.size_priors[CLASSES[int(t.votes[j].argmax())].value]
                excess = max(t.size[j, 0] - prior.length, t.size[j, 1] - prior.width, 0.0)
                t.p[j, :2, :2] += np.eye(2) * (0.5 * excess) ** 2
                t.size[j] = [prior.length, prior.width, prior.height]
            self._restart_motion(j, v.speed_sigma ** 2, math.pi ** 2)
            self._anchor(j, stamp)
            t.stage[j] = _VRU_AT_REST
        for j in rows[vru & (t.stage[rows] == _VRU_AT_REST)]:
            elapsed = stamp - t.anchor[j, 2]
            if elapsed < v.heading_baseline:
                continue
            velocity = (t.x[j, :2] - t.anchor[j, :2]) / elapsed
            cov_v = (t.p[j, :2, :2] + t.anchor[j, 3] * np.eye(2)) / elapsed ** 2
            if float(velocity @ np.linalg.solve(cov_v, velocity)) < v.moving_chi2:
                self._anchor(j, stamp)  # standing: the next window starts now
                continue
            speed = float(np.hypot(*velocity))
            t.x[j, YAW] = math.atan2(velocity[1], velocity[0])
            along = velocity / speed
            across = np.array([-along[1], along[0]])
            self._restart_motion(j, float(along @ cov_v @ along),
                                 min(float(across @ cov_v @ across) / speed ** 2, math.pi ** 2))
            t.x[j, SPEED] = speed
            t.stage[j] = _VRU_MOVING

    def _anchor(self, j: int, stamp: float) -> None:
        """Start track j's displacement window at its position now (variance: the larger axis')."""
        t = self._tracks
        t.anchor[j] = [t.x[j, 0], t.x[j, 1], stamp, float(np.linalg.eigvalsh(t.p[j, :2, :2])[-1])]

    def _restart_motion(self, j: int, speed_var: float, yaw_var: float) -> None:
        """Reset VRU track j's motion (yaw, speed, yaw rate, accel) to speed 0, uncorrelated with its position."""
        t, p = self._tracks, self.params
        t.x[j, SPEED] = t.x[j, YAW_RATE] = t.x[j, ACCEL] = 0.0
        t.p[j, YAW:, :] = 0.0
        t.p[j, :, YAW:] = 0.0
        t.p[j, YAW, YAW], t.p[j, SPEED, SPEED] = yaw_var, speed_var
        t.p[j, YAW_RATE, YAW_RATE] = p.init_yaw_rate_sigma ** 2
        t.p[j, ACCEL, ACCEL] = p.vru.accel_sigma ** 2

    def _book_keeping(self, ds: DetectionSet, matched: np.ndarray) -> None:
        t = self._tracks
        hit = np.zeros(len(t), bool)
        hit[matched] = True
        if ds.coverage is None:
            opportunity = hit
        else:
            # A V2X-bound track's existence is vouched for by its sender: onboard sensors that do not
            # see it (occlusion) do not count misses against it.
            opportunity = hit | (ds.coverage.contains(t.x[:, 0], t.x[:, 1]) & (t.v2x < 0))
        t.bits = np.where(opportunity, ((t.bits << 1) | hit.astype(np.int64)) & self._window_mask, t.bits)
        t.opportunities += opportunity
        t.confirmed |= _popcount(t.bits) >= self.params.confirm_hits

    def _initiate(self, ds: DetectionSet, matched_dets: np.ndarray, d2: np.ndarray) -> None:
        if not ds.initiates or len(ds) == 0:
            return
        free = np.ones(len(ds), bool)
        free[matched_dets] = False
        if d2.shape[1]:
            free &= d2.min(axis=1) >= self.params.birth_exclusion_chi2
            free &= ~self._inside_tracks(ds.z[:, :2])
        rows = np.flatnonzero(free)
        if rows.size == 0:
            return
        p = self.params
        prior_speed = float(np.hypot(*ds.sensor_velocity))
        prior_yaw = math.atan2(ds.sensor_velocity[1], ds.sensor_velocity[0])
        n = rows.size
        x = np.zeros((n, STATE_SIZE))
        cov = np.zeros((n, STATE_SIZE, STATE_SIZE))
        size = np.zeros((n, 3))
        votes = np.zeros((n, len(CLASSES)))
        for k, i in enumerate(rows):
            z, r = ds.z[i], ds.covariance[i]
            x[k, :2] = z[:2]
            cov[k, :2, :2] = r[:2, :2]
            x[k, YAW], x[k, SPEED] = prior_yaw, prior_speed
            cov[k, YAW, YAW], cov[k, SPEED, SPEED] = p.init_yaw_sigma ** 2, p.init_speed_sigma ** 2
            cov[k, YAW_RATE, YAW_RATE] = p.init_yaw_rate_sigma ** 2
            cov[k, ACCEL, ACCEL] = p.init_accel_sigma ** 2
            if ds.kind is MeasurementKind.POSITION_YAW:
                x[k, YAW] = yaw_branch(z[2], prior_yaw)
                cov[k, YAW, YAW] = r[2, 2]
            elif ds.kind is MeasurementKind.FULL_STATE:
                x[k] = z
                cov[k] = r
            cls = ds.classes[i]
            if cls is not ObjectClass.UNKNOWN:
                votes[k, CLASSES.index(cls)] = 1.0
            prior = p.size_priors.get(cls.value, p.size_priors["unknown"])
            size[k] = [ds.lengths[i] if np.isfinite(ds.lengths[i]) else prior.length,
                       ds.widths[i] if np.isfinite(ds.widths[i]) else prior.width, prior.height]
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        born = _Tracks(x, cov, ids, np.ones(n, np.int64), np.ones(n, np.int64), np.zeros(n, bool), np.full(n, ds.stamp),
                       np.full(n, ds.stamp), size, votes, ds.station_ids[rows].copy(), np.zeros(n, np.int64),
                       np.zeros((n, 4)))
        born.confirmed = _popcount(born.bits) >= p.confirm_hits
        self._tracks = self._tracks.extend(born)
        self._vru_motion(np.arange(len(self._tracks) - n, len(self._tracks)), ds.stamp)

    def _inside_tracks(self, points: np.ndarray, per_track: bool = False) -> np.ndarray:
        """Which points (M, 2) [m, map] lie inside some track's box (fragments of a known object);
        with ``per_track`` the (M, N) matrix of point-in-box tests."""
        t = self._tracks
        rel = points[:, None, :] - t.x[None, :, :2]
        c, s = np.cos(t.x[:, YAW]), np.sin(t.x[:, YAW])
        along = rel[..., 0] * c + rel[..., 1] * s
        across = -rel[..., 0] * s + rel[..., 1] * c
        inside: np.ndarray = (np.abs(along) <= 0.5 * t.size[:, 0]) & (np.abs(across) <= 0.5 * t.size[:, 1])
        # numpy's stubs type any(axis=...) as scalar-or-array; with axis=1 on (M, N) it is an array (M,)
        return inside if per_track else cast(np.ndarray, inside.any(axis=1))

    def _prune(self, stamp: float) -> None:
        t = self._tracks
        if len(t) == 0:
            return
        p = self.params
        hits = _popcount(t.bits)
        stale = stamp - t.last_hit > p.max_coast
        position_sigma = np.sqrt(np.maximum(t.p[:, 0, 0], t.p[:, 1, 1]))
        failed_tentative = ~t.confirmed & (t.opportunities >= p.confirm_window) & (hits < p.confirm_hits)
        keep = ~(stale | failed_tentative | (position_sigma > p.max_position_sigma))
        keep &= ~self._duplicates(t)
        if not keep.all():
            self._tracks = t.select(keep)

    def _duplicates(self, t: _Tracks) -> np.ndarray:
        """Tracks that duplicate an older one: within ``merge_distance`` or with a centre inside its
        box (the older one survives and inherits a V2X binding)."""
        n = len(t)
        drop = np.zeros(n, bool)
        if n < 2:
            return drop
        diff = t.x[:, None, :2] - t.x[None, :, :2]  # (i, j): centre i relative to centre j
        close = np.hypot(diff[..., 0], diff[..., 1]) < self.params.merge_distance
        close |= self._inside_tracks(t.x[:, :2], per_track=True)
        close |= close.T
        np.fill_diagonal(close, False)
        for a, b in zip(*np.nonzero(np.triu(close)), strict=True):
            if drop[a] or drop[b] or (t.v2x[a] >= 0 and t.v2x[b] >= 0):
                continue
            older, younger = (a, b) if (t.confirmed[a], -t.born[a]) >= (t.confirmed[b], -t.born[b]) else (b, a)
            if t.v2x[older] < 0:
                t.v2x[older] = t.v2x[younger]
            drop[younger] = True
        return drop
