"""Alerting RSUs: the junctions around an incident, and their signed RoadSideAlerts crossing the
radio model once a second from the incident on, verified and decoded as a CAV's V2X node does."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.world.scenario import IncidentEvent
from cav_stack.nodes.v2x_node import V2xNode
from cav_stack.core.params import load_node_params
from cav_stack.world.road_map import RoadMap
from cav_stack.core.share import share_path
from cav_stack.sim.network_build import build_network
from cav_stack.sim.v2x_air import (ALERT_PERIOD, RSU_STATION_BASE, V2xAirInterface,
                                   incident_alerting_units)
from cav_stack.v2x.codec import decode_frame
from cav_stack.v2x.permissions import PSID_TRAVELER_INFO
from cav_stack.v2x.pki import SeededPki
from cav_stack.v2x.radio.medium import RadioMedium
from cav_stack.v2x.security import Accepted, MessageVerifier
from cav_stack.v2x.trust_params import load_trust_params

GRID_JUNCTIONS = tuple((250.0 * i, 250.0 * j) for i in range(3) for j in range(3))
INCIDENT = IncidentEvent(time=1.0, edge="n20_n21", closes=True, position=150.0, vehicle_type="car")


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    repo = Path(__file__).resolve().parents[4]
    return RoadMap.from_net_file(build_network(repo / "scenarios" / "networks" / "urban_grid",
                                               tmp_path_factory.mktemp("net")))


def test_the_junctions_within_the_radius_report_the_incident(grid):
    units = incident_alerting_units(INCIDENT, grid, GRID_JUNCTIONS, radius=300.0)
    # incident at (~501.6, 153): n20 153 m, n21 97 m, n10 ~295 m, n11 ~270 m; n22 ~347 m is too far
    assert sorted((u.x, u.y) for u in units) == [(250.0, 0.0), (250.0, 250.0), (500.0, 0.0), (500.0, 250.0)]
    alert = units[0].alert
    assert alert.closes_road and alert.travel_yaw == pytest.approx(math.pi / 2, abs=1e-3)
    start_x, start_y = grid.lane_centerline("n20_n21_0")[0]
    assert (alert.x, alert.y) == pytest.approx((start_x, start_y + INCIDENT.position), abs=0.1)
    assert all(u.start == INCIDENT.time for u in units)
    with pytest.raises(ValueError, match="nobody reports it"):
        incident_alerting_units(INCIDENT, grid, GRID_JUNCTIONS, radius=50.0)


def test_signed_alerts_cross_the_air_once_a_second_from_the_incident_on(grid):
    node_params = load_node_params(share_path("v2x", "v2x_node.yaml"), "v2x_node", V2xNode.params_type)
    trust = load_trust_params(share_path("v2x", "security.yaml"))
    origin = node_params.generation.origin()
    units = incident_alerting_units(INCIDENT, grid, ((500.0, 0.0),), radius=300.0)
    air = V2xAirInterface(RadioMedium.from_yaml(share_path("v2x", "radio_dsrc.yaml")), ("cav_0",), (), trust,
                          node_params.pki_seed, origin=origin, alerting=units)
    pki = SeededPki(trust.seeded_pki, node_params.pki_seed)
    verifier = MessageVerifier(trust.security, [pki.root.certificate], pki.ca_certificates)
    cav = VehicleTruth("cav_0", 420.0, -1.6, 0.0, 10.0, 0.0, 4.6, 1.85, 1.5, "n10_n20", 0, 170.0)
    rng = np.random.default_rng(3)
    received = []
    for step in range(int(round(3.5 / 0.05)) + 1):
        now = 0.05 * step
        for frame in air.step(now, WorldTruth(now, (cav,)), [], rng).get("cav_0", []):
            verdict = verifier.verify(frame.payload, now)
            assert isinstance(verdict, Accepted) and verdict.psid == PSID_TRAVELER_INFO
            received.append((now, frame.sender_id, frame.message_type, decode_frame(verdict.payload, origin=origin,
                                                                                    now=now)))
    assert [r[2] for r in received] == ["RSA"] * 3 and {r[1] for r in received} == {RSU_STATION_BASE}
    times = np.array([r[0] for r in received])
    assert times[0] >= INCIDENT.time and np.allclose(np.diff(times), ALERT_PERIOD, atol=0.051)
    alerts = [r[3] for r in received]
    assert [a.msg_count for a in alerts] == [0, 1, 2] and all(a.closes_road for a in alerts)
    assert (alerts[0].x, alerts[0].y) == pytest.approx((units[0].alert.x, units[0].alert.y), abs=0.01)
    assert alerts[0].header.stamp == pytest.approx(INCIDENT.time, abs=1e-3)
