"""The stack against road users it has to yield to, through ``cav-stack drive``: a pedestrian
crossing 60 m ahead at 50 km/h (a scenario of our own), on the ground-truth object list and seen
through the simulated sensors and the tracker, and the R157 4.4.1 cut-in of a bus 10 m
ahead at 10 km/h (30 km/h ego) that it hit at 4.95 m/s before the leader window took the object's
box (the bus turns in about its rear: its corner is in the lane while its centre is 3 m off)."""
import json
from pathlib import Path

import pytest

from cav_stack.app.cli import main

DATA = Path(__file__).resolve().parent / "data"

pytestmark = pytest.mark.timeout(300)


def _drive(tmp_path, scenario, *params, controller="stack"):
    args = ["drive", "--scenario", str(scenario), "--out", str(tmp_path), "--quiet", "--controller", controller]
    for param in params:
        args += ["--param", param]
    assert main(args) == 0
    return json.loads((tmp_path / "report.json").read_text())


def test_stack_yields_in_its_lane_to_a_crossing_pedestrian(tmp_path):
    report = _drive(tmp_path, DATA / "pedestrian_crossing.xosc")
    assert report["collisions"] == 0 and not report["r157"]["collision"]
    assert report["r157"]["min_distance_m"] > 10.0          # bumper to the pedestrian, in the ego's lane
    modes = {switch["mode"] for switch in report["modes"]["switches"]}
    assert "lane_change" not in modes                       # waits in its lane, does not steer round it
    assert "acc" in modes                                   # it braked for the pedestrian


def test_stack_on_its_sensors_yields_in_its_lane_to_a_crossing_pedestrian(tmp_path):
    """LiDAR, radar and camera models -> detections -> tracker -> decision -> MPC. Before pedestrian
    tracks dropped the vehicle prior (the ego's heading), the track could not follow the walk across
    and the ego hit the pedestrian at 13.9 m/s."""
    report = _drive(tmp_path, DATA / "pedestrian_crossing.xosc", controller="stack_sensors")
    assert report["collisions"] == 0 and not report["r157"]["collision"]
    assert report["r157"]["min_distance_m"] > 5.0           # bumper to the pedestrian, in the ego's lane
    modes = {switch["mode"] for switch in report["modes"]["switches"]}
    assert "lane_change" not in modes
    assert "acc" in modes


@pytest.mark.slow
def test_stack_brakes_for_a_bus_turning_in_before_its_centre_is_in_the_lane(alks_templates, tmp_path):
    report = _drive(tmp_path, alks_templates / "alks_scenario_4_4_1_cut_in_no_collision_template.xosc",
                    "Ego_InitSpeed_Ve0_kph=30", "CutInVehicle_Model=bus", "CutInVehicle_InitPosition_RelativeLaneId=1",
                    "CutInVehicle_RelativeInitSpeed_Ve0_Vo0_kph=-20", "CutInVehicle_HeadwayDistanceTrigger_dx0_m=10",
                    "CutInVehicle_LaneChange_MaxLateralVelocity_Vy_mps=1", "CutInVehicle_Acceleration_Rate_mps2=0")
    r157 = report["r157"]
    assert r157["reference_driver"]["collision"]            # the reference driver does hit it
    assert not r157["collision"] and r157["passed"]
