"""Misbehaviour detection on seeded synthetic traces: honest senders never flagged, a ghost flagged
within 1 s, constant-offset liars and kinematic lies flagged with the right reason."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cav_stack.core.messages import Header, TrackList, V2xVehicleReport
from cav_stack.v2x.misbehaviour import MisbehaviourDetector, MisbehaviourReason

from misbehaviour_traces import LANES, Sender, circling, ego, is_on_road, run, straight


def hard_braking(t: float) -> float:
    """-8 m/s^2 for 2.5 s from t = 10 s, then +2 m/s^2 for 5 s."""
    if 10.0 <= t < 12.5:
        return -8.0
    return 2.0 if 12.5 <= t < 17.5 else 0.0


def honest_senders() -> list[Sender]:
    vehicles = [
        straight(0, 40.0, 27.0),                # ahead in lane 1, in view throughout
        straight(2, 120.0, 22.0),               # enters the sensor range after ~13 s
        straight(2, 30.0, 25.0, hard_braking),  # brakes hard while in view, then falls behind
        straight(0, 1000.0, 30.0),              # never in view
        circling(12.0, 0.0),                    # on the circular road: constant 0.24 rad/s turn
        straight(1, -30.0, 25.0, lambda t: -9.0 if t >= 20.0 else 0.0),  # emergency stop to standstill
    ]
    return [Sender(100 + i, truth, truth) for i, truth in enumerate(vehicles)]


@pytest.mark.parametrize("seed", range(1, 11))
def test_honest_senders_are_never_flagged(trust_params, seed):
    detector = MisbehaviourDetector(trust_params.misbehaviour, is_on_road)
    first_flag = run(honest_senders(), detector, 60.0, np.random.default_rng(seed))
    assert first_flag == {100 + i: None for i in range(6)}, detector.verdicts()


def test_ghost_is_flagged_within_one_second(trust_params):
    def ghost(t):  # a car 40 m ahead of the ego in its lane, perfectly consistent kinematics
        return ego(t)[0] + 40.0, LANES[1], 0.0, 25.0, 0.0
    senders = honest_senders() + [Sender(7, ghost, None, start=5.0)]
    detector = MisbehaviourDetector(trust_params.misbehaviour, is_on_road)
    first_flag = run(senders, detector, 15.0, np.random.default_rng(4))
    assert first_flag[7] is not None and 5.0 < first_flag[7] <= 6.0
    assert detector.verdict(7).reasons == (MisbehaviourReason.GHOST_VEHICLE,)
    assert all(first_flag[s.station_id] is None for s in senders[:-1])


@pytest.mark.parametrize("offset", [(9.0, 0.0), (-8.0, 0.0), (0.0, 8.0), (7.0, -7.0)])
def test_constant_offset_liar_is_flagged(trust_params, offset):
    truth = straight(0, 20.0, 25.0)

    def claim(t):
        x, y, yaw, speed, accel = truth(t)
        return x + offset[0], y + offset[1], yaw, speed, accel
    senders = honest_senders() + [Sender(8, claim, truth)]
    detector = MisbehaviourDetector(trust_params.misbehaviour, is_on_road)
    first_flag = run(senders, detector, 20.0, np.random.default_rng(5))
    assert first_flag[8] is not None and first_flag[8] <= 3.0
    assert MisbehaviourReason.TRACK_OFFSET in detector.verdict(8).reasons
    assert all(first_flag[s.station_id] is None for s in senders[:-1])


def lying(truth, change):
    def claim(t):
        return change(t, *truth(t))
    return claim


@pytest.mark.parametrize("change, expected", [
    (lambda t, x, y, yaw, v, a: (x, y, yaw, 2.0 * v, a), MisbehaviourReason.SPEED_VS_DISPLACEMENT),
    (lambda t, x, y, yaw, v, a: (x, y, yaw + math.pi / 2, v, a), MisbehaviourReason.HEADING_VS_MOTION),
    (lambda t, x, y, yaw, v, a: (x, 60.0, yaw, v, a), MisbehaviourReason.OFF_ROAD),
    (lambda t, x, y, yaw, v, a: (x * 4.0, y, yaw, v * 4.0, a), MisbehaviourReason.SPEED_LIMIT),
    (lambda t, x, y, yaw, v, a: (x, y, yaw, v, 15.0), MisbehaviourReason.ACCELERATION_LIMIT),
    (lambda t, x, y, yaw, v, a: (x + (30.0 if int(t * 10) % 2 else 0.0), y, yaw, v, a),
     MisbehaviourReason.POSITION_JUMP),
])
def test_kinematic_lies_are_flagged_with_their_reason(trust_params, change, expected):
    truth = straight(2, 1500.0, 22.0)  # out of sensor range: only the self-consistency checks apply
    senders = [Sender(9, lying(truth, change), truth)]
    detector = MisbehaviourDetector(trust_params.misbehaviour, is_on_road)
    first_flag = run(senders, detector, 10.0, np.random.default_rng(6))
    assert first_flag[9] is not None and first_flag[9] <= 3.5
    assert expected in detector.verdict(9).reasons


def test_single_position_jump_is_caught_by_history_consistency(trust_params):
    truth = straight(2, 1500.0, 22.0)
    senders = [Sender(10, lying(truth, lambda t, x, y, yaw, v, a: (x + (40.0 if t >= 5.0 else 0.0), y, yaw, v, a)),
                      truth)]
    detector = MisbehaviourDetector(trust_params.misbehaviour, is_on_road)
    first_flag = run(senders, detector, 10.0, np.random.default_rng(7))
    assert first_flag[10] is not None and 5.0 < first_flag[10] <= 5.5
    assert MisbehaviourReason.SPEED_VS_DISPLACEMENT in detector.verdict(10).reasons


def report(station: int, t: float, x: float, frame: str = "map") -> V2xVehicleReport:
    return V2xVehicleReport(Header(t, frame), station, 0, x, LANES[0], 0.0, 20.0)


def test_senders_are_forgotten_after_the_timeout(trust_params):
    params = trust_params.misbehaviour
    detector = MisbehaviourDetector(params, lambda x, y, margin: False)
    for k in range(5):
        detector.on_report(report(3, 0.1 * k, 2.0 * k), 0.1 * k)
    assert detector.verdict(3).flagged and detector.verdict(3).reasons == (MisbehaviourReason.OFF_ROAD,)
    detector.on_report(report(4, 0.5 + params.sender_timeout, 0.0), 0.5 + params.sender_timeout)
    assert [v.sender for v in detector.verdicts()] == [4]
    assert not detector.verdict(3).flagged


def test_inputs_outside_map_frame_are_rejected(trust_params):
    detector = MisbehaviourDetector(trust_params.misbehaviour, is_on_road)
    with pytest.raises(ValueError, match="map"):
        detector.on_report(report(1, 0.0, 0.0, frame="base_link"), 0.0)
    with pytest.raises(ValueError, match="map"):
        detector.on_tracks(TrackList(Header(0.0, "base_link")), lambda x, y, radius: True, 0.0)


def test_ghost_beside_a_real_car_at_another_speed_is_flagged(trust_params):
    # ghost 40 m ahead of the ego in its lane; an unconnected car one lane over passes it at
    # +4 m/s, within the 15 m association gate of the claim for the whole first 5 s
    def ghost(t):
        return ego(t)[0] + 40.0, LANES[1], 0.0, 25.0, 0.0
    passer = straight(2, 12.0, 29.0)
    senders = honest_senders() + [Sender(7, ghost, None, start=5.0)]
    detector = MisbehaviourDetector(trust_params.misbehaviour, is_on_road)
    first_flag = run(senders, detector, 8.0, np.random.default_rng(6), extra_vehicles=(passer,))
    assert all(abs(passer(t)[0] - ghost(t)[0]) < 12.0 for t in np.arange(5.0, 7.0, 0.1))
    assert first_flag[7] is not None and 5.0 < first_flag[7] <= 6.0
    assert detector.verdict(7).reasons == (MisbehaviourReason.GHOST_VEHICLE,)


@pytest.mark.parametrize("sigma, flagged", [(1.5, False), (0.5, True)])
def test_off_road_margin_follows_the_reported_accuracy(trust_params, sigma, flagged):
    # 3 m beyond the road edge: within 4 sigma of a 1.5 m accuracy, not of a 0.5 m one
    detector = MisbehaviourDetector(trust_params.misbehaviour, is_on_road)
    for k in range(10):
        detector.on_report(V2xVehicleReport(Header(0.1 * k, "map"), 5, k, 2.0 * k, -3.0, 0.0, 20.0,
                                            position_sigma=sigma), 0.1 * k)
    assert detector.verdict(5).flagged is flagged
    assert detector.verdict(5).reasons == ((MisbehaviourReason.OFF_ROAD,) if flagged else ())
