"""Generation rules (ETSI CAM triggers with DCC gate), J2735 identity rules, SPaT from SUMO."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from cav_stack.core.messages import EgoState, Header
from cav_stack.core.params import load_node_params
from cav_stack.core.truth import SignalTruth
from cav_stack.v2x import codec
from cav_stack.v2x.generation import (
    BsmScheduler,
    MessageGenerationParams,
    StationIdentity,
    spat_from_signal,
)
from cav_stack.v2x.messages import MovementPhase

PARAMS_FILE = Path(__file__).resolve().parents[4] / "v2x" / "v2x_node.yaml"
TICK = 0.1   # v2x node period [s]


@pytest.fixture
def params() -> MessageGenerationParams:
    from cav_stack.nodes.v2x_node import V2xNodeParams

    return load_node_params(PARAMS_FILE, "v2x_node", V2xNodeParams).generation


def _ego(t: float, x: float, y: float = 0.0, yaw: float = 0.0, speed: float = 0.0) -> EgoState:
    return EgoState(header=Header(t, "map"), x=x, y=y, yaw=yaw, speed=speed)


def _send_times(scheduler: BsmScheduler, states, cbr: float = 0.1) -> list[float]:
    return [round(s.header.stamp, 6) for s in states if scheduler.should_send(s.header.stamp, s, cbr)]


def _ticks(duration: float) -> list[float]:
    return [k * TICK for k in range(round(duration / TICK) + 1)]


def test_params_file_holds_the_etsi_values(params):
    assert math.degrees(params.heading_threshold) == pytest.approx(4.0)
    assert (params.position_threshold, params.speed_threshold) == (4.0, 0.5)
    assert (params.min_interval, params.max_interval, params.n_gen_cam) == pytest.approx((0.1, 1.0, 3))


def test_standstill_sends_at_t_gen_cam_max(params):
    times = _send_times(BsmScheduler(params), [_ego(t, 0.0) for t in _ticks(3.0)])
    assert times == pytest.approx([0.0, 1.0, 2.0, 3.0])


@pytest.mark.parametrize("speed, interval", [(9.5, 0.5), (30.0, 0.2), (50.0, 0.1)])
def test_position_trigger(params, speed, interval):
    # first tick at which the distance since the last message exceeds 4 m
    times = _send_times(BsmScheduler(params), [_ego(t, speed * t, speed=speed) for t in _ticks(2.0)])
    assert np.diff(times) == pytest.approx([interval] * (len(times) - 1))


def test_heading_trigger(params):
    # 0.1 rad/s at 1 m/s: heading change exceeds 4 deg (0.0698 rad) after 0.7 s, position
    # change stays below 4 m
    states = [_ego(t, t, yaw=0.1 * t, speed=1.0) for t in _ticks(2.1)]
    assert _send_times(BsmScheduler(params), states) == pytest.approx([0.0, 0.7, 1.4, 2.1])


def test_speed_trigger(params):
    # accelerating at 2 m/s^2 in place: speed change > 0.5 m/s after 0.3 s
    states = [_ego(t, 0.0, speed=2.0 * t) for t in _ticks(0.9)]
    assert _send_times(BsmScheduler(params), states) == pytest.approx([0.0, 0.3, 0.6, 0.9])


def test_periodic_interval_returns_to_max_after_n_gen_cam(params):
    # 9.5 m/s until t = 2 s (dynamics trigger every 0.5 s), then no further change:
    # N_GenCam = 3 messages at the last T_GenCam = 0.5 s, then T_GenCamMax = 1 s.
    states = [_ego(t, 9.5 * min(t, 2.0), speed=9.5) for t in _ticks(5.5)]
    assert _send_times(BsmScheduler(params), states) == \
        pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.5, 5.5])


@pytest.mark.parametrize("cbr, interval", [(0.1, 0.2), (0.35, 0.2), (0.45, 0.2), (0.55, 0.3), (0.7, 1.0)])
def test_dcc_gate_limits_rate_with_channel_load(params, cbr, interval):
    # 30 m/s triggers every 0.2 s; T_off of the DCC state (TS 102 687 Table A.2) gates it
    states = [_ego(t, 30.0 * t, speed=30.0) for t in _ticks(3.0)]
    times = _send_times(BsmScheduler(params), states, cbr=cbr)
    assert np.diff(times) == pytest.approx([interval] * (len(times) - 1))


def test_dcc_interval_and_bad_cbr(params):
    scheduler = BsmScheduler(params)
    assert [scheduler.dcc_interval(c) for c in (0.0, 0.3, 0.4, 0.5, 0.65, 1.0)] == \
        pytest.approx([0.1, 0.1, 0.18, 0.26, 1.0, 1.0])
    with pytest.raises(ValueError):
        scheduler.dcc_interval(1.2)


def test_params_validation(params):
    with pytest.raises(ValueError):
        dataclasses.replace(params, dcc_intervals=(0.1,))
    with pytest.raises(ValueError):
        dataclasses.replace(params, max_interval=0.05)


def test_msg_count_per_type_wraps_at_128(params):
    identity = StationIdentity(params, np.random.default_rng(1))
    first = identity.next_msg_count("BSM")
    counts = [identity.next_msg_count("BSM") for _ in range(130)]
    assert counts == [(first + 1 + k) % 128 for k in range(130)]
    other = identity.next_msg_count("MANEUVER")
    assert identity.next_msg_count("MANEUVER") == (other + 1) % 128
    assert identity.next_msg_count("BSM") == (counts[-1] + 1) % 128


def test_temporary_id_changes_after_time_and_distance(params):
    identity = StationIdentity(params, np.random.default_rng(2))
    start_id = identity.station_id
    assert 0 <= start_id < 2 ** 32
    identity.next_msg_count("BSM")
    # parked for 10 minutes: time exceeded, distance not -> ID kept
    assert not any(identity.update(t, _ego(t, 0.0)) for t in np.arange(0.0, 600.0, 1.0))
    assert identity.station_id == start_id
    # drive 20 m/s: 2000 m reached at t = 700 s -> exactly one change then
    changes = [t for t in np.arange(600.0, 800.0, 1.0) if identity.update(t, _ego(t, 20.0 * (t - 600.0)))]
    assert changes == [700.0]
    assert identity.station_id != start_id


def test_identity_is_reproducible_from_seed(params):
    a, b = StationIdentity(params, np.random.default_rng(5)), StationIdentity(params, np.random.default_rng(5))
    assert a.station_id == b.station_id and a.next_msg_count("BSM") == b.next_msg_count("BSM")


PROGRAM = (("GGrr", 30.0), ("yyrr", 3.0), ("rrGG", 30.0), ("rryy", 3.0))


def test_spat_without_program_gives_next_switch_as_min_end():
    spat = spat_from_signal(SignalTruth("tls0", "GgyrsuoO", 0, 42.0), now=40.0, intersection_id=7)
    groups = spat.intersections[0].groups
    assert [g.signal_group for g in groups] == list(range(1, 9))
    assert [g.events[0].phase for g in groups] == [
        MovementPhase.PROTECTED_MOVEMENT_ALLOWED, MovementPhase.PERMISSIVE_MOVEMENT_ALLOWED,
        MovementPhase.PROTECTED_CLEARANCE, MovementPhase.STOP_AND_REMAIN, MovementPhase.STOP_THEN_PROCEED,
        MovementPhase.PRE_MOVEMENT, MovementPhase.CAUTION_CONFLICTING_TRAFFIC, MovementPhase.DARK]
    assert all(len(g.events) == 1 and g.events[0].min_end_time == 42.0 for g in groups)
    assert spat.header.stamp == 40.0


def test_spat_with_program_gives_exact_ends_and_next_phase():
    spat = spat_from_signal(SignalTruth("tls0", "GGrr", 0, 110.0), now=100.0, intersection_id=7,
                            signal_groups=(1, 1, 2, 2), program=PROGRAM)
    green, red = spat.intersections[0].groups
    assert green.signal_group == 1 and red.signal_group == 2
    assert [(e.phase, e.min_end_time, e.max_end_time) for e in green.events] == [
        (MovementPhase.PROTECTED_MOVEMENT_ALLOWED, 110.0, 110.0), (MovementPhase.PROTECTED_CLEARANCE, 113.0, 113.0)]
    # red through the yellow phase (ends 113 s), then green for 30 s (ends 143 s)
    assert [(e.phase, e.likely_time) for e in red.events] == [
        (MovementPhase.STOP_AND_REMAIN, 113.0), (MovementPhase.PROTECTED_MOVEMENT_ALLOWED, 143.0)]


def test_spat_from_signal_survives_the_codec(origin):
    spat = spat_from_signal(SignalTruth("tls0", "yyrr", 1, 1000.0), now=998.5, intersection_id=7,
                            program=PROGRAM)
    decoded = codec.decode_frame(codec.encode_spat(spat), origin=origin, now=998.6)
    assert decoded == spat   # all times are multiples of 0.1 s, so TimeMarks are exact


@pytest.mark.parametrize("kwargs", [
    dict(signal=SignalTruth("t", "Gx", 0, 1.0)),
    dict(signal=SignalTruth("t", "Gr", 0, 1.0), signal_groups=(1, 1)),
    dict(signal=SignalTruth("t", "Gr", 0, 1.0), signal_groups=(1,)),
    dict(signal=SignalTruth("t", "Gr", 0, 1.0), signal_groups=(0, 1)),
    dict(signal=SignalTruth("t", "Gr", 5, 1.0), program=(("Gr", 10.0), ("rG", 10.0))),
    dict(signal=SignalTruth("t", "Gr", 0, 1.0), program=(("Grr", 10.0),)),
])
def test_spat_from_signal_rejects_inconsistent_input(kwargs):
    with pytest.raises(ValueError):
        spat_from_signal(now=0.0, intersection_id=1, **kwargs)


def test_cooperative_stations_send_at_the_dcc_rate_even_when_steady(params):
    scheduler = BsmScheduler(params)
    states = [_ego(t, x=25.0 * t, speed=25.0) for t in _ticks(2.0)]
    cooperative = [s.header.stamp for s in states if scheduler.should_send(s.header.stamp, s, 0.1, True)]
    assert len(cooperative) == len(states)                      # every 100 ms tick on a free channel
    busy = BsmScheduler(params)
    sent = [s for s in states if busy.should_send(s.header.stamp, s, 0.7, True)]
    assert len(sent) < len(states) / 2                          # congestion control still gates
