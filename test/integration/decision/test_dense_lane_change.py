"""Full stack in dense traffic: from the left lane across two lanes to the off-ramp, no collision.

Seed 17 is the scenario's own. Before lane changes were given up when the target lane's gap closed
(MOBIL's safety criterion re-checked until the car leaves its lane), the CAV hit a car while
changing lanes here; before the route's lanes were followed through their connections, the path
stepped sideways where main_1 adds its acceleration lane and fatrop hung on the plan.
"""
from __future__ import annotations


import pytest

from cav_stack.eval.report import cav_rows, read_trajectories
from cav_stack.app.runner import run_scenario

pytest.importorskip("libsumo")


def test_cav_crosses_dense_traffic_to_the_off_ramp_without_collision(tmp_path):
    report = run_scenario("dense_lane_change", seed=17, out_dir=tmp_path, controller="stack").report
    assert report["collisions"] == 0, report["collision_events"]
    last = cav_rows(read_trajectories(tmp_path / "trajectories.csv"), "cav_0")[-1]
    assert last["x"] > 2650.0 and last["y"] < -20.0                    # on the off-ramp, heading away
