"""OpenDRIVE road coordinates on a SUMO network converted by netconvert (``--opendrive-files``).

An OpenDRIVE road becomes one SUMO edge per side: lanes right of the reference line (negative IDs)
form edge ``-<road>`` driven in +s, lanes left of it edge ``<road>`` driven in -s; each SUMO lane
keeps its OpenDRIVE ``origId`` ``<road>_<lane>``. On an edge a point is given by the road ``s`` [m]
along the OpenDRIVE reference line and ``u`` [m], the lateral position to the left (in driving
direction) of the edge's right border: lane k's centre is at ``u = sum of the widths of lanes
0..k-1 + width_k / 2`` (SUMO lane 0 is the rightmost). Between lane centres the point is
interpolated linearly, so that a lane change is a motion in ``u``. All positions are ``map`` [m].
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cav_stack.world.road_map import RoadMap


class RoadFrameError(ValueError):
    """A road or lane the converted network does not have (message names it)."""


@dataclass(frozen=True)
class EdgeLanes:
    """One side of a road: SUMO ``edge``, OpenDRIVE ``road_id``, ``sign`` (+1: driven in +s),
    ``lane_ids`` (OpenDRIVE IDs by SUMO index), ``centres`` (u of each lane centre [m]), ``widths`` [m]."""

    edge: str
    road_id: str
    sign: int
    lane_ids: tuple[int, ...]
    centres: tuple[float, ...]
    widths: tuple[float, ...]


class RoadFrame:
    """Road coordinates (road, s, u) <-> ``map`` points on a converted network (module docstring)."""

    def __init__(self, net_file: Path, road_map: RoadMap, road_lengths: dict[str, float]):
        self.road_map = road_map
        self.road_lengths = road_lengths
        self._edges: dict[str, EdgeLanes] = {}
        self._lane_of: dict[tuple[str, int], tuple[str, int]] = {}
        self._geometry: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        for edge in ET.parse(net_file).getroot().iter("edge"):
            if edge.get("function") == "internal":
                continue
            lanes: list[tuple[int, int, float, str]] = []
            for lane in edge.findall("lane"):
                orig = next((p.get("value", "") for p in lane.findall("param") if p.get("key") == "origId"), "")
                orig_road, _, orig_lane = orig.split(" ")[0].rpartition("_")
                if not orig_road:
                    raise RoadFrameError(f"lane {lane.get('id')} of {net_file} has no OpenDRIVE origId")
                lanes.append((int(lane.get("index", "0")), int(orig_lane), float(lane.get("width", "3.2")), orig_road))
            lanes.sort()
            edge_id, road_id = edge.get("id", ""), lanes[0][3]
            if road_id not in road_lengths:
                raise RoadFrameError(f"edge {edge_id} comes from road '{road_id}', not in the OpenDRIVE file")
            widths = tuple(w for _, _, w, _ in lanes)
            centres = tuple(float(sum(widths[:k]) + widths[k] / 2.0) for k in range(len(widths)))
            sign = -1 if lanes[0][1] > 0 else 1
            self._edges[edge_id] = EdgeLanes(edge_id, road_id, sign, tuple(i for _, i, _, _ in lanes), centres, widths)
            for index, lane_id, _, _ in lanes:
                if (road_id, lane_id) in self._lane_of:
                    raise RoadFrameError(f"road '{road_id}' lane {lane_id} is split into several SUMO edges "
                                         "(lane sections are not supported)")
                self._lane_of[(road_id, lane_id)] = (edge_id, index)

    @staticmethod
    def road_lengths_of(opendrive_file: Path) -> dict[str, float]:
        """Length [m] of each road of an OpenDRIVE file, by road ID."""
        return {road.get("id", ""): float(road.get("length", "0"))
                for road in ET.parse(opendrive_file).getroot().findall("road")}

    @classmethod
    def from_files(cls, net_file: Path, opendrive_file: Path) -> RoadFrame:
        """The frame of ``net_file`` converted from ``opendrive_file`` (road lengths read from it)."""
        return cls(net_file, RoadMap.from_net_file(net_file), cls.road_lengths_of(opendrive_file))

    # --- lanes ----------------------------------------------------------------------------------

    def edge(self, edge_id: str) -> EdgeLanes:
        try:
            return self._edges[edge_id]
        except KeyError:
            raise RoadFrameError(f"edge '{edge_id}' is not a road of the OpenDRIVE network") from None

    def sumo_lane(self, road_id: str, lane_id: int) -> tuple[str, int]:
        """(SUMO edge, lane index) of OpenDRIVE lane ``lane_id`` of road ``road_id``."""
        try:
            return self._lane_of[(road_id, lane_id)]
        except KeyError:
            known = sorted(i for r, i in self._lane_of if r == road_id)
            raise RoadFrameError(f"road '{road_id}' has no lane {lane_id} in the SUMO network "
                                 f"(lanes: {known or 'none: unknown road'})") from None

    def lane_index_at(self, edge_id: str, u: float) -> int:
        """SUMO index of the lane whose centre is nearest to ``u`` [m]."""
        centres = self.edge(edge_id).centres
        return int(np.argmin([abs(c - u) for c in centres]))

    def shifted_lane(self, edge_id: str, index: int, lanes_left: int) -> int:
        """Index ``lanes_left`` lanes to the left of ``index`` (RoadFrameError beyond the edge)."""
        target = index + lanes_left
        if not 0 <= target < len(self.edge(edge_id).centres):
            raise RoadFrameError(f"edge '{edge_id}' has no lane {lanes_left:+d} from lane {index}")
        return target

    # --- coordinates ----------------------------------------------------------------------------

    def lane_position(self, edge_id: str, index: int, s: float) -> float:
        """SUMO lane position [m] (from the lane start, in driving direction) of road ``s`` [m]."""
        lanes = self.edge(edge_id)
        road_length = self.road_lengths[lanes.road_id]
        along = s if lanes.sign > 0 else road_length - s
        return along * self.road_map.lane(f"{edge_id}_{index}").length / road_length

    def road_s(self, edge_id: str, index: int, lane_pos: float) -> float:
        """Road s [m] of SUMO lane position ``lane_pos`` [m] (inverse of :meth:`lane_position`)."""
        lanes = self.edge(edge_id)
        road_length = self.road_lengths[lanes.road_id]
        along = lane_pos * road_length / self.road_map.lane(f"{edge_id}_{index}").length
        return along if lanes.sign > 0 else road_length - along

    def _lane_point(self, edge_id: str, index: int, s: float) -> tuple[np.ndarray, float]:
        key = (edge_id, index)
        if key not in self._geometry:
            shape = self.road_map.lane(f"{edge_id}_{index}").shape
            steps = np.hypot(*np.diff(shape, axis=0).T)
            self._geometry[key] = (shape, np.concatenate([[0.0], np.cumsum(steps)]))
        shape, cumulative = self._geometry[key]
        lane_length = self.road_map.lane(f"{edge_id}_{index}").length
        distance = self.lane_position(edge_id, index, s) * cumulative[-1] / lane_length
        k = int(np.clip(np.searchsorted(cumulative, distance) - 1, 0, len(shape) - 2))
        direction = shape[k + 1] - shape[k]
        segment = float(np.hypot(*direction))
        point = shape[k] + direction * ((distance - cumulative[k]) / segment)
        return point, math.atan2(direction[1], direction[0])

    def to_map(self, edge_id: str, s: float, u: float) -> tuple[float, float, float]:
        """``map`` point (x, y) [m] and lane heading [rad] of road ``s`` [m], lateral ``u`` [m] on the edge."""
        centres = self.edge(edge_id).centres
        k = int(np.clip(np.searchsorted(centres, u) - 1, 0, max(len(centres) - 2, 0)))
        p0, yaw = self._lane_point(edge_id, k, s)
        if len(centres) == 1:
            normal = np.array([-math.sin(yaw), math.cos(yaw)])
            point = p0 + normal * (u - centres[0])
            return float(point[0]), float(point[1]), yaw
        p1, _ = self._lane_point(edge_id, k + 1, s)
        weight = (u - centres[k]) / (centres[k + 1] - centres[k])
        point = p0 + (p1 - p0) * weight
        return float(point[0]), float(point[1]), yaw

    def locate(self, x: float, y: float, yaw: float) -> tuple[str, float, float]:
        """(edge, road s [m], u [m]) of ``map`` point (x, y) [m] heading ``yaw`` [rad]."""
        edge_id, index, offset, lane_pos = self.road_map.locate(x, y, yaw)
        if edge_id.startswith(":"):
            raise RoadFrameError(f"point ({x:.1f}, {y:.1f}) is inside a junction")
        return edge_id, self.road_s(edge_id, index, lane_pos), self.edge(edge_id).centres[index] + offset
