"""Mode selection: degradation, hysteresis, failures, takeover, eco-approach, lane change."""
from itertools import pairwise
import numpy as np
import pytest

from cav_stack.core.messages import DrivingMode, Header, LinkQuality
from cav_stack.core.params import load_node_params
from cav_stack.planning.eco_approach import GreenWindow, advise_speed
from cav_stack.planning.mode import (LaneOption, LeaderInfo, ModeInputs, ModeSelector,
                                     SignalAhead)
from cav_stack.nodes.mode_selector_node import ModeSelectorNodeParams


@pytest.fixture
def params(repo_root):
    return load_node_params(repo_root / "controllers" / "mode_selector.yaml", "mode_selector",
                            ModeSelectorNodeParams).selector


def link(pdr, t, latency=0.02, age=0.1):
    return LinkQuality(Header(t, "map"), 1, pdr, latency, age)


def run(selector, pdr_of_t, duration, dt=0.1, **extra):
    modes = []
    for k in range(int(duration / dt)):
        t = k * dt
        leader = LeaderInfo(1, 20.0, 25.0, link(pdr_of_t(t), t))
        modes.append(selector.step(ModeInputs(now=t, ego_speed=25.0, speed_limit=30.0, leader=leader, **extra)).mode)
    return modes


def test_cacc_after_dwell_then_acc_at_once_when_link_fails(params):
    selector = ModeSelector(params)
    modes = run(selector, lambda t: 1.0 if t < 20.0 else max(0.0, 1.0 - (t - 20.0) / 5.0), 30.0)
    first_cacc = modes.index(DrivingMode.CACC) * 0.1
    assert first_cacc == pytest.approx(params.upgrade_dwell, abs=0.15)
    drop = next(s for s in selector.log if s.mode is DrivingMode.ACC and s.previous is DrivingMode.CACC)
    # PDR ramps 1 -> 0 over 5 s from t=20: it crosses the exit threshold at 20 + 5 (1 - exit)
    assert drop.time == pytest.approx(20.0 + 5.0 * (1.0 - params.cacc_exit_pdr), abs=0.15)
    assert "PDR" in drop.reason


def test_fluctuating_link_does_not_chatter(params):
    rng = np.random.default_rng(3)
    selector = ModeSelector(params)
    def pdr(t: float) -> float:
        return float(rng.uniform(0.3, 0.7))
    modes = run(selector, pdr, 120.0)
    switches = sum(1 for a, b in pairwise(modes) if a is not b)
    assert switches / 2.0 <= 2.0                       # per minute over 2 min
    assert DrivingMode.CACC not in modes


def test_link_quality_near_the_threshold_respects_hysteresis(params):
    selector = ModeSelector(params)
    def pdr(t: float) -> float:
        return 0.95 if t < 10.0 else (0.8 if int(t) % 2 else 0.92)
    modes = run(selector, pdr, 40.0)
    assert modes[-1] is DrivingMode.CACC
    assert sum(1 for a, b in pairwise(modes) if a is not b) == 1


def test_latency_and_age_of_information_also_degrade(params):
    selector = ModeSelector(params)
    for k in range(100):
        selector.step(ModeInputs(k * 0.1, 25.0, 30.0, LeaderInfo(1, 20.0, 25.0, link(1.0, k * 0.1))))
    assert selector.mode is DrivingMode.CACC
    command = selector.step(ModeInputs(10.0, 25.0, 30.0, LeaderInfo(1, 20.0, 25.0, link(1.0, 10.0, age=2.0))))
    assert command.mode is DrivingMode.ACC and "age of information" in command.reason
    assert params.cacc_time_gap < command.time_gap < params.acc_time_gap      # opening, gradually


def test_sensor_failure_gives_minimal_risk_until_recovered_for_dwell(params):
    selector = ModeSelector(params)
    command = selector.step(ModeInputs(0.0, 25.0, 30.0, sensors_healthy=False))
    assert command.mode is DrivingMode.MINIMAL_RISK and command.target_speed == 25.0    # no speed-up
    # stop line where braking at minimal_risk_decel after the onset ends, fixed on the road
    first = 25.0 * params.minimal_risk_onset + 25.0 ** 2 / (2 * params.minimal_risk_decel)
    assert command.stop_distance == pytest.approx(first)
    later = selector.step(ModeInputs(0.5, 24.0, 30.0, sensors_healthy=False))
    assert later.stop_distance == pytest.approx(first - 24.0 * 0.5)
    assert selector.step(ModeInputs(1.0, 20.0, 30.0)).mode is DrivingMode.MINIMAL_RISK
    assert selector.step(ModeInputs(1.0 + params.recovery_dwell + 0.1, 20.0, 30.0)).mode is DrivingMode.CRUISE
    bad_fix = selector.step(ModeInputs(20.0, 20.0, 30.0, localization_sigma=params.max_localization_sigma * 2))
    assert bad_fix.mode is DrivingMode.MINIMAL_RISK and "localisation" in bad_fix.reason


def test_a_stop_request_gives_a_minimal_risk_stop_until_withdrawn_for_dwell(params):
    selector = ModeSelector(params)
    assert selector.step(ModeInputs(0.0, 25.0, 30.0)).mode is DrivingMode.CRUISE
    command = selector.step(ModeInputs(0.1, 25.0, 30.0, stop_requested=True))
    assert command.mode is DrivingMode.MINIMAL_RISK and command.reason == "stop requested"
    assert command.stop_distance == pytest.approx(25.0 * params.minimal_risk_onset
                                                  + 25.0 ** 2 / (2 * params.minimal_risk_decel))
    assert selector.step(ModeInputs(5.0, 5.0, 30.0)).mode is DrivingMode.MINIMAL_RISK        # withdrawn: dwell
    assert selector.step(ModeInputs(5.1 + params.recovery_dwell, 0.0, 30.0)).mode is DrivingMode.CRUISE


def test_takeover_request_leads_the_exit_by_at_least_10_s_and_escalates(params):
    selector = ModeSelector(params)
    speed, exit_at = 25.0, 1000.0
    raised, levels, position = None, [], 0.0
    for k in range(600):
        t = k * 0.1
        command = selector.step(ModeInputs(t, speed, 30.0, odd_exit_distance=exit_at - position))
        if command.mode is DrivingMode.TAKEOVER_REQUEST and raised is None:
            raised = t
        levels.append(selector.takeover_level)
        if command.mode is DrivingMode.MINIMAL_RISK:
            speed = max(0.0, speed - params.minimal_risk_decel * 0.1)
        position += speed * 0.1
    assert raised is not None and (exit_at / 25.0 - raised) >= 10.0
    assert max(levels) == params.takeover_levels
    assert selector.mode is DrivingMode.MINIMAL_RISK     # nobody took over
    assert speed == 0.0 and position < exit_at           # stopped before leaving the domain


def test_driver_taking_over_ends_in_manual(params):
    selector = ModeSelector(params)
    selector.step(ModeInputs(0.0, 25.0, 30.0, odd_exit_distance=300.0))
    assert selector.mode is DrivingMode.TAKEOVER_REQUEST
    assert selector.step(ModeInputs(2.0, 25.0, 30.0, odd_exit_distance=250.0, driver_took_over=True)).mode \
        is DrivingMode.MANUAL


def test_eco_approach_advises_a_green_arrival_or_a_stop(params):
    selector = ModeSelector(params)
    windows = (GreenWindow(12.0, 40.0),)
    command = selector.step(ModeInputs(0.0, 15.0, 15.0, signal=SignalAhead(150.0, windows)))
    assert command.mode is DrivingMode.ECO_APPROACH and command.stop_distance is None
    arrival = 150.0 / command.target_speed
    assert 12.0 + params.eco_margin <= arrival <= 40.0 - params.eco_margin
    stop = selector.step(ModeInputs(0.1, 15.0, 15.0, signal=SignalAhead(50.0, (GreenWindow(60.0, 80.0),))))
    assert stop.stop_distance == pytest.approx(50.0)


def test_glosa_prefers_the_smallest_speed_change():
    advice = advise_speed(200.0, 14.0, 16.0, 5.0, (GreenWindow(0.0, 10.0), GreenWindow(30.0, 60.0)), 1.0)
    assert not advice.stop and advice.speed == pytest.approx(200.0 / 31.0)      # earliest arrival inside the 2nd green
    keep = advise_speed(100.0, 14.0, 16.0, 5.0, (GreenWindow(0.0, 20.0),), 1.0)
    assert keep.speed == pytest.approx(14.0)


def test_lane_change_runs_to_completion(params):
    selector = ModeSelector(params)
    command = selector.step(ModeInputs(0.0, 25.0, 30.0, lane_option=LaneOption(3.2, 0.5)))
    assert command.mode is DrivingMode.LANE_CHANGE and command.target_lane_offset == 3.2
    assert selector.step(ModeInputs(1.0, 25.0, 30.0)).mode is DrivingMode.LANE_CHANGE
    assert selector.step(ModeInputs(5.0, 25.0, 30.0, lane_change_done=True)).mode is DrivingMode.CRUISE
    assert [s.mode for s in selector.log] == [DrivingMode.LANE_CHANGE, DrivingMode.CRUISE]


def test_params_reject_inverted_hysteresis(params):
    from dataclasses import replace
    with pytest.raises(ValueError, match="hysteresis"):
        replace(params, cacc_exit_pdr=0.95)
    with pytest.raises(ValueError, match="10 s"):
        replace(params, takeover_lead_time=5.0)


def test_time_gap_opens_gradually_when_cacc_degrades(params):
    selector = ModeSelector(params)
    gaps = []
    for k in range(300):
        t = k * 0.1
        pdr = 1.0 if t < 10.0 else 0.0
        gaps.append(selector.step(ModeInputs(t, 25.0, 30.0, LeaderInfo(1, 20.0, 25.0, link(pdr, t)))).time_gap)
    kept = (20.0 - params.standstill_gap) / 25.0        # the gap the car already keeps: 0.68 s
    assert gaps[0] == pytest.approx(kept)
    dwell = round(params.upgrade_dwell / 0.1)
    assert gaps[:dwell] == pytest.approx([kept] * dwell)   # not opened while the CACC upgrade waits
    steps = [abs(b - a) for a, b in pairwise(gaps)]
    assert max(steps) <= params.time_gap_rate * 0.1 + 1e-9
    assert gaps[95] == pytest.approx(params.cacc_time_gap)
    assert gaps[-1] == pytest.approx(params.acc_time_gap)


def test_a_car_joining_traffic_opens_its_gap_from_the_one_it_keeps(params):
    """A car inserted 0.74 s behind an unconnected leader (a CAV entering a flow) does not brake
    to open the ACC gap at once: the gap starts at the kept 0.74 s and opens at time_gap_rate.
    Without a leader at the start there is nothing to keep: the ACC gap is passed on."""
    selector = ModeSelector(params)
    assert selector.step(ModeInputs(0.0, 27.0, 33.0)).time_gap == params.acc_time_gap
    gap = params.standstill_gap + 0.74 * 27.0
    gaps = [selector.step(ModeInputs(0.1 * k, 27.0, 33.0, LeaderInfo(4, gap, 27.0))).time_gap for k in range(1, 80)]
    assert gaps[0] == pytest.approx(0.74)
    assert gaps[10] == pytest.approx(0.74 + 10 * 0.1 * params.time_gap_rate)
    assert gaps[-1] == pytest.approx(params.acc_time_gap)
    late = ModeSelector(params)
    late.step(ModeInputs(0.0, 27.0, 33.0, LeaderInfo(4, 8.0, 27.0)))      # closer than the CACC gap
    assert late.step(ModeInputs(0.1, 27.0, 33.0, LeaderInfo(4, 8.0, 27.0))).time_gap == pytest.approx(
        params.cacc_time_gap + 0.1 * params.time_gap_rate)


def test_lane_change_near_a_signal_keeps_to_its_advice(params):
    selector = ModeSelector(params)
    red = SignalAhead(60.0, (GreenWindow(80.0, 110.0),))        # unreachable green: stop at the line
    command = selector.step(ModeInputs(0.0, 12.0, 14.0, signal=red, lane_option=LaneOption(3.2, 0.5)))
    assert command.mode is DrivingMode.LANE_CHANGE and command.target_lane_offset == 3.2
    assert command.stop_distance == pytest.approx(60.0) and command.target_speed <= 12.0   # no speed-up
    green = SignalAhead(150.0, (GreenWindow(12.0, 40.0),))
    during = selector.step(ModeInputs(0.1, 12.0, 14.0, signal=green))
    assert during.mode is DrivingMode.LANE_CHANGE and during.stop_distance is None
    assert 12.0 + params.eco_margin <= 150.0 / during.target_speed <= 40.0 - params.eco_margin


def test_driver_holding_the_controls_is_manual_even_when_the_automation_loses_its_inputs(params):
    # a driver override (or the world driving the car after a handover) disengages the automation:
    # the perception input falling silent then is no reason for a minimal-risk stop
    selector = ModeSelector(params)
    assert selector.step(ModeInputs(0.0, 25.0, 30.0)).mode is DrivingMode.CRUISE
    command = selector.step(ModeInputs(0.1, 25.0, 30.0, driver_took_over=True))
    assert command.mode is DrivingMode.MANUAL and command.reason == "driver in control"
    assert selector.step(ModeInputs(0.6, 25.0, 30.0, driver_took_over=True, sensors_healthy=False)).mode \
        is DrivingMode.MANUAL
    assert [s.mode for s in selector.log] == [DrivingMode.MANUAL]


def test_unanswered_takeover_request_stops_before_the_exit_with_the_braking_onset(params):
    # closed loop on a point mass: braking at minimal_risk_decel starts minimal_risk_onset after the
    # stop begins and ends at the commanded stop line, which must lie standstill_gap before the exit
    selector = ModeSelector(params)
    dt, speed, position, exit_at = 0.1, 30.0, 0.0, 700.0
    stop_line, braking_from, decel = None, None, None
    for k in range(600):
        t = k * dt
        command = selector.step(ModeInputs(t, speed, 33.0, odd_exit_distance=exit_at - position))
        if command.mode is DrivingMode.MINIMAL_RISK and stop_line is None:
            stop_line, braking_from = position + command.stop_distance, t + params.minimal_risk_onset
        if braking_from is not None and t >= braking_from - 1e-9 and decel is None:
            decel = speed ** 2 / (2.0 * (stop_line - position))
        if decel is not None:
            speed = max(speed - decel * dt, 0.0)
        position += speed * dt
    assert selector.mode is DrivingMode.MINIMAL_RISK and "no takeover" in selector.log[-1].reason
    assert stop_line <= exit_at - params.standstill_gap + 1e-9
    assert decel <= params.minimal_risk_decel * 1.05          # no harder than planned for
    assert speed == 0.0 and position <= exit_at - params.standstill_gap + 1.0


def test_unavailable_driver_raises_a_request_then_stops_when_it_runs_out(params):
    # no operating-domain exit ahead: the driver monitoring alone starts the request (UN R157)
    selector = ModeSelector(params)
    dt, speed, trace = 0.1, 25.0, []
    for k in range(int(40.0 / dt)):
        t = k * dt
        command = selector.step(ModeInputs(t, speed, 30.0, driver_available=t < 5.0))
        trace.append((t, command.mode, selector.takeover_level))
        if command.mode is DrivingMode.MINIMAL_RISK:
            speed = max(0.0, speed - params.minimal_risk_decel * dt)
    request = next(t for t, mode, _ in trace if mode is DrivingMode.TAKEOVER_REQUEST)
    stop = next(t for t, mode, _ in trace if mode is DrivingMode.MINIMAL_RISK)
    assert request == pytest.approx(5.0)
    assert "driver unavailable" in selector.log[0].reason
    assert max(level for *_, level in trace) == params.takeover_levels
    assert stop - request == pytest.approx(params.takeover_levels * params.takeover_escalation_interval, abs=dt)
    assert selector.log[-1].reason == "no takeover: request ran out" and speed == 0.0
    assert [s.mode for s in selector.log] == [DrivingMode.TAKEOVER_REQUEST, DrivingMode.MINIMAL_RISK]


def test_available_driver_with_no_exit_ahead_gets_no_request(params):
    selector = ModeSelector(params)
    for k in range(300):
        selector.step(ModeInputs(k * 0.1, 25.0, 30.0, driver_available=True))
    assert selector.mode is DrivingMode.CRUISE and selector.log == []


def test_driver_waking_up_and_taking_over_ends_the_request_in_manual(params):
    selector = ModeSelector(params)
    selector.step(ModeInputs(0.0, 25.0, 30.0, driver_available=False))
    assert selector.mode is DrivingMode.TAKEOVER_REQUEST
    assert selector.step(ModeInputs(3.0, 25.0, 30.0, driver_available=True)).mode is DrivingMode.TAKEOVER_REQUEST
    assert selector.step(ModeInputs(3.1, 25.0, 30.0, driver_took_over=True)).mode is DrivingMode.MANUAL
