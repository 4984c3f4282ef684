"""V2X node message generation on the executor clock: 10 Hz BSMs at a per-vehicle random phase
(independent vehicle clocks, checked every T_CheckCamGen) and shared plans at their own rate."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cav_stack.core.messages import MAP_FRAME, EgoState, Header, Trajectory, TrajectoryPoint
from cav_stack.core.params import load_node_params
from cav_stack.nodes.v2x_node import V2xNode, V2xNodeParams
from cav_stack.runtime.executor import InProcessExecutor
from cav_stack.runtime.node import Node
from cav_stack.core.share import share_path


class _EgoFeed(Node):
    """Publishes a straight-driving ego state and a plan every 50 ms to the V2X node's inputs."""

    node_name = "ego_feed"

    def __init__(self, context):
        super().__init__(context)
        self._ego = self.create_publisher(EgoState, "/cav/v2x_node/input/ego_state")
        self._plan = self.create_publisher(Trajectory, "/cav/v2x_node/input/trajectory")
        self.create_timer(0.05, self._tick)

    def _tick(self):
        now = self.now()
        self._ego.publish(EgoState(Header(now, MAP_FRAME), 20.0 * now, 0.0, 0.0, 20.0))
        points = tuple(TrajectoryPoint(0.2 * k, 20.0 * (now + 0.2 * k), 0.0, 0.0, 20.0, 0.0) for k in range(26))
        self._plan.publish(Trajectory(Header(now, MAP_FRAME), points))


def _params() -> V2xNodeParams:
    return load_node_params(share_path("v2x", "v2x_node.yaml"), "v2x_node", V2xNodeParams)


def _send_times(seed: int, params: V2xNodeParams, seconds: float = 3.0) -> dict[str, list[float]]:
    executor = InProcessExecutor(seed)
    sent: dict[str, list[float]] = {}
    executor.add_tap(lambda topic, msg, now: sent.setdefault(msg.message_type, []).append(round(now, 6))
                     if topic.endswith("output/frames") else None)
    executor.add_node(_EgoFeed)          # first: the ego state is there at the node's first check
    executor.add_node(V2xNode, namespace="cav", params=params)
    executor.spin_until(seconds)
    return sent


def test_bsm_at_10_hz_with_a_phase_that_differs_between_vehicles():
    params = _params()
    phases = set()
    for seed in range(6):
        sent = _send_times(seed, params)
        bsm = np.array(sent["BSM"])
        assert np.allclose(np.diff(bsm), params.generation.min_interval)   # 10 Hz, no gaps
        assert bsm[0] < params.generation.min_interval + params.check_interval + 1e-9
        phases.add(round(bsm[0] / params.check_interval) % 2)
    assert phases == {0, 1}        # both 50 ms check phases occur: stations do not all send together


def test_shared_plans_follow_their_own_interval_and_ride_with_a_bsm():
    params = _params()
    sent = _send_times(3, params)
    maneuver = np.array(sent["MANEUVER"])
    assert np.allclose(np.diff(maneuver), params.maneuver_interval)
    assert set(maneuver) <= set(sent["BSM"])


def test_check_interval_longer_than_the_minimum_generation_interval_is_refused():
    params = _params()
    with pytest.raises(ValueError, match="check_interval"):
        dataclasses.replace(params, check_interval=2.0 * params.generation.min_interval)


def test_a_new_pseudonym_comes_with_a_new_temporary_id_so_receivers_keep_accepting():
    """At the pseudonym change (300 s) the node changes its temporary ID too: a receiver that
    bound the old ID to the old certificate accepts every BSM across the change."""
    from cav_stack.v2x.misbehaviour import MisbehaviourDetector
    from cav_stack.v2x.pki import SeededPki
    from cav_stack.v2x.reception import ReceivePath, Received
    from cav_stack.v2x.security import MessageVerifier
    from cav_stack.v2x.trust_params import load_trust_params

    params = dataclasses.replace(_params(), share_maneuvers=False)
    trust = load_trust_params(share_path("v2x", "security.yaml"))
    pki = SeededPki(trust.seeded_pki, params.pki_seed)
    receiver = ReceivePath(trust.reception, MessageVerifier(trust.security, [pki.root.certificate],
                                                            pki.ca_certificates),
                           MisbehaviourDetector(trust.misbehaviour, lambda x, y, margin: True),
                           params.generation.origin())
    change = trust.security.pseudonym_change_interval
    frames = []
    executor = InProcessExecutor(3, start_time=change - 2.0)
    executor.add_tap(lambda topic, msg, now: frames.append((now, msg)) if topic.endswith("output/frames") else None)
    executor.add_node(_EgoFeed)
    executor.add_node(V2xNode, namespace="cav", params=params)
    executor.spin_until(change + 2.0)
    outcomes = [receiver.receive(frame.payload, now + 0.002) for now, frame in frames]
    assert all(isinstance(o, Received) for o in outcomes), {getattr(o, "reason", None) for o in outcomes}
    ids = {(now >= change, frame.sender_id) for now, frame in frames}
    signers = {(now >= change, o.sender) for (now, _), o in zip(frames, outcomes, strict=True)}
    assert len(ids) == len(signers) == 2           # one ID and one certificate before, another after


class _LaneFeed(Node):
    """Ego state of a vehicle driving along x at 20 m/s in lane ``y`` [m], to ``/<ns>/v2x_node``."""

    node_name = "ego_feed"

    def __init__(self, context, *, y: float, target: str):
        super().__init__(context)
        self._y = y
        self._ego = self.create_publisher(EgoState, f"/{target}/v2x_node/input/ego_state")
        self.create_timer(0.05, self._tick)

    def _tick(self):
        now = self.now()
        self._ego.publish(EgoState(Header(now, MAP_FRAME), 20.0 * now, self._y, 0.0, 20.0))


def test_a_vehicle_that_joins_gets_its_neighbours_certificate_at_once():
    """Vehicle b enters 2.3 s after a, which sends its full certificate only once a second (at
    t = 0, 1, 2 s before b is there). On hearing b for the first time a carries its certificate in
    its next message (ETSI TS 103 097's CAM profile), so b verifies a's messages within about one
    BSM period instead of up to a second later."""
    params = dataclasses.replace(_params(), share_maneuvers=False)
    executor = InProcessExecutor(5)
    reports_at_b: list[float] = []
    executor.add_tap(lambda topic, msg, now: reports_at_b.append(now)
                     if topic == "/b/v2x_node/output/reports" and msg.reports else None)
    executor.add_node(_LaneFeed, namespace="feed_a", y=0.0, target="a")
    executor.add_node(V2xNode, namespace="a", params=params, station=1,
                      remappings={"input/frames": "/b/v2x_node/output/frames"})
    executor.spin_until(2.3)
    executor.add_node(_LaneFeed, namespace="feed_b", y=3.5, target="b")
    node_b = executor.add_node(V2xNode, namespace="b", params=params, station=2,
                               remappings={"input/frames": "/a/v2x_node/output/frames"})
    executor.spin_until(3.5)
    first_report = min(reports_at_b)
    assert first_report < 2.3 + 0.35, first_report      # the next full certificate is due at t >= 3 s
    assert node_b.refusals.get("unknown_certificate", 0) <= 2
