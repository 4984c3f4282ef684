"""Stop lines and light states along a route; the human-like signal rule of the IDM baseline;
GLOSA at an open green; the stop count of the report."""
import pytest

from cav_stack.control.idm_baseline import IdmParams, idm_acceleration, signal_leader
from cav_stack.core.messages import Header, SignalPhaseWindow, SignalTiming, SignalTimingList
from cav_stack.eval.metrics import count_stops
from cav_stack.planning.eco_approach import GreenWindow, advise_speed
from cav_stack.planning.signals import StopLine, next_stop_line, state_at, timing_of

IDM = IdmParams(desired_speed=13.89, time_gap=1.5, standstill_gap=2.0, max_accel=1.5, comfortable_decel=2.0,
                max_decel=6.0, exponent=4.0, lookahead_time=1.0, min_lookahead=6.0)
LINES = [("J1", 11, 392.7), ("J2", 11, 742.7)]


def test_next_stop_line_is_the_first_strictly_ahead_of_the_front_bumper():
    assert next_stop_line(LINES, 100.0) == StopLine("J1", 11, 392.7)
    assert next_stop_line(LINES, 392.7) == StopLine("J2", 11, 742.7)
    assert next_stop_line(LINES, 800.0) is None


def test_state_at_picks_the_covering_phase_and_timing_of_matches_group():
    timing = SignalTiming("J1", 11, (SignalPhaseWindow("red", 10.0, 40.0), SignalPhaseWindow("green", 40.0, 70.0)))
    timings = SignalTimingList(Header(0.0, "map"), (SignalTiming("J1", 3, ()), timing))
    assert timing_of(timings, StopLine("J1", 11, 1.0)) is timing
    assert timing_of(timings, StopLine("J2", 11, 1.0)) is None
    assert state_at(timing, 39.9) == "red" and state_at(timing, 40.0) == "green"
    assert state_at(timing, 70.0) is None and state_at(timing, 5.0) is None


def test_red_is_a_stopped_leader_at_the_line_and_idm_stops_before_it():
    leader = signal_leader("red", 60.0, 13.0, IDM, committed=False)
    assert leader.gap == 60.0 and leader.speed == 0.0
    assert idm_acceleration(13.0, leader, IDM) < -1.0
    # integrate the IDM behind the virtual leader: it comes to rest before the line, never past it
    s, v, dt = 0.0, 13.0, 0.05
    for _ in range(int(60 / dt)):
        a = idm_acceleration(v, signal_leader("red", 60.0 - s, v, IDM, False), IDM)
        v = max(v + a * dt, 0.0)
        s += v * dt
    assert v < 0.1 and 60.0 - IDM.standstill_gap - 1.0 < s < 60.0


def test_yellow_stops_only_when_comfortable_and_red_too_close_is_passed():
    # 13 m/s: comfortable stop needs 42.25 m at 2 m/s^2, hardest one 14.1 m at 6 m/s^2
    assert signal_leader("yellow", 50.0, 13.0, IDM, False) is not None
    assert signal_leader("yellow", 35.0, 13.0, IDM, False) is None
    assert signal_leader("red", 20.0, 13.0, IDM, False) is not None
    assert signal_leader("red", 10.0, 13.0, IDM, False) is None
    assert signal_leader("red", 50.0, 13.0, IDM, committed=True) is None
    assert signal_leader("green", 50.0, 13.0, IDM, False) is None
    assert signal_leader(None, 50.0, 13.0, IDM, False) is None


def test_glosa_goes_on_an_open_green_even_when_standing_close_to_the_line():
    advice = advise_speed(7.0, 0.0, 13.89, 5.0, (GreenWindow(-0.1, 29.9),), 2.0)
    assert not advice.stop and advice.speed == pytest.approx(5.0)
    # a green starting later still keeps the start margin: arriving before start + margin is refused
    later = advise_speed(100.0, 13.89, 13.89, 5.0, (GreenWindow(10.0, 40.0),), 2.0)
    assert later.arrival_time >= 12.0 - 1e-9


@pytest.mark.parametrize("speeds, stops", [
    ([0.0, 0.0, 0.2], 0),                       # standing at the start is no stop
    ([5.0, 3.0, 0.4, 0.0, 0.3, 0.45, 0.2], 1),  # creeping below 1 m/s does not restart the count
    ([5.0, 0.4, 2.0, 0.3, 8.0, 0.0], 3),
    ([10.0, 0.6, 0.6, 10.0], 0),
])
def test_count_stops(speeds, stops):
    assert count_stops(speeds) == stops


def test_glosa_keeps_a_window_a_slowing_car_can_only_make_a_little_below_min_speed():
    # 100 m to go, green in 19..50 s (+2 s margin): 100 / 21 = 4.76 m/s < 5 m/s is still taken ...
    advice = advise_speed(100.0, 9.0, 13.89, 5.0, (GreenWindow(19.0, 50.0),), 2.0)
    assert not advice.stop and advice.speed == pytest.approx(100.0 / 21.0)
    # ... but not a crawl below half of it: that is a stop at the line
    crawl = advise_speed(50.0, 9.0, 13.89, 5.0, (GreenWindow(30.0, 50.0),), 2.0)
    assert crawl.stop and crawl.stop_distance == 50.0
