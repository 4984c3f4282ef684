"""LiDAR object detection: ground removal, grid clustering and oriented box fitting.

Pipeline (all in ``base_link`` until the boxes are placed in ``map``):
1. ground removal: least-squares plane through the low points, refined once on its inliers;
   points between ``ground_clearance`` and ``max_height`` above it are obstacles;
2. obstacle points are averaged per grid cell (``cell_size``); cells closer than
   ``cluster_distance`` are joined into clusters (connected components over a k-d tree);
3. each cluster gets the rectangle that best hugs its points over an orientation search (the
   search-based rectangle fitting of Zhang et al., "Efficient L-Shape Fitting for Vehicle
   Detection Using Laser Scanners", IEEE IV 2017, closeness criterion with d0 = CLOSENESS_FLOOR);
4. a cluster whose highest point reaches ``tall_object_height`` is a truck, any other is of
   unknown class; an extent shorter than the class prior is completed away from the sensor (the
   far side is unseen), and the detection records the direction in which its centre would move.

Steps 1-3 run in numpy or, with ``backend: torch``, in torch (:mod:`lidar_torch`); the
connected components always run on the CPU (scipy).
"""
from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from cav_stack.perception.clustering import line_of_sight_clusters
from cav_stack.core.messages import EgoState, ObjectClass, PointCloud
from cav_stack.perception.detections import Coverage, DetectionSet, MeasurementKind, SensorPlacement, place_sensor
from cav_stack.perception.lidar_constants import CELL_KEY_STRIDE, CLOSENESS_FLOOR
from cav_stack.perception.params import LidarProcessingParams, SizePrior
from cav_stack.world.sensor_rig import LidarParams, Mounting


FRAGMENT_MARGIN = 0.5  # [m] a fragment's centre may lie this far outside the box that absorbs it


class NumpyLidarBackend:
    """Array stages of the LiDAR pipeline in numpy (float64)."""

    name = "numpy"

    def __init__(self, params: LidarProcessingParams):
        self.params = params
        self.angles = np.arange(0.0, 0.5 * math.pi, params.fit_angle_step)

    def obstacle_points(self, points: np.ndarray, mounting: Mounting) -> np.ndarray:
        """Obstacle points (N, 3) [m, base_link] of a LiDAR-frame cloud (N, >=3).

        Works on the coordinate columns and stacks only the obstacle points at the end (the
        same arithmetic as on (N, 3) arrays, without copying the 100k-point cloud at each step:
        ~2x faster per frame)."""
        p = self.params
        c, s = math.cos(mounting.yaw), math.sin(mounting.yaw)
        lx, ly, lz = (points[:, k].astype(float) for k in range(3))
        x = mounting.x + c * lx - s * ly
        y = mounting.y + s * lx + c * ly
        z = mounting.z + lz
        near = np.hypot(x, y) <= p.max_range
        x, y, z = x[near], y[near], z[near]
        low = z < p.ground_candidate_height
        xl, yl, zl = x[low], y[low], z[low]
        plane = _fit_plane_columns(xl, yl, zl)
        inlier = np.abs(zl - (plane[0] * xl + plane[1] * yl + plane[2])) < p.ground_inlier_band
        plane = _fit_plane_columns(xl[inlier], yl[inlier], zl[inlier])
        height = z - (plane[0] * x + plane[1] * y + plane[2])
        keep = (height > p.ground_clearance) & (height < p.max_height)
        return np.stack([x[keep], y[keep], z[keep]], axis=1)

    def cell_means(self, xyz: np.ndarray) -> np.ndarray:
        """Per occupied grid cell: mean x, mean y and highest z [m] of its points, (C, 3)."""
        keys = np.floor(xyz[:, :2] / self.params.cell_size).astype(np.int64)
        key = keys[:, 0] * CELL_KEY_STRIDE + keys[:, 1]
        order = np.argsort(key, kind="stable")
        key, xyz = key[order], xyz[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        counts = np.diff(np.r_[starts, key.shape[0]])
        sums = np.add.reduceat(xyz[:, :2], starts)
        means: np.ndarray = np.c_[sums / counts[:, None], np.maximum.reduceat(xyz[:, 2], starts)]
        return means

    def fit_rectangles(self, xy: np.ndarray, labels: np.ndarray, n_clusters: int) -> tuple[np.ndarray, ...]:
        """Best rectangle per cluster by the closeness criterion: (angle (K,), lo (K, 2), hi (K, 2)).

        angle in [0, pi/2) [rad] of the first axis e1 = (cos, sin); lo/hi: extents along
        (e1, e2 = e1 rotated +90 deg) [m]."""
        order = np.argsort(labels, kind="stable")
        pts, lab = xy[order], labels[order]
        starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        c, s = np.cos(self.angles), np.sin(self.angles)
        p1 = pts[:, :1] * c + pts[:, 1:] * s
        p2 = -pts[:, :1] * s + pts[:, 1:] * c
        lo1, hi1 = np.minimum.reduceat(p1, starts), np.maximum.reduceat(p1, starts)
        lo2, hi2 = np.minimum.reduceat(p2, starts), np.maximum.reduceat(p2, starts)
        d1 = np.minimum(p1 - lo1[lab], hi1[lab] - p1)
        d2 = np.minimum(p2 - lo2[lab], hi2[lab] - p2)
        closeness = 1.0 / np.maximum(np.minimum(d1, d2), CLOSENESS_FLOOR)
        best = np.argmax(np.add.reduceat(closeness, starts), axis=1)
        rows = np.arange(n_clusters)
        lo = np.stack([lo1[rows, best], lo2[rows, best]], axis=1)
        hi = np.stack([hi1[rows, best], hi2[rows, best]], axis=1)
        return self.angles[best], lo, hi


def fit_plane(points: np.ndarray) -> np.ndarray:
    """Least-squares plane z = a x + b y + c through points (N, 3); (a, b, c). Flat z=0 without points.

    Solved from the 3x3 normal equations built with plain sums (no multi-threaded BLAS call on
    the N points: its worker threads stall on a loaded machine)."""
    return _fit_plane_columns(points[:, 0], points[:, 1], points[:, 2])


def _fit_plane_columns(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """:func:`fit_plane` on the coordinate columns x, y, z [m] (N,) each."""
    if x.shape[0] < 3:
        return np.zeros(3)
    sx, sy, n = x.sum(), y.sum(), float(x.shape[0])
    sxy = (x * y).sum()
    normal = np.array([[(x * x).sum(), sxy, sx], [sxy, (y * y).sum(), sy], [sx, sy, n]])
    return np.linalg.solve(normal, np.array([(x * z).sum(), (y * z).sum(), z.sum()]))


class LidarBackend(Protocol):
    """Steps 1-3 on one array library: points (N, >=3) [m, LiDAR frame] in, numpy arrays out."""

    def obstacle_points(self, points: np.ndarray, mounting: Mounting) -> Any: ...

    def cell_means(self, xyz: Any) -> np.ndarray: ...

    def fit_rectangles(self, xy: np.ndarray, labels: np.ndarray, n_clusters: int) -> tuple[np.ndarray, ...]: ...


def make_backend(params: LidarProcessingParams) -> LidarBackend:
    """The array backend named by ``params.backend`` (torch imported only when asked for)."""
    if params.backend == "torch":
        from cav_stack.perception.lidar_torch import TorchLidarBackend
        return TorchLidarBackend(params)
    return NumpyLidarBackend(params)


class LidarDetector:
    """Turns point clouds of one LiDAR into box detections in ``map`` (kind POSITION_YAW)."""

    def __init__(self, rig: LidarParams, params: LidarProcessingParams, size_priors: dict[str, SizePrior]):
        for name in ("unknown", "truck"):
            if name not in size_priors:
                raise ValueError(f"size_priors needs a {name!r} entry")
        self.rig = rig
        self.params = params
        self.priors = size_priors
        self.backend = make_backend(params)

    def detect(self, cloud: PointCloud, ego: EgoState) -> DetectionSet:
        """Detections of ``cloud`` placed with the ego estimate ``ego`` (``base_link`` in ``map``)
        valid at the cloud's stamp."""
        if cloud.header.frame_id != self.rig.frame_id:
            raise ValueError(f"cloud frame {cloud.header.frame_id!r} is not this LiDAR's {self.rig.frame_id!r}")
        if cloud.points.ndim != 2 or cloud.points.shape[1] < 3:
            raise ValueError(f"points must be (N, >=3), got {cloud.points.shape}")
        p = self.params
        placement = place_sensor(ego, self.rig.mounting)
        coverage = Coverage(placement.x, placement.y, placement.yaw, math.pi, p.max_range)
        obstacles = self.backend.obstacle_points(cloud.points, self.rig.mounting)
        cells = np.asarray(self.backend.cell_means(obstacles)) if obstacles.shape[0] else np.zeros((0, 3))
        labels, n_clusters = line_of_sight_clusters(
            cells[:, :2], np.array([self.rig.mounting.x, self.rig.mounting.y]), p.cluster_distance,
            p.radial_distance_per_m, p.max_radial_distance)
        sizes = np.bincount(labels, minlength=n_clusters)
        keep_cluster = sizes >= p.min_cells
        remap = np.cumsum(keep_cluster) - 1
        keep_cell = keep_cluster[labels] if labels.size else np.zeros(0, dtype=bool)
        n_kept = int(keep_cluster.sum())
        velocity = np.array([placement.vx, placement.vy])
        if n_kept == 0:
            return DetectionSet.build(cloud.header.stamp, self.rig.frame_id, MeasurementKind.POSITION_YAW,
                                      np.zeros((0, 3)), np.zeros((0, 3, 3)), np.array([placement.x, placement.y]),
                                      velocity, coverage, p.initiates_tracks)
        cluster = remap[labels[keep_cell]]
        kept_cells = cells[keep_cell]
        boxes = self._fit(kept_cells, cluster, n_kept)
        parent = self._fragment_parents(boxes, np.bincount(cluster, minlength=n_kept))
        if np.any(parent != np.arange(n_kept)):
            _, cluster = np.unique(parent[cluster], return_inverse=True)
            boxes = self._fit(kept_cells, cluster.ravel(), int(cluster.max()) + 1)
        return self._to_detections(cloud.header.stamp, boxes, ego, placement, coverage)

    def _fit(self, cells: np.ndarray, cluster: np.ndarray, n_clusters: int) -> dict[str, np.ndarray]:
        """Fitted, prior-completed boxes in ``base_link`` of the clusters (see the module docstring).

        Keys: axes (K, 2, 2) heading and lateral unit vectors; lo, hi (K, 2) completed extents
        along them [m]; observed (K, 2) mid of the extents actually seen [m]; shift (K, 2, 2)
        completion directions; tall, long_side (K,) bool."""
        p, mount = self.params, self.rig.mounting
        angle, lo, hi = (np.asarray(a) for a in self.backend.fit_rectangles(cells[:, :2], cluster, n_clusters))
        top = np.full(n_clusters, -np.inf)
        np.maximum.at(top, cluster, cells[:, 2])
        extent = hi - lo
        m = angle.shape[0]
        tall = top >= p.tall_object_height
        prior_length = np.where(tall, self.priors["truck"].length, self.priors["unknown"].length)
        prior_width = np.where(tall, self.priors["truck"].width, self.priors["unknown"].width)
        axes = np.stack([np.stack([np.cos(angle), np.sin(angle)], 1),
                         np.stack([-np.sin(angle), np.cos(angle)], 1)], axis=1)  # (M, 2 axes, 2)
        long_side = extent.max(axis=1) >= p.long_side_min
        first_is_heading = np.where(long_side, extent[:, 0] >= extent[:, 1],
                                    np.abs(np.cos(angle)) >= np.abs(np.sin(angle)))
        order = np.where(first_is_heading[:, None], [0, 1], [1, 0])  # (M, 2): heading axis, lateral axis
        rows = np.arange(m)[:, None]
        axes, lo, hi = axes[rows, order], lo[rows, order], hi[rows, order]
        observed = 0.5 * (lo + hi)
        s = axes @ np.array([mount.x, mount.y])  # (M, 2) sensor position along each axis
        shift = np.zeros((m, 2, 2))
        for k, size in enumerate((prior_length, prior_width)):
            short = hi[:, k] - lo[:, k] < size
            below, above = short & (s[:, k] < lo[:, k]), short & (s[:, k] > hi[:, k])
            hi[:, k] = np.where(below, lo[:, k] + size, hi[:, k])
            lo[:, k] = np.where(above, hi[:, k] - size, lo[:, k])
            sign = below.astype(float) - above.astype(float)
            shift[:, k, :] = sign[:, None] * axes[:, k, :]
        return {"axes": axes, "lo": lo, "hi": hi, "observed": observed, "shift": shift, "tall": tall,
                "long_side": long_side, "extent_ok": extent.max(axis=1) <= p.max_extent}

    @staticmethod
    def _fragment_parents(boxes: dict[str, np.ndarray], cells_per_cluster: np.ndarray) -> np.ndarray:
        """For each cluster, the largest other cluster such that one's completed box holds the centre
        of what was seen of the other (a fragment, e.g. a sparse side seen at a grazing angle), else
        itself."""
        axes, lo, hi, observed = boxes["axes"], boxes["lo"], boxes["hi"], boxes["observed"]
        centre = np.einsum("mk,mkd->md", observed, axes)  # seen centres (M, 2) in base_link
        coord = np.einsum("ikd,jd->ijk", axes, centre)  # (I boxes, J centres, 2 axes)
        inside = np.all((coord >= lo[:, None, :] - FRAGMENT_MARGIN) & (coord <= hi[:, None, :] + FRAGMENT_MARGIN),
                        axis=2)
        inside |= inside.T  # either holds the other's seen centre (a roof seen behind its own face)
        np.fill_diagonal(inside, False)
        parent = np.arange(axes.shape[0])
        for j in np.argsort(cells_per_cluster):
            owners = np.flatnonzero(inside[:, j] & (cells_per_cluster > cells_per_cluster[j]))
            if owners.size:
                parent[j] = parent[owners[np.argmax(cells_per_cluster[owners])]]
        return parent

    def _to_detections(self, stamp: float, boxes: dict[str, np.ndarray], ego: EgoState, placement: SensorPlacement,
                       coverage: Coverage) -> DetectionSet:
        p, mount = self.params, self.rig.mounting
        ok = boxes["extent_ok"]
        axes, lo, hi, shift = boxes["axes"][ok], boxes["lo"][ok], boxes["hi"][ok], boxes["shift"][ok]
        tall, long_side = boxes["tall"][ok], boxes["long_side"][ok]
        m = axes.shape[0]
        classes = tuple(ObjectClass.TRUCK if t else ObjectClass.UNKNOWN for t in tall)
        mid = 0.5 * (lo + hi)
        centre_bl = mid[:, :1] * axes[:, 0, :] + mid[:, 1:] * axes[:, 1, :]
        yaw_bl = np.arctan2(axes[:, 0, 1], axes[:, 0, 0])
        c, sn = math.cos(ego.yaw), math.sin(ego.yaw)
        rot = np.array([[c, -sn], [sn, c]])
        centre = centre_bl @ rot.T + np.array([ego.x, ego.y])
        shift_map = shift @ rot.T
        rng_m = np.hypot(centre_bl[:, 0] - mount.x, centre_bl[:, 1] - mount.y)
        sigma = p.position_sigma + p.position_sigma_per_m * rng_m
        cov = np.zeros((m, 3, 3))
        cov[:, :2, :2] = sigma[:, None, None] ** 2 * np.eye(2)
        for k in range(2):
            d = shift_map[:, k, :]
            cov[:, :2, :2] += p.extension_sigma ** 2 * d[:, :, None] * d[:, None, :]
        cov[:, 2, 2] = np.where(long_side, p.yaw_sigma_side, p.yaw_sigma_end) ** 2
        z = np.c_[centre, yaw_bl + ego.yaw]
        return DetectionSet.build(stamp, self.rig.frame_id, MeasurementKind.POSITION_YAW, z, cov,
                                  np.array([placement.x, placement.y]), np.array([placement.vx, placement.vy]),
                                  coverage, p.initiates_tracks, classes=classes, lengths=hi[:, 0] - lo[:, 0],
                                  widths=hi[:, 1] - lo[:, 1], extent_shift=shift_map)
