"""Operating design domain (ODD): where on the road network the automation may drive.

The domain is a part of the map: the edges it covers (none listed: every edge) minus what lies
beyond its exits, points given as a SUMO lane position [m] from the start of an edge (the end of the
mapped motorway, the start of a construction zone). Along a route the domain ends at the first
route edge outside ``edges`` or the first exit on the route, whichever comes first. Distances are
along the route's centre line in ``map`` [m] (:meth:`RoadMap.route_centerline`), like the stop lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from cav_stack.world.road_map import RoadMap


@dataclass(frozen=True)
class OperatingDomain:
    """edges: edges inside the domain (empty: every edge); exit_edges, exit_positions: the
    domain ends at lane position ``exit_positions[k]`` [m] of edge ``exit_edges[k]`` (parallel lists,
    so that the ROS 2 parameter file can hold them)."""

    edges: tuple[str, ...] = ()
    exit_edges: tuple[str, ...] = ()
    exit_positions: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.exit_edges) != len(self.exit_positions):
            raise ValueError(f"exit_edges ({len(self.exit_edges)}) and exit_positions "
                             f"({len(self.exit_positions)}) must have the same length")
        if any(not p >= 0.0 for p in self.exit_positions):
            raise ValueError(f"exit_positions must be >= 0 m, got {list(self.exit_positions)}")
        if self.exit_edges and self.edges and set(self.exit_edges) - set(self.edges):
            raise ValueError(f"exit edges {sorted(set(self.exit_edges) - set(self.edges))} are not in the "
                             "domain's edges (leaving the edges is already an exit)")

    @property
    def bounded(self) -> bool:
        """Whether the domain ends anywhere (False: the whole network, no exit)."""
        return bool(self.edges or self.exit_edges)

    def check_against(self, road_map: RoadMap) -> None:
        """Raise ValueError naming the first edge unknown to ``road_map`` or exit beyond its edge."""
        known = set(road_map.edges())
        for edge in self.edges + self.exit_edges:
            if edge not in known:
                raise ValueError(f"operating domain: unknown edge '{edge}' (network edges: {', '.join(sorted(known))})")
        for edge, position in zip(self.exit_edges, self.exit_positions, strict=True):
            if position > road_map.edge_length(edge):
                raise ValueError(f"operating domain: exit at {position} m lies beyond the end of edge '{edge}' "
                                 f"({road_map.edge_length(edge):.1f} m)")

    def exit_along(self, road_map: RoadMap, route: Sequence[str], lane_index: int, *,
                   lane_edge: str | None = None) -> float | None:
        """Where the domain ends along ``route`` in lane ``lane_index`` of ``lane_edge``: s [m] along
        ``road_map.route_centerline(route, lane_index, lane_edge=lane_edge)``; None when the whole
        route lies inside."""
        starts = road_map.route_edge_starts(route, lane_index, lane_edge=lane_edge)
        for edge, start in zip(route, starts, strict=True):
            if self.edges and edge not in self.edges:
                return start
            positions = [p for e, p in zip(self.exit_edges, self.exit_positions, strict=True) if e == edge]
            if positions:
                lane = road_map.lane(road_map.lane_id(edge, min(lane_index, road_map.lane_count(edge) - 1)))
                geometric = float(np.hypot(*np.diff(lane.shape, axis=0).T).sum())
                return start + min(positions) * geometric / lane.length
        return None
