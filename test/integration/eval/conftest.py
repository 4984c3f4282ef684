"""Fixtures of the evaluation integration tests: a closed-loop run recorded to MCAP."""
from __future__ import annotations

import pytest

pytest.importorskip("libsumo")
pytest.importorskip("mcap_ros2")


def _record_run(scenario_name: str, controller: str, seconds: float, path, cache_dir):
    """Run ``scenario_name`` for ``seconds`` with ``controller`` as the runner does (SUMO world,
    bridge, one controller graph per CAV) with a TopicRecorder tapping the executor; return the
    recorder (closed) and the executor."""
    from cav_stack.control.vehicle_models import load_vehicle_params
    from cav_stack.core.params import load_node_params
    from cav_stack.eval.recording import TopicRecorder, run_metadata
    from cav_stack.world.scenario import load_scenario
    from cav_stack.app.graph import add_controller
    from cav_stack.nodes.sim_bridge_node import SimBridgeNode, SimBridgeParams
    from cav_stack.runtime.executor import InProcessExecutor
    from cav_stack.core.share import share_path
    from cav_stack.sim.sumo import SumoWorld

    spec = load_scenario(scenario_name)
    vehicle = load_vehicle_params(share_path("controllers", "vehicle.yaml"))
    bridge = load_node_params(share_path("controllers", "sim_bridge.yaml"), "sim_bridge", SimBridgeParams)
    routes = {cav.id: tuple(cav.route) for cav in spec.cavs}
    recorder = TopicRecorder(path, run_metadata(spec.name, controller, spec.seed, tuple(routes)))
    with SumoWorld(spec, spec.seed, cache_dir=cache_dir) as world, recorder:
        initial = world.start()
        executor = InProcessExecutor(spec.seed, start_time=world.time)
        executor.add_tap(recorder)
        executor.add_node(SimBridgeNode, params=bridge, world=world, initial_truth=initial, cav_routes=routes,
                          vehicle=vehicle)
        for station, cav_id in enumerate(routes):
            add_controller(executor, controller, cav_id, vehicle=vehicle, road_map=world.road_map(), station=station)
        executor.spin_until(world.time + seconds)
    return recorder, executor


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory):
    """Network cache shared by the session."""
    return tmp_path_factory.mktemp("eval-cache")


@pytest.fixture(scope="session")
def record_run():
    """``record_run(scenario, controller, seconds, path, cache_dir)`` -> (recorder, executor)."""
    return _record_run
