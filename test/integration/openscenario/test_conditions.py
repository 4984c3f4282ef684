"""Conditions and triggers executed in SUMO: RelativeDistanceCondition and TimeHeadwayCondition (with
rising edges) on SUMO's truth, a StoryboardElementStateCondition with a delay, a trigger of two
condition groups, and a StopTrigger on an element state. Times are cross-checked against the
distances and speeds SUMO reports."""
import pytest

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def recording(run_scenario_file):
    return run_scenario_file("conditions.xosc", 30.0)


def first_time(recording, predicate):
    return next(truth.stamp for truth in recording.truths if predicate(truth))


def stop_time(recording, name):
    """First time [s] an entity that was moving stands still."""
    return first_time(recording, lambda truth: truth.stamp > 0.5 and truth.vehicle(name).speed == 0.0)


def test_relative_distance_condition_fires_when_the_freespace_gap_drops_below_60_m(recording):
    def gap(truth):
        ego, near = truth.vehicle("Ego"), truth.vehicle("Near")
        return abs(near.x - ego.x) - 0.5 * (ego.length + near.length)
    crossed = first_time(recording, lambda truth: gap(truth) < 60.0)
    # Evaluated on the truth of the step before the action acts (one 50 ms step later).
    assert stop_time(recording, "Near") == pytest.approx(crossed + 0.05, abs=0.051)


def test_time_headway_condition_fires_below_5_5_s(recording):
    def headway(truth):
        ego, slow = truth.vehicle("Ego"), truth.vehicle("Slow")
        return (slow.x - ego.x - 0.5 * (ego.length + slow.length)) / ego.speed
    crossed = first_time(recording, lambda truth: headway(truth) < 5.5)
    sped_up = first_time(recording, lambda truth: truth.vehicle("Slow").speed > 20.0)
    assert sped_up == pytest.approx(crossed + 0.05, abs=0.051)


def test_state_condition_with_delay_fires_two_seconds_after_the_end_transition(recording):
    assert stop_time(recording, "After") == pytest.approx(stop_time(recording, "Near") + 2.0, abs=0.11)


def test_either_condition_group_fires(recording):
    # Group 1 (t >= 100 s) never holds; group 2 (SlowGo complete) does, right after Slow sped up.
    sped_up = first_time(recording, lambda truth: truth.vehicle("Slow").speed > 20.0)
    assert stop_time(recording, "Either") == pytest.approx(sped_up + 0.05, abs=0.11)


def test_stop_trigger_on_an_element_state_ends_the_run(recording):
    assert recording.storyboard_done
    assert recording.end() == pytest.approx(stop_time(recording, "After") + 1.0, abs=0.11)
    assert any(e.kind == "storyboard_stop" for e in recording.events)


def test_rising_edge_needs_a_false_to_true_change(recording):
    # SimulationTime >= 0 holds from the first evaluation on: no rising edge, the event never starts.
    assert recording.vehicle("Rising", recording.end()).speed == pytest.approx(10.0)


def test_falling_edge_fires_when_the_condition_stops_holding(recording):
    # SimulationTime < 2 holds until 2 s: the falling edge starts the event then.
    assert stop_time(recording, "Falling") == pytest.approx(2.05, abs=0.051)
