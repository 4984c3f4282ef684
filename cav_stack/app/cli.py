"""The ``cav-stack`` command.

Subcommands:
  drive       run a scenario closed loop in SUMO and write a report
  scenarios   list the scenario catalogue
  v2x-pdr     packet delivery ratio of a radio model on a straight highway
  eval        campaigns: scenarios x seeds x controllers in parallel, with a summary and plots
  perception-eval  open-loop tracking figures (MOTA, RMSE) of sensor sets x seeds, as a markdown table
  replay      re-run the stack's nodes on a recording and compare the commands
  node        run one node in its own process (--backend dds|ros2)
  launch      start a node graph with one process per node (launch drive --backend dds|ros2)
Exit codes (cav_stack/app/exit_codes.py): 0 success, 1 the run failed (collision, a scripted event not as
scripted, failed runs), 2 bad input
(arguments, scenario, parameter files, network, output folder), 3 a missing or unreachable dependency
(SUMO, CARLA, Cyclone DDS), 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from cav_stack.app.exit_codes import ExitCode, fail
from cav_stack.app.run_args import CommandLineParser, RunArgumentError, add_run_arguments, check_out_dir



def _progress_printer(label: str):
    started = time.perf_counter()

    def show(sim_time: float, duration: float) -> None:
        width = 30
        done = min(sim_time / duration, 1.0) if duration > 0 else 1.0
        bar = "#" * int(done * width) + "-" * (width - int(done * width))
        wall = time.perf_counter() - started
        print(f"\r{label} [{bar}] {sim_time:6.1f}/{duration:.0f} s simulated, {wall:5.1f} s wall",
              end="" if done < 1.0 else "\n", flush=True)
    return show


def _add_drive(subparsers) -> None:
    from cav_stack.app.runner import controller_names
    from cav_stack.app.world_selection import add_sim_arguments

    parser = subparsers.add_parser(
        "drive", help="run a scenario closed loop in SUMO (headless) and write a report",
        description="Run one scenario closed loop: SUMO drives the traffic, the chosen controller drives "
                    "the CAVs through our vehicle plant. Writes report.json, trajectories.csv and plot.png "
                    "to the run directory.")
    add_run_arguments(parser, controllers=controller_names(), default_controller="stack",
                      out_help="output directory (default: runs/<scenario>-<UTC time>)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="OpenSCENARIO: set a declared parameter (repeatable)")
    parser.add_argument("--ego", default=None, metavar="ENTITY",
                        help="OpenSCENARIO: the entity the stack drives (default: the one with the ALKSController)")
    parser.add_argument("--record", action="store_true",
                        help="also write recording.mcap (ROS 2 CDR, opens in ros2 bag and Foxglove)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--no-shield", dest="shield", action="store_false",
                        help="run without the joint-action shield over the CAVs' lane changes (it still "
                             "watches: the report's shield lists the conflicts it would have resolved)")
    add_sim_arguments(parser)
    parser.set_defaults(handler=_run_drive)


def _run_drive(args) -> int:
    from cav_stack.app.runner import run_scenario
    from cav_stack.core.params import ParamsError
    from cav_stack.sim.carla_client import CarlaConnectionError, CarlaNotAvailableError, CarlaVersionMismatchError
    from cav_stack.sim.network_build import NetworkBuildError
    from cav_stack.sim.sumo import SumoNotAvailableError
    from cav_stack.world.scenario import UnknownScenarioError, load_scenario

    from cav_stack.app.openscenario_runs import SCENARIO_ERRORS, is_openscenario, load_openscenario, parse_params

    prog = "cav-stack drive"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    try:
        if is_openscenario(args.scenario):
            if args.sim != "sumo":
                raise RunArgumentError("OpenSCENARIO files run in SUMO only (--sim sumo): loading their OpenDRIVE "
                                       "road as a CARLA map is not implemented")
            out_dir = args.out or Path("runs") / f"{Path(args.scenario).stem}-{stamp}"
            check_out_dir(out_dir)
            scenario = load_openscenario(args.scenario, parse_params(args.param), args.ego, out_dir / "network")
        elif args.param or args.ego:
            raise RunArgumentError("--param and --ego apply to OpenSCENARIO files (.xosc) only")
        else:
            scenario = load_scenario(args.scenario)
            out_dir = args.out or Path("runs") / f"{scenario.name}-{stamp}"
    except SumoNotAvailableError as exc:
        return fail(prog, exc, ExitCode.ENVIRONMENT)
    except UnknownScenarioError as exc:
        return fail(prog, exc, ExitCode.USAGE)
    except ParamsError as exc:
        return fail(prog, f"invalid scenario: {exc}", ExitCode.USAGE)
    except (RunArgumentError, ValueError, *SCENARIO_ERRORS) as exc:   # the OpenSCENARIO reader's errors
        return fail(prog, exc, ExitCode.USAGE)
    world_factory = None
    if args.sim != "sumo":
        from cav_stack.app.world_selection import open_world

        world_factory = lambda spec, seed, cache: open_world(args, spec, seed, cache)  # noqa: E731
    progress = None if args.quiet else _progress_printer(scenario.name)
    try:
        check_out_dir(out_dir)
        result = run_scenario(scenario, seed=args.seed, out_dir=out_dir, duration_s=args.duration,
                              controller=args.controller, backend=args.sumo_backend, radio=args.radio,
                              progress=progress, world_factory=world_factory, record=args.record,
                              shield=args.shield)
    except (SumoNotAvailableError, CarlaNotAvailableError, CarlaConnectionError, CarlaVersionMismatchError) as exc:
        return fail(prog, exc, ExitCode.ENVIRONMENT)
    except NetworkBuildError as exc:
        return fail(prog, f"invalid network of scenario '{scenario.name}': {exc}", ExitCode.USAGE)
    except (RunArgumentError, ParamsError) as exc:
        return fail(prog, exc, ExitCode.USAGE)
    report = result.report
    print(f"collisions: {report['collisions']}  min TTC: {_fmt(report['min_ttc_s'])} s  "
          f"min headway: {_fmt(report['min_time_headway_s'])} s  mean speed: {_fmt(report['mean_speed_mps'])} m/s  "
          f"real-time factor: {_fmt(report['real_time_factor'])}x")
    print(f"report: {result.out_dir / 'report.json'}")
    if report.get("callback_errors"):
        failed = ", ".join(f"{node} x{count}" for node, count in report["callback_errors"].items())
        return fail("cav-stack drive", f"node callbacks raised (the nodes kept running): {failed}",
                    ExitCode.CALLBACK_ERRORS)
    if report.get("events_not_as_scripted"):
        return fail(prog, "scripted events not as scripted (report: events): "
                    + "; ".join(report["events_not_as_scripted"]), ExitCode.FAILURE)
    return ExitCode.OK if report["collisions"] == 0 else ExitCode.FAILURE


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _add_scenarios(subparsers) -> None:
    parser = subparsers.add_parser("scenarios", help="list the scenario catalogue")
    parser.set_defaults(handler=_run_scenarios)


def _run_scenarios(args) -> int:
    from cav_stack.world.scenario import list_scenarios, load_scenario

    for name in list_scenarios():
        print(f"{name:24s} {load_scenario(name).description}")
    return ExitCode.OK


def _add_v2x_pdr(subparsers) -> None:
    from cav_stack.app import v2x_pdr_command
    from cav_stack.eval import v2x_pdr

    parser = subparsers.add_parser("v2x-pdr", help="PDR against distance of a V2X radio model",
                                   description=v2x_pdr.__doc__)
    v2x_pdr_command.add_arguments(parser)
    parser.set_defaults(handler=v2x_pdr_command.run)


def _add_eval(subparsers) -> None:
    from cav_stack.app import campaign

    parser = subparsers.add_parser("eval", help="run a campaign of scenarios x seeds x controllers",
                                   description=campaign.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    campaign.add_arguments(parser)
    parser.set_defaults(handler=campaign.run)


def _add_perception_eval(subparsers) -> None:
    from cav_stack.app import perception_table

    parser = subparsers.add_parser("perception-eval", help="tracking figures of sensor sets x seeds on a scenario",
                                   description=perception_table.__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    perception_table.add_arguments(parser)
    parser.set_defaults(handler=perception_table.run)


def _add_replay(subparsers) -> None:
    from cav_stack.app import replay

    parser = subparsers.add_parser("replay", help="re-run perception and control on a recording",
                                   description=replay.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    replay.add_arguments(parser)
    parser.set_defaults(handler=replay.run)


def _add_node(subparsers) -> None:
    from cav_stack.app import dds_node

    parser = subparsers.add_parser("node", help="run one node in its own process over DDS",
                                   description="Run one node of the graph in this process. Backend dds: "
                                               "Cyclone DDS, ROS 2 wire-compatible (rt/ topics, CDR).")
    dds_node.add_arguments(parser)
    parser.set_defaults(handler=dds_node.run)


def _add_launch(subparsers) -> None:
    from cav_stack.app import dds_launch

    parser = subparsers.add_parser("launch", help="start a node graph, one process per node")
    graphs = parser.add_subparsers(dest="graph", required=True)
    drive = graphs.add_parser("drive", help="closed-loop scenario run of the drive graph (launch/drive.launch.py)")
    dds_launch.add_drive_arguments(drive)
    drive.set_defaults(handler=dds_launch.run_drive)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(prog="cav-stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_drive(subparsers)
    _add_scenarios(subparsers)
    _add_v2x_pdr(subparsers)
    _add_eval(subparsers)
    _add_perception_eval(subparsers)
    _add_replay(subparsers)
    _add_node(subparsers)
    _add_launch(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
