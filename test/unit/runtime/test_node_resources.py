"""Node resources of a node process: what the in-process runner hands, built from parameters."""
import pytest

from cav_stack.app.dds_node import find_node
from cav_stack.core.identity import station_from_namespace
from cav_stack.nodes.idm_baseline_node import IdmBaselineNode
from cav_stack.runtime.node_resources import build_resources


def test_node_resources_are_built_as_the_runner_hands_them(tmp_path):
    pytest.importorskip("libsumo")
    from cav_stack.sim.network_build import build_network
    from cav_stack.world.road_map import RoadMap
    from cav_stack.world.scenario import load_scenario

    net_file = build_network(load_scenario("highway_cut_in").network_dir, tmp_path)
    resources = build_resources(IdmBaselineNode, net_file, station=2, namespace="/cav_0")
    assert set(resources) == {"vehicle", "road_map"}            # what IdmBaselineNode accepts
    assert isinstance(resources["road_map"], RoadMap) and len(resources["road_map"].route_centerline(("hw_0",), 0)) > 1
    v2x_type, _ = find_node("v2x_node")
    assert build_resources(v2x_type, None, station=2, namespace="/cav_0") == {
        "vehicle": build_resources(IdmBaselineNode, None, 0, "")["vehicle"], "station": 2}


def test_station_defaults_to_the_index_in_the_namespace():
    v2x_type, _ = find_node("v2x_node")
    assert build_resources(v2x_type, None, None, "/cav_3")["station"] == 3
    assert [station_from_namespace(ns) for ns in ("/cav_0", "cav_12", "/cav_7/")] == [0, 12, 7]
    with pytest.raises(ValueError, match="no vehicle index"):
        build_resources(v2x_type, None, None, "/lead")
