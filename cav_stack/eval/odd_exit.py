"""Operating-domain exit figures of a run, from ground truth (never from what the stack believed).

:class:`OddExitRecorder` observes the world like :class:`~cav_stack.eval.metrics.RunRecorder`: for
each CAV it records the distance [m] from its front bumper to where the operating domain ends along
its scenario route (SUMO lane positions along the route's edges; junction interiors, a few
centimetres on the scenario networks, are not counted) and when it reached that point. With the mode
timeline it gives the takeover lead time: from the first TAKEOVER_REQUEST to the CAV's arrival at the
exit, or, for a CAV that never arrived (it stopped, or the run ended), to its predicted arrival at
the speed it had when the request was raised.
"""
from __future__ import annotations

from cav_stack.core.truth import WorldTruth
from cav_stack.eval.mode_timeline import ModeTimeline
from cav_stack.world.odd import OperatingDomain
from cav_stack.world.road_map import RoadMap

TAKEOVER_MODE = "takeover_request"


class OddExitRecorder:
    """Ground-truth distance of each CAV to its operating-domain exit (CAVs whose route stays
    inside the domain are not recorded)."""

    def __init__(self, odd: OperatingDomain, cav_routes: dict[str, tuple[str, ...]], road_map: RoadMap):
        self._offsets: dict[str, dict[str, float]] = {}
        self._exit_at: dict[str, float] = {}
        for cav_id, route in cav_routes.items():
            offset, along = {}, 0.0
            for edge in route:
                exits = [p for e, p in zip(odd.exit_edges, odd.exit_positions, strict=True) if e == edge]
                if odd.edges and edge not in odd.edges:
                    self._exit_at[cav_id] = along
                elif exits:
                    self._exit_at[cav_id] = along + min(exits)
                offset[edge] = along
                if cav_id in self._exit_at:
                    break
                along += road_map.edge_length(edge)
            if cav_id in self._exit_at:
                self._offsets[cav_id] = offset
        self.samples: dict[str, list[tuple[float, float, float]]] = {cav_id: [] for cav_id in self._exit_at}
        """Per CAV: (time [s], distance to the exit [m], speed [m/s])."""
        self.arrival: dict[str, float] = {}
        """Per CAV: time [s] its front bumper reached the exit."""

    def __call__(self, truth: WorldTruth, commands: dict) -> None:
        for cav_id, offsets in self._offsets.items():
            vehicle = truth.vehicle(cav_id)
            if vehicle is None or vehicle.edge_id not in offsets:   # gone, in a junction, or past the exit edge
                continue
            distance = self._exit_at[cav_id] - offsets[vehicle.edge_id] - vehicle.lane_position
            self.samples[cav_id].append((truth.stamp, distance, vehicle.speed))
            if distance <= 0.0:
                self.arrival.setdefault(cav_id, truth.stamp)

    def summary(self, timeline: ModeTimeline) -> dict:
        """JSON-ready figures: per CAV under ``odd_exit`` (exit reached at [s], closest approach [m],
        first takeover request [s] and its lead time [s]); ``takeover_lead_time_s``: the shortest
        lead time over the CAVs (None without a takeover request)."""
        per_cav = {}
        for cav_id, samples in self.samples.items():
            requested = next((s["time_s"] for s in timeline.switches
                              if s["cav"] == cav_id and s["mode"] == TAKEOVER_MODE), None)
            lead = None
            if requested is not None and cav_id in self.arrival:
                lead = self.arrival[cav_id] - requested
            elif requested is not None:
                at = [s for s in samples if s[0] <= requested + 1e-9]
                if at and at[-1][2] > 0.0:
                    lead = at[-1][1] / at[-1][2]
            per_cav[cav_id] = {
                "exit_reached_s": self.arrival.get(cav_id),
                "min_distance_to_exit_m": min((s[1] for s in samples), default=None),
                "takeover_request_s": requested,
                "takeover_lead_time_s": lead,
            }
        leads = [c["takeover_lead_time_s"] for c in per_cav.values() if c["takeover_lead_time_s"] is not None]
        return {"odd_exit": per_cav, "takeover_lead_time_s": min(leads) if leads else None}
