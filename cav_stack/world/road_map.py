"""Static road map: lane geometry, connectivity and signal stop lines (the map, not ground truth).

Built from a SUMO ``.net.xml`` with sumolib (:meth:`RoadMap.from_net_file`); after that it is plain
numpy data and needs no simulator. All coordinates are ``map`` [m] (x east, y north); headings are
REP 103 yaw [rad, CCW from +x]. Lane positions ``s`` [m] are measured along a lane from its start
as SUMO measures them (geometry scaled to the lane's nominal length). Lane IDs are SUMO's
``<edge>_<index>``; lane index 0 is the rightmost lane. Internal lanes (inside junctions, IDs
starting with ``:``) are part of the geometry but not of the edge graph.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from cav_stack.core.frames import wrap_angle

LANE_END_RUNOUT = 200.0
"""Straight run-out [m] that :meth:`RoadMap.route_centerline` adds past the end of a lane that ends
on the route (``lane_ends_on``)."""


@dataclass(frozen=True)
class Lane:
    """One lane: ``shape`` (N, 2) centreline [m], ``length`` [m], ``width`` [m],
    ``speed_limit`` [m/s], ``edge_id`` and ``index`` (0 = rightmost)."""

    lane_id: str
    edge_id: str
    index: int
    shape: np.ndarray
    length: float
    width: float
    speed_limit: float


@dataclass(frozen=True)
class Connection:
    """A lane-to-lane link across a junction: ``via`` lists the internal lanes passed, in order;
    ``tls_id``/``link_index`` identify the controlling signal ('' / -1 when unsignalised)."""

    from_lane: str
    to_lane: str
    via: tuple[str, ...]
    tls_id: str
    link_index: int


class RoadMap:
    """Lanes, edges and connections of a road network (see the module docstring for conventions)."""

    def __init__(self, lanes: Sequence[Lane], edge_lanes: dict[str, tuple[str, ...]],
                 connections: Sequence[Connection]):
        """``edge_lanes`` maps each normal edge to its lane IDs by index; ``lanes`` holds those lanes
        and the internal ones; ``connections`` are between lanes of normal edges."""
        self._lanes = {lane.lane_id: lane for lane in lanes}
        self._edge_lanes = dict(edge_lanes)
        self._connections: dict[str, list[Connection]] = {}
        for connection in connections:
            self._connections.setdefault(connection.from_lane, []).append(connection)
        self._build_segment_index()

    @classmethod
    def from_net_file(cls, path: str | Path) -> RoadMap:
        """Read a SUMO ``.net.xml`` (needs sumolib: ``pip install 'cav_stack[sim]'``)."""
        try:
            import sumolib
        except ImportError as exc:
            raise ImportError("reading SUMO networks needs sumolib: pip install 'cav_stack[sim]'") from exc
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"network file {path} does not exist")
        net = sumolib.net.readNet(str(path), withInternal=True)
        lanes: list[Lane] = []
        edge_lanes: dict[str, tuple[str, ...]] = {}
        for edge in net.getEdges(withInternal=True):
            ids = []
            for lane in edge.getLanes():
                lanes.append(Lane(lane.getID(), edge.getID(), lane.getIndex(),
                                  np.asarray(lane.getShape(), dtype=float)[:, :2], float(lane.getLength()),
                                  float(lane.getWidth()), float(lane.getSpeed())))
                ids.append(lane.getID())
            if edge.getFunction() != "internal":
                edge_lanes[edge.getID()] = tuple(ids)
        connections = []
        for edge in net.getEdges(withInternal=False):
            for lane in edge.getLanes():
                for conn in lane.getOutgoing():
                    via = []
                    via_id = conn.getViaLaneID()
                    while via_id:
                        via.append(via_id)
                        outgoing = net.getLane(via_id).getOutgoing()
                        via_id = outgoing[0].getViaLaneID() if outgoing else ""
                    connections.append(Connection(lane.getID(), conn.getToLane().getID(), tuple(via),
                                                  conn.getTLSID() or "", int(conn.getTLLinkIndex())))
        return cls(lanes, edge_lanes, connections)

    # --- edge graph -------------------------------------------------------------------------

    def edges(self) -> list[str]:
        """IDs of the normal (non-internal) edges, sorted."""
        return sorted(self._edge_lanes)

    def successors(self, edge_id: str) -> list[str]:
        """Edges reachable from the end of ``edge_id`` through one junction, sorted."""
        found = {self._lanes[c.to_lane].edge_id
                 for lane_id in self._edge(edge_id) for c in self._connections.get(lane_id, [])}
        return sorted(found)

    def edge_length(self, edge_id: str) -> float:
        """Length of ``edge_id`` [m] (of its rightmost lane)."""
        return self._lanes[self._edge(edge_id)[0]].length

    def edge_speed_limit(self, edge_id: str) -> float:
        """Highest lane speed limit on ``edge_id`` [m/s]."""
        return max(self._lanes[lane_id].speed_limit for lane_id in self._edge(edge_id))

    def lane_count(self, edge_id: str) -> int:
        """Number of lanes of ``edge_id``."""
        return len(self._edge(edge_id))

    def lane_id(self, edge_id: str, lane_index: int) -> str:
        """Lane ID of lane ``lane_index`` of ``edge_id`` (IndexError when it has fewer lanes)."""
        lanes = self._edge(edge_id)
        if not 0 <= lane_index < len(lanes):
            raise IndexError(f"edge '{edge_id}' has {len(lanes)} lane(s), no lane index {lane_index}")
        return lanes[lane_index]

    def lane_continues(self, edges: Sequence[str], edge_id: str, lane_index: int) -> bool:
        """Whether lane ``lane_index`` of ``edge_id`` leads on along the route ``edges``: True on
        the route's last edge, off the route and on junction interiors; False for a lane with no
        connection into the route's next edge (an acceleration lane, a turning or exit lane)."""
        if edge_id not in edges or edge_id == edges[-1] or edge_id.startswith(":"):
            return True
        next_edge = edges[list(edges).index(edge_id) + 1]
        lane_id = self.lane_id(edge_id, lane_index)
        return any(self._lanes[c.to_lane].edge_id == next_edge for c in self._connections.get(lane_id, []))

    def next_lane_on_route(self, edges: Sequence[str], edge_id: str, lane_index: int) -> int | None:
        """Index of the lane of the route's next edge that lane ``lane_index`` of ``edge_id`` leads
        into (the lowest when several); None when it leads into none, on the route's last edge and
        off the route."""
        if edge_id not in edges or edge_id == edges[-1]:
            return None
        next_edge = edges[list(edges).index(edge_id) + 1]
        into = [self._lanes[c.to_lane].index for c in self._connections.get(self.lane_id(edge_id, lane_index), [])
                if self._lanes[c.to_lane].edge_id == next_edge]
        return min(into, default=None)
    def lane_ends(self, edge_id: str, lane_index: int) -> bool:
        """Whether lane ``lane_index`` of ``edge_id`` leads nowhere, on any route (an acceleration
        lane: its cars must change lanes before its end); False on junction interiors."""
        if edge_id.startswith(":"):
            return False
        return not self._connections.get(self.lane_id(edge_id, lane_index))

    # --- lanes -------------------------------------------------------------------------------

    def lane(self, lane_id: str) -> Lane:
        """The lane ``lane_id`` (KeyError naming it when unknown)."""
        try:
            return self._lanes[lane_id]
        except KeyError:
            raise KeyError(f"unknown lane '{lane_id}'") from None

    def lane_centerline(self, lane_id: str) -> np.ndarray:
        """Centreline of a lane, (N, 2) ``map`` points [m] in driving direction (a copy)."""
        return self.lane(lane_id).shape.copy()

    def lane_width(self, lane_id: str) -> float:
        """Width of a lane [m]."""
        return self.lane(lane_id).width

    def route_centerline(self, edges: Sequence[str], lane_index: int, *, lane_edge: str | None = None,
                         lane_ends_on: str | None = None) -> np.ndarray:
        """Continuous (N, 2) ``map`` polyline [m] following ``edges`` through lane ``lane_index``
        of edge ``lane_edge`` (None: the first edge; the index is clamped to its lanes).

        From that lane the line follows the lanes its connections lead to (an edge whose lane
        numbering shifts, e.g. where an acceleration lane is added on the right, is entered in
        the connected lane, not at the same index); before it, the lanes connected into it.
        Junctions are crossed along SUMO's internal lanes of the connection (or, when a lane has
        no connection to the next edge, the connection nearest to it in index, a sideways step;
        when that lane is on edge ``lane_ends_on`` (the car's edge) the line runs straight on for
        ``LANE_END_RUNOUT`` past the lane's end instead: the path of a car that must change lanes
        first, along which cars beyond the lane end still project at their true distance).
        Consecutive duplicate points are removed.
        """
        points, _, _ = self._route_geometry(tuple(edges), lane_index, lane_edge, lane_ends_on)
        return points.copy()

    def route_edge_starts(self, edges: Sequence[str], lane_index: int, *, lane_edge: str | None = None) -> list[float]:
        """s [m] along :meth:`route_centerline` (same arguments) where each of ``edges`` begins."""
        _, _, starts = self._route_geometry(tuple(edges), lane_index, lane_edge)
        return list(starts)

    def stop_lines(self, edges: Sequence[str], lane_index: int, *,
                   lane_edge: str | None = None) -> list[tuple[str, int, float]]:
        """Signalised stop lines along a route: (tls_id, link_index, s [m] along
        :meth:`route_centerline`) for every junction on the route whose connection is signalised."""
        _, stops, _ = self._route_geometry(tuple(edges), lane_index, lane_edge)
        return list(stops)

    def locate(self, x: float, y: float, yaw: float) -> tuple[str, int, float, float]:
        """Nearest lane to ``map`` point (x, y) [m] among those heading within 90 deg of ``yaw`` [rad].

        Returns (edge_id, lane_index, lateral_offset [m, + left of the centreline], s [m] along the
        lane). Junction interiors give internal edge IDs (starting with ``:``). Raises ValueError
        when no lane runs in that direction.
        """
        delta = np.array([x, y]) - self._seg_start
        t = np.clip(np.einsum("ij,ij->i", delta, self._seg_dir) / self._seg_len, 0.0, 1.0)
        along = t * self._seg_len
        offset = delta - self._seg_dir * along[:, None]
        dist = np.hypot(offset[:, 0], offset[:, 1])
        heading_ok = np.abs(wrap_angle(self._seg_yaw - yaw)) < np.pi / 2
        if not heading_ok.any():
            raise ValueError(f"no lane runs in direction yaw={yaw:.3f} rad")
        dist = np.where(heading_ok, dist, np.inf)
        best = int(np.argmin(dist))
        lane = self._lanes[self._seg_lane[best]]
        cross = self._seg_dir[best, 0] * delta[best, 1] - self._seg_dir[best, 1] * delta[best, 0]
        geometric_s = self._seg_s0[best] + along[best]
        return lane.edge_id, lane.index, float(cross), float(geometric_s * self._seg_scale[best])

    def tls_ids(self) -> list[str]:
        """IDs of the traffic lights controlling connections of this network, sorted."""
        return sorted({c.tls_id for conns in self._connections.values() for c in conns if c.tls_id})

    def tls_position(self, tls_id: str) -> tuple[float, float]:
        """Centre [m, map] of the stop lines a traffic light controls (where its RSU stands)."""
        ends = [self._lanes[c.from_lane].shape[-1] for conns in self._connections.values() for c in conns
                if c.tls_id == tls_id]
        if not ends:
            raise KeyError(f"no connection is controlled by traffic light '{tls_id}'")
        x, y = np.mean(ends, axis=0)
        return float(x), float(y)

    def speed_limit_at(self, x: float, y: float, yaw: float) -> float:
        """Speed limit [m/s] of the lane at ``map`` point (x, y) heading ``yaw`` (junctions included)."""
        edge_id, lane_index, _, _ = self.locate(x, y, yaw)
        return self._lanes[f"{edge_id}_{lane_index}"].speed_limit

    # The cache holds the RoadMap alive; intended: one RoadMap per scenario, kept for the whole process.
    @functools.lru_cache(maxsize=8192)  # noqa: B019
    def is_on_road(self, x: float, y: float, margin: float = 1.0) -> bool:
        """Whether ``map`` point (x, y) [m] lies on a lane (within half its width plus ``margin`` [m]).
        Memoised: every station that hears a V2X report checks the same claimed position."""
        delta = np.array([x, y]) - self._seg_start
        t = np.clip(np.einsum("ij,ij->i", delta, self._seg_dir) / self._seg_len, 0.0, 1.0)
        offset = delta - self._seg_dir * (t * self._seg_len)[:, None]
        dist = np.hypot(offset[:, 0], offset[:, 1])
        best = int(np.argmin(dist))
        return bool(dist[best] <= self._lanes[self._seg_lane[best]].width / 2.0 + margin)

    # --- internals -----------------------------------------------------------------------------

    def _edge(self, edge_id: str) -> tuple[str, ...]:
        try:
            return self._edge_lanes[edge_id]
        except KeyError:
            raise KeyError(f"unknown edge '{edge_id}'") from None

    def _build_segment_index(self) -> None:
        starts, dirs, lengths, yaws, s0, lane_ids, scales = [], [], [], [], [], [], []
        for lane in self._lanes.values():
            shape = lane.shape
            if len(shape) < 2:
                continue
            seg = np.diff(shape, axis=0)
            seg_len = np.hypot(seg[:, 0], seg[:, 1])
            keep = seg_len > 1e-9
            seg, seg_len, start = seg[keep], seg_len[keep], shape[:-1][keep]
            if not len(seg):
                continue
            geometric = float(seg_len.sum())
            starts.append(start)
            dirs.append(seg / seg_len[:, None])
            lengths.append(seg_len)
            yaws.append(np.arctan2(seg[:, 1], seg[:, 0]))
            s0.append(np.concatenate(([0.0], np.cumsum(seg_len)[:-1])))
            lane_ids += [lane.lane_id] * len(seg)
            scales.append(np.full(len(seg), lane.length / geometric))
        self._seg_start = np.concatenate(starts) if starts else np.zeros((0, 2))
        self._seg_dir = np.concatenate(dirs) if dirs else np.zeros((0, 2))
        self._seg_len = np.concatenate(lengths) if lengths else np.zeros(0)
        self._seg_yaw = np.concatenate(yaws) if yaws else np.zeros(0)
        self._seg_s0 = np.concatenate(s0) if s0 else np.zeros(0)
        self._seg_scale = np.concatenate(scales) if scales else np.zeros(0)
        self._seg_lane = lane_ids

    def _connection_between(self, lane_id: str, next_edge: str, lane_index: int) -> Connection:
        """Connection into ``next_edge`` from the lane of the current edge nearest ``lane_id``,
        preferring the target lane nearest ``lane_index``."""
        edge_id = self._lanes[lane_id].edge_id
        own_index = self._lanes[lane_id].index
        candidates = [c for lid in self._edge(edge_id) for c in self._connections.get(lid, [])
                      if self._lanes[c.to_lane].edge_id == next_edge]
        if not candidates:
            raise ValueError(f"edge '{next_edge}' is not reachable from edge '{edge_id}'")

        def rank(c: Connection) -> tuple[int, int]:
            return (abs(self._lanes[c.from_lane].index - own_index),
                    abs(self._lanes[c.to_lane].index - lane_index))

        return min(candidates, key=rank)

    def _route_lanes(self, edges: Sequence[str], lane_index: int, lane_edge: str | None) -> list[str]:
        """The lane ID on each of ``edges``: lane ``lane_index`` (clamped) on ``lane_edge`` (None or
        off the route: the first edge), the lanes its connections lead to after it and the lanes
        connected into it before it (nearest in index where none is)."""
        k = list(edges).index(lane_edge) if lane_edge is not None and lane_edge in edges else 0
        lanes: list[str] = [""] * len(edges)
        own = self._edge(edges[k])
        lanes[k] = own[min(lane_index, len(own) - 1)]
        for i in range(k + 1, len(edges)):
            previous = self._lanes[lanes[i - 1]]
            lanes[i] = self._connection_between(lanes[i - 1], edges[i], previous.index).to_lane
        for i in range(k - 1, -1, -1):
            following = self._lanes[lanes[i + 1]]
            into = [c for lid in self._edge(edges[i]) for c in self._connections.get(lid, [])
                    if c.to_lane == lanes[i + 1]]
            if into:
                lanes[i] = min(into, key=lambda c: abs(self._lanes[c.from_lane].index - following.index)).from_lane
            else:
                candidates = self._edge(edges[i])
                lanes[i] = candidates[min(following.index, len(candidates) - 1)]
        return lanes

    @functools.lru_cache(maxsize=256)  # noqa: B019  (one RoadMap per scenario, see is_on_road)
    def _route_geometry(self, edges: tuple[str, ...], lane_index: int, lane_edge: str | None = None,
                        lane_ends_on: str | None = None
                        ) -> tuple[np.ndarray, list[tuple[str, int, float]], list[float]]:
        """Centre line, stop lines and the s [m] where each edge begins (see the public methods).
        Memoised (the mode selector looks up the stop lines ahead every tick); the public methods
        hand out copies."""
        if not edges:
            raise ValueError("a route needs at least one edge")
        if lane_index < 0:
            raise ValueError(f"lane_index must be >= 0, got {lane_index}")
        route_lanes = self._route_lanes(edges, lane_index, lane_edge)
        pieces: list[np.ndarray] = []
        stops: list[tuple[str, int, float]] = []
        starts: list[float] = []
        s_end = 0.0

        def append(shape: np.ndarray) -> None:
            nonlocal s_end
            if pieces:
                shape = np.vstack([pieces[-1][-1:], shape])
            seg = np.diff(shape, axis=0)
            s_end += float(np.hypot(seg[:, 0], seg[:, 1]).sum())
            pieces.append(shape if not pieces else shape[1:])

        for position, edge_id in enumerate(edges):
            lane_id = route_lanes[position]
            starts.append(s_end)
            if edge_id == lane_ends_on and not self.lane_continues(edges, edge_id, self._lanes[lane_id].index):
                shape = self._lanes[lane_id].shape
                heading = (shape[-1] - shape[-2]) / np.linalg.norm(shape[-1] - shape[-2])
                append(np.vstack([shape, shape[-1] + LANE_END_RUNOUT * heading]))
                break
            if position + 1 < len(edges):
                connection = self._connection_between(lane_id, edges[position + 1], self._lanes[lane_id].index)
                append(self._lanes[lane_id].shape)
                if connection.tls_id:
                    stops.append((connection.tls_id, connection.link_index, s_end))
                for via in connection.via:
                    append(self._lanes[via].shape)
            else:
                append(self._lanes[lane_id].shape)
        points = np.vstack(pieces)
        step = np.hypot(*np.diff(points, axis=0).T)
        points = points[np.concatenate(([True], step > 1e-6))]
        return points, stops, starts
