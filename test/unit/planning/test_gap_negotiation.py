"""Gap negotiation: the asked vehicle accepts within its comfort limits and refuses otherwise (each
refusal with its reason), holds one gap at a time, releases it when the requester is in its lane or
the time is up; the merging vehicle asks its would-be follower and waits after a refusal."""
from __future__ import annotations

import pytest

from cav_stack.control.idm_baseline import IdmParams
from cav_stack.core.messages import GapAnswer, GapRequest, GapResponseReason, Header
from cav_stack.core.path import Polyline
from cav_stack.planning.gap_negotiation import (
    GapAsker, GapYielder, NegotiationParams, RequesterState, requester_on_path,
)

Reason = GapResponseReason

IDM = IdmParams(30.56, 1.5, 3.0, 1.5, 2.0, 6.0, 4.0, 1.0, 6.0)
PARAMS = NegotiationParams(open_time=6.0, comfort_decel=1.5, gap_margin=3.0, request_timeout=1.0,
                           yield_timeout=20.0, retry_after=3.0, answer_hold=1.0)


def yielder() -> GapYielder:
    return GapYielder(PARAMS, IDM, 3.0, 8.0)


def beside(station: int, gap: float, speed: float = 24.0, heard: float = 0.0, in_lane: bool = False):
    return RequesterState(station, gap, speed, in_lane, heard)


def test_accepts_a_gap_it_opens_within_its_comfort_limits_and_slows_for_it():
    y = yielder()
    answer = y.step(0.0, 24.0, [beside(7, 2.0)])
    assert answer == GapAnswer(7, True, Reason.GAP_OPENING.value) and y.holding == 7
    assert 0.0 < y.opening_decel(2.0, 24.0, 24.0) <= PARAMS.comfort_decel
    slower = y.yield_speed(24.0, beside(7, 2.0))
    assert slower < 24.0
    assert y.yield_speed(24.0, beside(7, y.needed_gap(24.0, 24.0) + 1.0)) == 24.0   # open: keep pace


@pytest.mark.parametrize("requester, reason", [
    (beside(7, -20.0), Reason.REQUESTER_NOT_AHEAD.value),                   # behind the responder
    (beside(7, -4.0, speed=18.0), Reason.BEYOND_COMFORT_LIMITS.value),      # beside and much slower: hard braking
])
def test_refusals_carry_their_reason(requester, reason):
    y = yielder()
    assert y.step(0.0, 24.0, [requester]) == GapAnswer(7, False, reason)
    assert y.holding is None and y.log[-1].reason == reason


def test_one_gap_at_a_time_then_released_when_the_requester_is_in_the_lane():
    y = yielder()
    y.step(0.0, 24.0, [beside(7, 2.0)])
    answer = y.step(0.1, 24.0, [beside(7, 3.0, heard=0.1), beside(9, 10.0, heard=0.1)])
    assert answer == GapAnswer(7, True, Reason.GAP_OPENING.value)
    assert (9, False, Reason.YIELDING_TO_ANOTHER.value) in [(e.requester_id, e.accepted, e.reason) for e in y.log]
    released = y.step(5.0, 24.0, [beside(7, 20.0, heard=5.0, in_lane=True)])
    assert released == GapAnswer(7, False, Reason.MERGED.value) and y.holding is None


def test_released_after_the_yield_timeout_and_when_the_request_stops():
    y = yielder()
    y.step(0.0, 24.0, [beside(7, 2.0)])
    assert y.step(20.5, 24.0, [beside(7, 5.0, heard=20.5)]) == GapAnswer(7, False, Reason.TIMED_OUT.value)
    # not re-accepted
    assert y.step(21.0, 24.0, [beside(7, 5.0, heard=21.0)]) == GapAnswer(7, False, Reason.TIMED_OUT.value)
    y2 = yielder()
    y2.step(0.0, 24.0, [beside(7, 2.0)])
    # silent
    assert y2.step(2.0, 24.0, [beside(7, 2.0, heard=0.0)]) == GapAnswer(7, False, Reason.REQUEST_WITHDRAWN.value)
    assert y2.holding is None


def test_requester_on_path_projects_and_moves_the_reported_position_on():
    path = Polyline([(0.0, 0.0), (1000.0, 0.0)])
    request = GapRequest(Header(9.8, "map"), 7, 110.0, 3.6, 25.0)
    state = requester_on_path(path, request, 10.0, 100.0, 4.6, 3.6)
    assert state.gap == pytest.approx(110.0 + 25.0 * 0.2 - 2.3 - 100.0)
    assert not state.in_lane and state.heard == 9.8
    assert requester_on_path(path, GapRequest(Header(10.0, "map"), 7, 110.0, 0.5, 25.0), 10.0, 100.0, 4.6,
                             3.6).in_lane


def test_the_asker_asks_its_would_be_follower_and_waits_after_a_refusal():
    a = GapAsker(PARAMS)
    assert a.step(0.0, True, 7, []) == 7
    assert a.step(0.1, True, 7, [GapAnswer(7, False, Reason.BEYOND_COMFORT_LIMITS.value, responder_id=7)]) is None
    assert a.step(2.0, True, 7, []) is None                        # within retry_after
    assert a.step(3.2, True, 7, []) == 7
    assert a.step(3.3, False, 7, []) is None                       # merge over: stop asking
    roles = [(e.role, e.responder_id, e.accepted, e.reason) for e in a.log]
    assert roles == [("request", 7, None, ""), ("answer", 7, False, Reason.BEYOND_COMFORT_LIMITS.value),
                     ("request", 7, None, "")]
