"""Post-encroachment time of crossing paths against the analytical time gap at the conflict area."""
import pytest

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.eval.post_encroachment import MAX_PET, PostEncroachment

DT = 0.05
SPEED = 10.0
LENGTH, WIDTH = 4.5, 1.8


def _car(vid, x, y, yaw, edge, is_cav):
    return VehicleTruth(vid, x, y, yaw, SPEED, 0.0, LENGTH, WIDTH, 1.5, edge, 0, 0.0, is_cav=is_cav)


def _crossing(pet_gap, a_is_cav=True, b_is_cav=False, same_lane=False, seconds=14.0):
    """A drives +x through the origin, B drives +y through it; B's front enters the shared square
    [-W/2, W/2]^2 ``pet_gap`` seconds after A's rear left it."""
    observer = PostEncroachment()
    a_leaves = (50.0 + LENGTH / 2 + WIDTH / 2) / SPEED        # A's centre starts at x = -50
    b_start = -WIDTH / 2 - LENGTH / 2 - SPEED * (a_leaves + pet_gap)
    for k in range(round(seconds / DT)):
        t = k * DT
        a = _car("a", -50.0 + SPEED * t, 0.0, 0.0, "e_x", a_is_cav)
        b = _car("b", 0.0, b_start + SPEED * t, 1.5707963267948966, "e_x" if same_lane else "e_y", b_is_cav)
        observer(WorldTruth(t, (a, b)), {})
    return observer.summary()


@pytest.mark.parametrize("gap", [0.6, 1.5, 3.0])
def test_crossing_pet_matches_the_analytical_gap(gap):
    summary = _crossing(gap)
    assert summary["pet_conflicts"] == 1
    # one world step plus one cell of travel is the resolution
    assert summary["min_pet_s"] == pytest.approx(gap, abs=DT + 0.5 / SPEED + 1e-9)
    (event,) = summary["pet_events"]
    assert (event["first"], event["second"]) == ("a", "b")


def test_no_conflict_beyond_the_threshold_without_a_cav_or_in_one_lane():
    assert _crossing(MAX_PET + 1.0, seconds=20.0)["min_pet_s"] is None
    assert _crossing(1.0, a_is_cav=False, b_is_cav=False)["pet_conflicts"] == 0
    assert _crossing(1.0, same_lane=True)["pet_conflicts"] == 0


def test_following_along_one_path_across_an_edge_boundary_is_not_an_encroachment():
    """The edge of a vehicle is where its front bumper is (SUMO): the follower reaches the cells
    around the boundary on the edges its leader was on there."""
    def edge(x):
        return "e1" if x + LENGTH / 2 < 100.0 else "e2"

    observer = PostEncroachment()
    for k in range(300):
        t = k * DT
        lead_x, cav_x = 20.0 + SPEED * t, SPEED * t
        lead = _car("lead", lead_x, 0.0, 0.0, edge(lead_x), False)
        cav = _car("cav", cav_x, 0.0, 0.0, edge(cav_x), True)
        observer(WorldTruth(t, (lead, cav)), {})
    assert observer.summary() == {"min_pet_s": None, "pet_conflicts": 0, "pet_events": []}
