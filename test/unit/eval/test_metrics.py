"""Ground-truth metrics: box overlap, leader, TTC/headway, collision events."""
import math

import pytest

from cav_stack.core.truth import VehicleTruth, WorldTruth
from cav_stack.eval.metrics import RunRecorder, boxes_overlap, leader_of, summarise_cav
from cav_stack.sim.network_build import build_network
from cav_stack.world.road_map import RoadMap
from cav_stack.world.scenario import scenarios_dir


def car(vid, x, y=0.0, yaw=0.0, speed=20.0, length=4.5, width=1.8):
    return VehicleTruth(vid, x, y, yaw, speed, 0.0, length, width, 1.5, "e", 0, x)


def test_box_overlap_separating_axis():
    assert boxes_overlap(car("a", 0), car("b", 4.4))
    assert not boxes_overlap(car("a", 0), car("b", 4.6))
    assert not boxes_overlap(car("a", 0), car("b", 0, y=1.9))
    rotated = car("b", 3.0, y=1.5, yaw=math.pi / 4)
    assert boxes_overlap(car("a", 0), rotated)


def test_leader_gap_and_corridor():
    ego = car("ego", 0)
    others = (car("far", 80), car("near", 30), car("side", 10, y=3.5), car("oncoming", 20, yaw=math.pi))
    leader = leader_of(ego, (ego,) + others)
    assert leader.vehicle_id == "near" and leader.gap == pytest.approx(25.5)


def test_recorder_counts_one_collision_per_contact_and_computes_ttc():
    recorder = RunRecorder(("ego",))
    for step, lead_x in enumerate((20.0, 10.0, 4.0, 4.0, 30.0, 4.0)):
        truth = WorldTruth(step * 0.1, (car("ego", 0.0, speed=20.0), car("lead", lead_x, speed=10.0)))
        recorder(truth, {})
    assert [c["time_s"] for c in recorder.collisions] == pytest.approx([0.2, 0.5])
    summary = summarise_cav(recorder.traces["ego"])
    assert summary["min_ttc_s"] == pytest.approx(0.0)
    assert summary["min_time_headway_s"] == pytest.approx(0.0)
    assert recorder.traces["ego"].ttc[0] == pytest.approx((20.0 - 4.5) / 10.0)


def test_recorder_traces_entering_cavs_from_their_first_step_and_keeps_them_after_they_leave():
    recorder = RunRecorder((), {"c1": "e"}, entering=frozenset({"c1", "never"}))
    steps = [(), (car("c1", 0.0),), (car("c1", 1.0), car("h", 20.0)), (car("h", 21.0),), (car("h", 22.0),)]
    for step, vehicles in enumerate(steps):
        recorder(WorldTruth(step * 0.1, vehicles), {})
    assert list(recorder.traces) == ["c1"]                   # a CAV never seen has no entry
    trace = recorder.traces["c1"]
    assert trace.time == pytest.approx([0.1, 0.2]) and trace.left_at == pytest.approx(0.3)
    assert trace.leader_id == ["", "h"]
    assert summarise_cav(trace, "e")["route_completed"]
@pytest.fixture(scope="module")
def ramps_map(tmp_path_factory):
    """The on-ramp network (main_1 lane 0 is the acceleration lane; only main_2 lane 0 leads to ramp_out)."""
    return RoadMap.from_net_file(build_network(scenarios_dir() / "networks" / "highway_ramps",
                                               tmp_path_factory.mktemp("net-cache")))


def test_merge_time_from_entering_the_acceleration_lane_to_the_main_lane(ramps_map):
    """merge_time_s on the real on-ramp network: from the first step in main_1 lane 0 (the
    acceleration lane, which ends on the route) to the first step in a lane leading on; the ramp
    and the junction interiors do not count; without the road map nothing is recorded."""
    route = ("ramp_in", "main_1", "main_2", "main_3")
    positions = [("ramp_in", 0), (":m1_0", 0), ("main_1", 0), ("main_1", 0), ("main_1", 0), ("main_1", 1),
                 ("main_1", 1), ("main_1", 0)]
    watched = RunRecorder(("cav",), routes={"cav": route})
    watched.watch_lanes(ramps_map)
    blind = RunRecorder(("cav",), routes={"cav": route})
    for step, (edge, lane) in enumerate(positions):
        truth = WorldTruth(10.0 + step, (VehicleTruth("cav", step, 0.0, 0.0, 20.0, 0.0, 4.5, 1.8, 1.5, edge, lane,
                                                      10.0),))
        watched(truth, {})
        blind(truth, {})
    summary = summarise_cav(watched.traces["cav"])
    assert (summary["merge_needed_s"], summary["merge_time_s"]) == pytest.approx((12.0, 3.0))
    assert summarise_cav(blind.traces["cav"])["merge_time_s"] is None


def test_merge_time_is_none_while_the_cav_has_not_merged(ramps_map):
    recorder = RunRecorder(("cav",), routes={"cav": ("main_0", "main_1", "main_2", "ramp_out")})
    recorder.watch_lanes(ramps_map)
    for step, lane in enumerate((2, 2, 1)):        # main_2 lanes 2 and 1 do not lead to ramp_out
        recorder(WorldTruth(float(step), (VehicleTruth("cav", step, 0.0, 0.0, 20.0, 0.0, 4.5, 1.8, 1.5, "main_2",
                                                       lane, 10.0),)), {})
    summary = summarise_cav(recorder.traces["cav"])
    assert summary["merge_needed_s"] == 0.0 and summary["merge_time_s"] is None
