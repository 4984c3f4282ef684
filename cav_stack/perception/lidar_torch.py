"""Torch implementation of the LiDAR array stages (ground removal, cell averaging, rectangle fit).

Same algorithms and results as :class:`~cav_stack.perception.lidar_processing.NumpyLidarBackend`
(float64 throughout; the test suite checks equality within 1e-6 m), run on CUDA when available and
on the CPU (single-threaded, see ``__init__``) otherwise. Only the connected-components step
between them stays in scipy on the CPU.
Needs PyTorch: the ``gpu`` extra (``pip install torch==2.13.0`` in a source checkout).
"""
from __future__ import annotations

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("the torch LiDAR backend (lidar.backend: torch) needs PyTorch; install the 'gpu' extra "
                      "(pip install 'cav_stack[gpu]', i.e. torch==2.13.0)") from exc

from cav_stack.perception.lidar_constants import CELL_KEY_STRIDE, CLOSENESS_FLOOR
from cav_stack.perception.params import LidarProcessingParams
from cav_stack.world.sensor_rig import Mounting

DTYPE = torch.float64


def _fit_plane(points: torch.Tensor) -> torch.Tensor:
    """Least-squares plane z = a x + b y + c (normal equations); zeros (flat) with < 3 points."""
    if points.shape[0] < 3:
        return torch.zeros(3, dtype=DTYPE, device=points.device)
    design = torch.cat([points[:, :2], torch.ones_like(points[:, :1])], dim=1)
    plane: torch.Tensor = torch.linalg.solve(design.T @ design, design.T @ points[:, 2])
    return plane


class TorchLidarBackend:
    """Array stages of the LiDAR pipeline in torch."""

    name = "torch"

    def __init__(self, params: LidarProcessingParams):
        self.params = params
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device.type == "cpu":
            # Intra-op worker threads spin against the simulator and the other nodes sharing the
            # cores; measured 10-30x slower than one thread on a loaded 2-core machine.
            torch.set_num_threads(1)
        self.angles = torch.as_tensor(np.arange(0.0, 0.5 * np.pi, params.fit_angle_step), dtype=DTYPE,
                                      device=self.device)

    def obstacle_points(self, points: np.ndarray, mounting: Mounting) -> torch.Tensor:
        """Obstacle points (N, 3) [m, base_link] of a LiDAR-frame cloud (N, >=3), on the device."""
        p = self.params
        raw = torch.as_tensor(np.asarray(points[:, :3]), device=self.device).to(DTYPE)
        c, s = float(np.cos(mounting.yaw)), float(np.sin(mounting.yaw))
        xyz = torch.stack([mounting.x + c * raw[:, 0] - s * raw[:, 1], mounting.y + s * raw[:, 0] + c * raw[:, 1],
                           mounting.z + raw[:, 2]], dim=1)
        xyz = xyz[torch.hypot(xyz[:, 0], xyz[:, 1]) <= p.max_range]
        low = xyz[xyz[:, 2] < p.ground_candidate_height]
        plane = _fit_plane(low)
        residual = low[:, 2] - low[:, :2] @ plane[:2] - plane[2]
        plane = _fit_plane(low[residual.abs() < p.ground_inlier_band])
        height = xyz[:, 2] - xyz[:, :2] @ plane[:2] - plane[2]
        return xyz[(height > p.ground_clearance) & (height < p.max_height)]

    def cell_means(self, xyz: torch.Tensor) -> np.ndarray:
        """Per occupied grid cell (sorted by cell key): mean x, mean y, highest z [m], (C, 3)."""
        keys = torch.floor(xyz[:, :2] / self.params.cell_size).to(torch.int64)
        key = keys[:, 0] * CELL_KEY_STRIDE + keys[:, 1]
        _, inverse, counts = torch.unique(key, sorted=True, return_inverse=True, return_counts=True)
        n = counts.shape[0]
        sums = torch.zeros((n, 2), dtype=DTYPE, device=xyz.device).index_add_(0, inverse, xyz[:, :2])
        top = torch.full((n,), -torch.inf, dtype=DTYPE, device=xyz.device)
        top = top.scatter_reduce(0, inverse, xyz[:, 2], reduce="amax")
        return torch.cat([sums / counts[:, None], top[:, None]], dim=1).cpu().numpy()

    def fit_rectangles(self, xy: np.ndarray, labels: np.ndarray, n_clusters: int) -> tuple[np.ndarray, ...]:
        """Closeness-criterion rectangle per cluster: (angle (K,), lo (K, 2), hi (K, 2)), see numpy."""
        pts = torch.as_tensor(xy, dtype=DTYPE, device=self.device)
        lab = torch.as_tensor(labels, dtype=torch.int64, device=self.device)
        n_angles = self.angles.shape[0]
        c, s = torch.cos(self.angles), torch.sin(self.angles)
        p1 = pts[:, :1] * c + pts[:, 1:] * s
        p2 = -pts[:, :1] * s + pts[:, 1:] * c
        index = lab[:, None].expand(-1, n_angles)

        def reduce(values: torch.Tensor, how: str) -> torch.Tensor:
            fill = torch.inf if how == "amin" else -torch.inf
            out = torch.full((n_clusters, n_angles), fill, dtype=DTYPE, device=self.device)
            return out.scatter_reduce(0, index, values, reduce=how)

        lo1, hi1, lo2, hi2 = reduce(p1, "amin"), reduce(p1, "amax"), reduce(p2, "amin"), reduce(p2, "amax")
        d1 = torch.minimum(p1 - lo1[lab], hi1[lab] - p1)
        d2 = torch.minimum(p2 - lo2[lab], hi2[lab] - p2)
        closeness = 1.0 / torch.clamp(torch.minimum(d1, d2), min=CLOSENESS_FLOOR)
        score = torch.zeros((n_clusters, n_angles), dtype=DTYPE, device=self.device).index_add_(0, lab, closeness)
        best = torch.argmax(score, dim=1)
        rows = torch.arange(n_clusters, device=self.device)
        lo = torch.stack([lo1[rows, best], lo2[rows, best]], dim=1)
        hi = torch.stack([hi1[rows, best], hi2[rows, best]], dim=1)
        return self.angles[best].cpu().numpy(), lo.cpu().numpy(), hi.cpu().numpy()
