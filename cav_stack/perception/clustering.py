"""Clustering of 2D points into objects as seen from a sensor (connected components)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


def line_of_sight_clusters(points: np.ndarray, sensor_xy: np.ndarray, distance: float, radial_distance_per_m: float,
                           max_radial_distance: float,
                           compatible: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                           across_per_m: float = 0.0) -> tuple[np.ndarray, int]:
    """Connected components of points (C, 2) [m] seen from ``sensor_xy`` (2,) in the same frame.

    Two points join when their separation across the line of sight from ``sensor_xy`` is below
    ``distance + across_per_m * range`` [m] (``across_per_m``: bearing noise of the points, which
    scatters one object's points across the line of sight in proportion to range) and along it
    below ``clip(radial_distance_per_m * range, distance, max_radial_distance)`` [m]: a surface
    seen at a grazing angle leaves gaps along the line of sight that grow with range (one azimuth
    step spans range^2 * step / lateral offset). ``compatible(a, b)``, when given, must also hold
    for the index pairs (a, b) (e.g. similar Doppler). Returns labels (C,) and the number of clusters."""
    if points.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), 0
    rel = points - sensor_xy
    rng = np.hypot(rel[:, 0], rel[:, 1])
    widest = distance + across_per_m * float(rng.max())
    pairs = cKDTree(points).query_pairs(max(widest, max_radial_distance), output_type="ndarray")
    if pairs.shape[0]:
        los = rel / np.maximum(rng, 1e-6)[:, None]
        a, b = pairs[:, 0], pairs[:, 1]
        mid_los = los[a] + los[b]
        mid_los /= np.maximum(np.hypot(mid_los[:, 0], mid_los[:, 1]), 1e-9)[:, None]
        diff = points[a] - points[b]
        along = np.abs(np.sum(diff * mid_los, axis=1))
        across = np.abs(diff[:, 0] * mid_los[:, 1] - diff[:, 1] * mid_los[:, 0])
        mean_range = 0.5 * (rng[a] + rng[b])
        across_limit = distance + across_per_m * mean_range
        radial_limit = np.clip(radial_distance_per_m * mean_range, distance, max_radial_distance)
        ok = (across < across_limit) & ((along / radial_limit) ** 2 + (across / across_limit) ** 2 < 1.0)
        if compatible is not None:
            ok &= compatible(a, b)
        pairs = pairs[ok]
    n = points.shape[0]
    graph = coo_matrix((np.ones(pairs.shape[0]), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64), int(count)
