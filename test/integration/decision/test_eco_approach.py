"""signalized_corridor: ECO_APPROACH (SPaT over V2X -> GLOSA -> MPC) against the IDM baseline that
stops for red like a human driver, same seed (closed loop, SUMO). Acceptance of the decision-layer
issue: fuel -10 %, stops -50 %, travel time within +5 %."""
import pytest

from cav_stack.eval.runner import run_scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return {controller: run_scenario("signalized_corridor", seed=None, controller=controller,
                                     out_dir=tmp_path_factory.mktemp(controller)).report
            for controller in ("idm_baseline", "stack")}


@pytest.mark.xfail(strict=True, reason="fuel: the MPC's symmetric gap-tracking cost (weight_gap) speeds the CAV "
                                       "towards far leaders, above the advised speed (+12 % fuel); with it off the "
                                       "saving is 6.7 %, short of 10 % (stops and travel time are met)")
def test_eco_approach_saves_fuel_and_stops_at_equal_travel_time(runs):
    base, eco = runs["idm_baseline"]["cavs"]["cav_0"], runs["stack"]["cavs"]["cav_0"]
    assert runs["stack"]["collisions"] == 0
    assert base["route_completed"] and eco["route_completed"]
    assert base["stops"] >= 1
    assert eco["stops"] <= 0.5 * base["stops"]
    assert eco["fuel_kg"] <= 0.9 * base["fuel_kg"]
    assert eco["travel_time_s"] <= 1.05 * base["travel_time_s"]
    assert any(s["mode"] == "eco_approach" for s in runs["stack"]["modes"]["switches"])
