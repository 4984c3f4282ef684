"""Process entry: the simulator process of a DDS run (SUMO, sim bridge, metrics, /clock master).

    python -m cav_stack.app.dds_sim_bridge --scenario NAME --out DIR --controller NAME
        --follower NAME ... [--seed S] [--duration SECONDS] [--sumo-backend libsumo|traci]
        [--radio dsrc|cv2x] [--domain-id N] [--step-timeout SECONDS] [--kill NAME@SECONDS ...]
        [--backend dds|ros2]

Builds the scenario's SUMO world (and its V2X air when the controller has a V2X node), runs
:class:`~cav_stack.nodes.sim_bridge_node.SimBridgeNode` on a ``driven`` DDS runtime with the
metrics recorder as its observer and the mode timeline and V2X receptions listening, and drives
the lockstep run (``/clock``) with the named follower processes (fully qualified node names, e.g.
``/cav_0/idm_baseline``) until the scenario's end. Writes the same run directory as the
in-process runner (report.json, trajectories.csv, plot.png). ``--kill`` injects a fault: the
named follower process gets SIGKILL at that simulated time after the start
(:mod:`~cav_stack.runtime.dds_fault`). Exit codes: 0 collision-free run,
1 collision or run failure, 2 usage error.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any, Protocol

from cav_stack.app.exit_codes import ExitCode, fail
from cav_stack.app.run_args import CommandLineParser, RunArgumentError, add_run_arguments, refuse_flow_cavs, seconds
from cav_stack.runtime.dds_config import domain_id_argument
from cav_stack.runtime.dds_fault import KillSchedule, ProcessKill, check_kill_targets, kill_argument
from cav_stack.runtime.dds_lockstep import LockstepTimeouts
from cav_stack.runtime.node import Node, NodeContext
from cav_stack.runtime.process_backends import BACKENDS

SIM_BRIDGE_SEED_INDEX = 0
"""The bridge is the first node the in-process runner creates."""


class CavTopicTap(Protocol):
    """A run's tap of CAV topics (the mode timeline, the V2X receptions): called with (topic,
    message, time [s]) of the topics ``topic_suffixes`` ((suffix, message type), ...) under each
    CAV's namespace."""

    topic_suffixes: tuple[tuple[str, type], ...]

    def __call__(self, topic: str, msg: Any, now: float) -> None: ...


class CavTopicTapNode(Node):
    """Feeds the CAVs' topics to the run's taps (which the in-process executor taps directly)."""

    node_name = "cav_topic_taps"

    def __init__(self, context: NodeContext, *, cav_ids: tuple[str, ...], taps: tuple[CavTopicTap, ...]):
        super().__init__(context)
        for tap in taps:
            for suffix, msg_type in tap.topic_suffixes:
                for cav_id in cav_ids:
                    topic = f"/{cav_id}{suffix}"
                    def on_message(msg: Any, t: str = topic, tap: CavTopicTap = tap) -> None:
                        tap(t, msg, self.now())
                    self.create_subscription(msg_type, topic, on_message)


def run_sim_bridge(scenario: str, *, seed: int | None, out_dir: Path, followers: tuple[str, ...],
                   domain_id: int, controller: str, duration_s: float | None = None, sumo_backend: str = "libsumo",
                   radio: str = "dsrc", timeouts: LockstepTimeouts = LockstepTimeouts(),
                   kills: tuple[ProcessKill, ...] = (), backend: str = "dds"):
    """Run ``scenario`` as the clock master of a DDS run; returns the runner's RunResult.

    controller: the graph configuration the follower processes run (for the report and the
    radio model: the air interface is built when it has a V2X node); radio: its technology;
    backend: the middleware (``dds`` or ``ros2``: the rclpy node ``/sim_bridge``).
    kills: fault injection (see :class:`~cav_stack.runtime.dds_fault.KillSchedule`). The report
    gains ``dds_dropped_members``: follower processes that stopped answering, and
    ``dds_killed_members`` ([{"name", "time_s"}]): the kills carried out. Its
    ``v2x.refused`` stays empty: the V2X nodes count refusals in their own processes.
    """
    from cav_stack.app.runner import TimedWorld, bridge_resources, finish_run, plan_run
    from cav_stack.nodes.sim_bridge_node import SimBridgeNode
    from cav_stack.runtime.dds_lockstep import lead, run_master
    from cav_stack.runtime.process_backends import open_runtime
    from cav_stack.sim.sumo import SumoWorld

    check_kill_targets(kills, followers)
    plan = plan_run(scenario, seed=seed, out_dir=out_dir, duration_s=duration_s, controller=controller)
    refuse_flow_cavs(plan.spec, backend)
    runtime = open_runtime(backend, domain_id, node_name="sim_bridge", clock="driven", seed=plan.seed,
                           deliver_all=True)
    try:
        with SumoWorld(plan.spec, plan.seed, backend=sumo_backend, cache_dir=out_dir / "network") as sumo:
            initial = sumo.start()
            world = TimedWorld(sumo)
            plan.recorder.watch_lanes(sumo.road_map())
            bridge = bridge_resources(plan, sumo, plan.cav_routes, radio)
            air = bridge["air"]
            runtime.set_time(world.time)
            channel = lead(runtime)
            runtime.add_node(SimBridgeNode, params=plan.bridge_params, seed_index=SIM_BRIDGE_SEED_INDEX,
                             world=world, initial_truth=initial, observers=(plan.recorder,), **bridge)
            runtime.add_node(CavTopicTapNode, cav_ids=tuple(plan.cav_routes), taps=(plan.timeline, plan.receptions))
            schedule = KillSchedule(kills, channel, followers=followers)
            dropped = run_master(runtime, channel, followers=followers, end_time=world.time + plan.duration,
                                 timeouts=timeouts, progress=schedule)
            sim_time = runtime.now() - initial.stamp
    finally:
        runtime.close()
    return finish_run(plan, world=world, sim_time=sim_time, air=air, nodes=[],
                      label="ROS 2" if backend == "ros2" else "DDS",
                      extra={"dds_dropped_members": dropped,
                             "dds_killed_members": [{"name": k.name, "time_s": round(t, 3)} for t, k in schedule.done]})


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(prog="cav_stack.app.dds_sim_bridge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser, controllers=None, default_controller=None, out_help="run directory",
                      scenario_required=True)
    parser.add_argument("--follower", action="append", default=[], metavar="NAME",
                        help="fully qualified name of a node process taking part (repeat)")
    parser.add_argument("--domain-id", type=domain_id_argument, default=os.environ.get("ROS_DOMAIN_ID", "0"))
    parser.add_argument("--step-timeout", type=seconds, default=LockstepTimeouts.step,
                        help="wall seconds a node may take for one step before it is dropped")
    parser.add_argument("--kill", type=kill_argument, action="append", default=[], metavar="NAME@SECONDS",
                        help="fault injection: SIGKILL the follower NAME at SECONDS of simulated time (repeat)")
    parser.add_argument("--backend", choices=BACKENDS, default="dds",
                        help="middleware: dds (Cyclone DDS) or ros2 (rclpy)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from cav_stack.core.params import ParamsError
    from cav_stack.world.scenario import UnknownScenarioError
    from cav_stack.runtime.dds_backend import interrupt_on_sigterm
    from cav_stack.runtime.dds_fault import UnknownKillTargetError
    from cav_stack.runtime.dds_backend import DdsRuntimeError
    from cav_stack.runtime.process_backends import MiddlewareUnavailableError
    from cav_stack.runtime.dds_lockstep import LockstepError
    from cav_stack.sim.network_build import NetworkBuildError
    from cav_stack.sim.sumo import SumoNotAvailableError

    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out is None:
        parser.error("the following arguments are required: --out")
    prog = "cav_stack dds sim bridge"
    interrupt_on_sigterm()
    try:
        result = run_sim_bridge(args.scenario, seed=args.seed, out_dir=args.out, followers=tuple(args.follower),
                                domain_id=args.domain_id, controller=args.controller, duration_s=args.duration,
                                sumo_backend=args.sumo_backend, radio=args.radio,
                                timeouts=LockstepTimeouts(step=args.step_timeout), kills=tuple(args.kill),
                                backend=args.backend)
    except (UnknownScenarioError, ParamsError, UnknownKillTargetError, RunArgumentError, NetworkBuildError) as exc:
        return fail(prog, exc, ExitCode.USAGE)
    except (SumoNotAvailableError, *MiddlewareUnavailableError) as exc:
        return fail(prog, exc, ExitCode.ENVIRONMENT)
    except (LockstepError, DdsRuntimeError) as exc:
        return fail(prog, exc, ExitCode.FAILURE)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return ExitCode.FAILURE
    report = result.report
    print(f"collisions: {report['collisions']}  mean speed: {report['mean_speed_mps']:.1f} m/s  "
          f"report: {result.out_dir / 'report.json'}")
    return ExitCode.OK if report["collisions"] == 0 else ExitCode.FAILURE


if __name__ == "__main__":
    sys.exit(main())
