"""Process entry: the simulator process of a DDS run (SUMO, sim bridge, metrics, /clock master).

    python -m cav_stack.runtime.dds_sim_bridge --scenario NAME --out DIR --controller NAME
        --follower NAME ... [--seed S] [--duration SECONDS] [--sumo-backend libsumo|traci]
        [--radio dsrc|cv2x] [--domain-id N] [--step-timeout SECONDS]

Builds the scenario's SUMO world (and its V2X air when the controller has a V2X node), runs
:class:`~cav_stack.nodes.sim_bridge_node.SimBridgeNode` on a ``driven`` DDS runtime with the
metrics recorder as its observer and the mode timeline listening, and drives the lockstep
run (``/clock``) with the named follower processes (fully qualified node names, e.g.
``/cav_0/idm_baseline``) until the scenario's end. Writes the same run directory as the
in-process runner (report.json, trajectories.csv, plot.png). Exit codes: 0 collision-free run,
1 collision or run failure, 2 usage error.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from cav_stack.core.messages import ModeCommand
from cav_stack.eval.mode_timeline import MODE_TOPIC_SUFFIX
from cav_stack.runtime.dds_config import domain_id_argument
from cav_stack.runtime.dds_lockstep import LockstepTimeouts
from cav_stack.runtime.node import Node, NodeContext

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
SIM_BRIDGE_SEED_INDEX = 0
"""The bridge is the first node the in-process runner creates."""


class ModeTimelineNode(Node):
    """Feeds each CAV's ``planning/mode`` to the run's mode timeline (an executor tap in-process)."""

    node_name = "mode_timeline"

    def __init__(self, context: NodeContext, *, cav_ids: tuple[str, ...], timeline: Callable[[str, Any, float], None]):
        super().__init__(context)
        for cav_id in cav_ids:
            topic = f"/{cav_id}{MODE_TOPIC_SUFFIX}"
            self.create_subscription(ModeCommand, topic, lambda msg, t=topic: timeline(t, msg, self.now()))


def run_sim_bridge(scenario: str, *, seed: int | None, out_dir: Path, followers: tuple[str, ...],
                   domain_id: int, controller: str, duration_s: float | None = None, sumo_backend: str = "libsumo",
                   radio: str = "dsrc", timeouts: LockstepTimeouts = LockstepTimeouts()):
    """Run ``scenario`` as the clock master of a DDS run; returns the runner's RunResult.

    controller: the graph configuration the follower processes run (for the report and the
    radio model: the air interface is built when it has a V2X node); radio: its technology.
    The report gains ``dds_dropped_members``: follower processes that stopped answering. Its
    ``v2x.refused`` stays empty: the V2X nodes count refusals in their own processes.
    """
    from cav_stack.control.vehicle_models import load_vehicle_params
    from cav_stack.core.params import load_node_params
    from cav_stack.eval.metrics import RunRecorder
    from cav_stack.eval.mode_timeline import ModeTimeline
    from cav_stack.eval.report import build_report, write_plot, write_report, write_trajectories
    from cav_stack.eval.runner import (
        COMFORT_EXCLUDED_EVENTS, EVENT_WINDOW_AFTER, EVENT_WINDOW_BEFORE, RunResult, TimedWorld, _v2x_summary,
        build_air_interface,
    )
    from cav_stack.eval.scenario import load_scenario
    from cav_stack.nodes.graph import CONTROLLERS
    from cav_stack.nodes.sim_bridge_node import SimBridgeNode, SimBridgeParams
    from cav_stack.runtime.dds_backend import DdsRuntime
    from cav_stack.runtime.dds_lockstep import lead, run_master
    from cav_stack.share import share_path
    from cav_stack.sim.sumo import SumoWorld

    spec = load_scenario(scenario)
    seed = spec.seed if seed is None else seed
    duration = spec.duration if duration_s is None else duration_s
    out_dir.mkdir(parents=True, exist_ok=True)
    vehicle = load_vehicle_params(share_path("controllers", "vehicle.yaml"))
    bridge_params = load_node_params(share_path("controllers", "sim_bridge.yaml"), "sim_bridge", SimBridgeParams)
    cav_routes = {cav.id: tuple(cav.route) for cav in spec.cavs}
    recorder = RunRecorder(tuple(cav_routes))
    timeline = ModeTimeline()
    uses_v2x = any(node.executable == "v2x_node" for node in CONTROLLERS.get(controller, ()))
    wall_start = time.perf_counter()
    runtime = DdsRuntime(domain_id, clock="driven", seed=seed, deliver_all=True)
    try:
        with SumoWorld(spec, seed, backend=sumo_backend, cache_dir=out_dir / "network") as sumo:
            initial = sumo.start()
            world = TimedWorld(sumo)
            air = build_air_interface(spec, sumo, radio) if uses_v2x else None
            runtime.set_time(world.time)
            channel = lead(runtime)
            runtime.add_node(SimBridgeNode, params=bridge_params, seed_index=SIM_BRIDGE_SEED_INDEX, world=world,
                             initial_truth=initial, cav_routes=cav_routes, vehicle=vehicle, observers=(recorder,),
                             air=air)
            runtime.add_node(ModeTimelineNode, cav_ids=tuple(cav_routes), timeline=timeline)
            dropped = run_master(runtime, channel, followers=followers, end_time=world.time + duration,
                                 timeouts=timeouts)
            sim_time = runtime.now() - initial.stamp
            windows = tuple((e.time - EVENT_WINDOW_BEFORE, e.time + EVENT_WINDOW_AFTER) for e in sumo.event_log
                            if e.kind in COMFORT_EXCLUDED_EVENTS)
    finally:
        runtime.close()
    report = build_report(recorder, scenario=spec.name, seed=seed, controller=controller,
                          sim_time_s=sim_time, wall_time_s=time.perf_counter() - wall_start,
                          extra={"world_step_wall_s": world.step_wall_s, "world_steps": world.steps,
                                 "v2x": _v2x_summary(air, runtime),
                                 "modes": timeline.summary(sim_time) if timeline.switches else None,
                                 "dds_dropped_members": dropped},
                          event_windows=windows)
    write_report(report, out_dir)
    write_trajectories(recorder, out_dir)
    write_plot(recorder, out_dir, f"{spec.name} (seed {seed}, {controller}, DDS)")
    return RunResult(out_dir, report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cav_stack.runtime.dds_sim_bridge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", required=True, help="scenario name or YAML path")
    parser.add_argument("--out", type=Path, required=True, help="run directory")
    parser.add_argument("--follower", action="append", default=[], metavar="NAME",
                        help="fully qualified name of a node process taking part (repeat)")
    parser.add_argument("--controller", required=True, help="controller the node processes run (report label)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="simulated duration")
    parser.add_argument("--sumo-backend", choices=("libsumo", "traci"), default="libsumo")
    parser.add_argument("--radio", choices=("dsrc", "cv2x"), default="dsrc", help="V2X radio model")
    parser.add_argument("--domain-id", type=domain_id_argument, default=os.environ.get("ROS_DOMAIN_ID", "0"))
    parser.add_argument("--step-timeout", type=float, default=LockstepTimeouts.step,
                        help="wall seconds a node may take for one step before it is dropped")
    return parser


def main(argv: list[str] | None = None) -> int:
    from cav_stack.core.params import ParamsError
    from cav_stack.eval.scenario import UnknownScenarioError
    from cav_stack.runtime.dds_backend import interrupt_on_sigterm
    from cav_stack.runtime.dds_import import DdsUnavailableError
    from cav_stack.runtime.dds_lockstep import LockstepError
    from cav_stack.sim.sumo import SumoNotAvailableError

    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.step_timeout <= 0.0:
        parser.error(f"--step-timeout must be > 0 s, got {args.step_timeout}")
    prog = "cav_stack dds sim bridge"
    interrupt_on_sigterm()
    try:
        result = run_sim_bridge(args.scenario, seed=args.seed, out_dir=args.out, followers=tuple(args.follower),
                                domain_id=args.domain_id, controller=args.controller, duration_s=args.duration,
                                sumo_backend=args.sumo_backend, radio=args.radio,
                                timeouts=LockstepTimeouts(step=args.step_timeout))
    except (UnknownScenarioError, ParamsError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (SumoNotAvailableError, DdsUnavailableError, LockstepError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    report = result.report
    print(f"collisions: {report['collisions']}  mean speed: {report['mean_speed_mps']:.1f} m/s  "
          f"report: {result.out_dir / 'report.json'}")
    return EXIT_OK if report["collisions"] == 0 else EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
