"""The vehicles of flows that carry CAVs (``cav_type`` set): which of them are CAVs, drawn from the seed.

Such a flow departs its vehicles evenly, as SUMO's ``vehsPerHour`` does: vehicle ``k`` departs at
``begin + k * 3600 / vehs_per_hour`` [s] while that is before ``end``, and is named
``<flow id>_<k>`` (a valid ROS 2 namespace when the flow's ID is one). Each vehicle draws one
uniform number ``u_k`` in [0, 1) from a generator seeded with (run seed, index of the flow in
``demand.flows``) and is a CAV of type ``cav_type`` when ``u_k < cav_share``, else a vehicle of
the flow's ``type``. The draw does not depend on the share, so for one seed the CAVs at a lower share
are a subset of those at a higher one: a penetration family compares the same departures.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cav_stack.world.scenario.spec import FlowSpec, Scenario

_SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class FlowVehicle:
    """One vehicle of a CAV-carrying flow: departs at ``depart`` [s] on ``route`` with the flow's
    SUMO ``depart_lane`` / ``depart_speed`` keywords; ``is_cav``: drawn to be a CAV (type ``type``)."""

    id: str
    type: str
    route: tuple[str, ...]
    depart: float
    depart_lane: str
    depart_speed: str
    is_cav: bool


def carries_cavs(flow: FlowSpec) -> bool:
    """Whether the flow's vehicles are drawn as CAVs or humans (it names a CAV type)."""
    return flow.cav_type is not None


def departures(flow: FlowSpec) -> np.ndarray:
    """Departure times [s] of the flow's vehicles (evenly spaced from ``begin``, before ``end``)."""
    period = _SECONDS_PER_HOUR / flow.vehs_per_hour
    count = int(np.ceil((flow.end - flow.begin) / period - 1e-9))
    return flow.begin + period * np.arange(count)


def flow_vehicles(flow: FlowSpec, index: int, seed: int) -> tuple[FlowVehicle, ...]:
    """The vehicles of ``flow`` (the ``index``-th of ``demand.flows``) in a run seeded ``seed``."""
    times = departures(flow)
    draws = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(index,))).random(times.size)
    return tuple(FlowVehicle(f"{flow.id}_{k}", flow.cav_type if cav and flow.cav_type else flow.type,
                             flow.route, float(t), flow.depart_lane, flow.depart_speed, bool(cav))
                 for k, (t, cav) in enumerate(zip(times, draws < flow.cav_share, strict=True)))


def drawn_vehicles(scenario: Scenario, seed: int) -> tuple[FlowVehicle, ...]:
    """Every vehicle of the scenario's CAV-carrying flows in a run seeded ``seed``, flow by flow."""
    return tuple(vehicle for index, flow in enumerate(scenario.demand.flows) if carries_cavs(flow)
                 for vehicle in flow_vehicles(flow, index, seed))


def flow_cavs(scenario: Scenario, seed: int) -> tuple[FlowVehicle, ...]:
    """The CAVs drawn in the scenario's flows for a run seeded ``seed`` (departure order per flow)."""
    return tuple(vehicle for vehicle in drawn_vehicles(scenario, seed) if vehicle.is_cav)
