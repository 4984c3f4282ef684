"""Launch the node graph as separate DDS processes and supervise them.

    python -m cav_stack.app.dds_launch drive [--scenario NAME] [--seed S] [--out DIR]
        [--duration SECONDS] [--controller NAME] [--sumo-backend libsumo|traci] [--domain-id N]
        [--step-timeout SECONDS] [--kill NAME@SECONDS ...] [--backend dds|ros2] [--dds-config FILE]

The processes are the ones ``launch/drive.launch.py`` starts, from the same data
(:mod:`cav_stack.app.graph`): the simulator process (SUMO, the sim bridge, the metrics
recorder, ``/clock``) and, for each CAV of the scenario, one process per node of the
controller configuration under the CAV's namespace with the graph's parameter files and
remappings. They run in lockstep on simulated time (:mod:`~cav_stack.runtime.dds_lockstep`), each
node with the seed and creation index it has in the in-process run.

Supervision: a process that exits while the run goes on is reported on stderr at once; when
the simulator process ends, the others are stopped; Ctrl-C (SIGINT) or SIGTERM stops every
process (SIGINT first, SIGKILL after ``STOP_TIMEOUT_S``). The exit code is the simulator's
(0: collision-free run, 1: collision or failure), 1 if a node process died, 130 on Ctrl-C.

Fault injection: ``--kill /cav_0/perception_node@10`` has the simulator process SIGKILL that
node process once the step at 10 s of simulated time is done
(:mod:`~cav_stack.runtime.dds_fault`); the lockstep drops it after ``--step-timeout`` wall
seconds and the run goes on without it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from cav_stack.app.exit_codes import ExitCode, fail
from cav_stack.app.run_args import (CommandLineParser, RunArgumentError, add_run_arguments, check_out_dir,
                                    refuse_flow_cavs, seconds)
from cav_stack.runtime.dds_config import domain_id_argument
from cav_stack.runtime.dds_fault import ProcessKill, UnknownKillTargetError, check_kill_targets, kill_argument
from cav_stack.runtime.dds_lockstep import LockstepTimeouts
from cav_stack.runtime.process_backends import BACKENDS

STOP_TIMEOUT_S = 5.0
POLL_PERIOD_S = 0.1


@dataclass(frozen=True)
class ProcessSpec:
    """One process of a launch: a label (the node's fully qualified name) and its command line."""

    name: str
    argv: tuple[str, ...]


def drive_processes(scenario: str, *, seed: int | None, out_dir: Path, controller: str,
                    domain_id: int, duration_s: float | None = None, sumo_backend: str = "libsumo",
                    radio: str = "dsrc", step_timeout_s: float | None = None,
                    kills: tuple[ProcessKill, ...] = (), backend: str = "dds") -> list[ProcessSpec]:
    """The processes of a closed-loop run of ``scenario`` (simulator process first).

    Builds the scenario's SUMO network into ``out_dir/network`` (the node processes load
    their road map from it; the simulator process finds it there). step_timeout_s: wall
    seconds a node may take for one step before it is dropped (None: the lockstep default);
    kills: node processes the simulator process kills at a simulated time (fault injection);
    backend: the middleware of every process (``dds``: Cyclone DDS, ``ros2``: each an rclpy node).
    """
    from cav_stack.world.scenario import load_scenario
    from cav_stack.app.graph import CONTROLLERS
    from cav_stack.runtime.dds_lockstep import follower_name
    from cav_stack.app.dds_sim_bridge import SIM_BRIDGE_SEED_INDEX
    from cav_stack.core.share import share_path
    from cav_stack.sim.network_build import build_network

    if controller not in CONTROLLERS:
        raise UnknownControllerError(f"unknown controller '{controller}' (known: {', '.join(sorted(CONTROLLERS))})")
    spec = load_scenario(scenario)
    refuse_flow_cavs(spec, backend)
    seed = spec.seed if seed is None else seed
    net_file = build_network(spec.network_dir, out_dir / "network")
    python = sys.executable
    nodes: list[ProcessSpec] = []
    seed_index = SIM_BRIDGE_SEED_INDEX
    for station, cav in enumerate(spec.cavs):
        for rank, node in enumerate(CONTROLLERS[controller], start=1):
            seed_index += 1
            node_type = node.load_class()
            argv = [python, "-m", "cav_stack.app.dds_node", node.executable,
                    "--namespace", cav.id, "--domain-id", str(domain_id), "--seed", str(seed),
                    "--seed-index", str(seed_index), "--clock", "lockstep", "--rank", str(rank),
                    "--net-file", str(net_file), "--station", str(station), "--backend", backend]
            for relative in node.params_files[-1:]:
                argv += ["--params", str(share_path(relative))]
            argv += _scenario_params(spec, node_type)
            for source, target in node.remappings:
                argv += ["--remap", f"{source}:={target}"]
            nodes.append(ProcessSpec(follower_name(cav.id, node_type.node_name), tuple(argv)))
    sim = [python, "-m", "cav_stack.app.dds_sim_bridge", "--scenario", scenario, "--out", str(out_dir),
           "--controller", controller, "--seed", str(seed), "--sumo-backend", sumo_backend,
           "--radio", radio, "--domain-id", str(domain_id), "--backend", backend]
    if duration_s is not None:
        sim += ["--duration", str(duration_s)]
    if step_timeout_s is not None:
        sim += ["--step-timeout", str(step_timeout_s)]
    for kill in kills:
        sim += ["--kill", str(kill)]
    for process in nodes:
        sim += ["--follower", process.name]
    return [ProcessSpec("/sim_bridge", tuple(sim)), *nodes]


def _scenario_params(spec, node_type) -> list[str]:
    """``--param`` arguments with the scenario's parameters of a node (the CAVs' operating domain
    for nodes that take one), as the in-process runner sets them."""
    params_type = node_type.params_type
    if spec.odd is None or params_type is None or "odd" not in {f.name for f in dataclasses.fields(params_type)}:
        return []
    return ["--param", "odd=" + json.dumps(dataclasses.asdict(spec.odd))]


class UnknownControllerError(LookupError):
    """The controller configuration is not in the graph."""


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def child_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with this cav_stack first on PYTHONPATH, so that the
    children run the same package as the launcher, installed or from a source checkout."""
    import cav_stack

    child = dict(os.environ if env is None else env)
    package_root = str(Path(cav_stack.__file__).resolve().parent.parent)
    child["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, child.get("PYTHONPATH", "")) if p)
    return child


def dds_environment(env: dict[str, str], dds_config: str | None = None) -> dict[str, str]:
    """``env`` with the Cyclone DDS configuration of a launched run: the file ``dds_config`` (a
    vehicle's own), else a ``CYCLONEDDS_URI`` already set (tests: loopback only), else the
    configuration matching ROS 2's defaults (:func:`~cav_stack.runtime.dds_config.ros2_default_config`)."""
    from cav_stack.runtime.dds_config import config_uri, ros2_default_config

    out = dict(env)
    if dds_config is not None:
        out["CYCLONEDDS_URI"] = config_uri(dds_config)
    elif "CYCLONEDDS_URI" not in out:
        default = ros2_default_config(out)
        if default is not None:
            out["CYCLONEDDS_URI"] = default
    return out


def _stop(processes: dict[str, subprocess.Popen], timeout: float) -> None:
    """SIGINT every running process, then SIGKILL what is left after ``timeout`` [s]."""
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    give_up = time.monotonic() + timeout
    for process in processes.values():
        try:
            process.wait(max(give_up - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def supervise(specs: list[ProcessSpec], *, env: dict[str, str] | None = None, out: TextIO = sys.stderr,
              stop_timeout: float = STOP_TIMEOUT_S, deadline_s: float | None = None) -> int:
    """Start ``specs`` (the first is the main process), supervise them, return the exit code.

    Each process runs in its own session so that Ctrl-C reaches only the supervisor, which
    then stops them all. env: the children's environment (default: this process's), see
    :func:`child_environment`. deadline_s: wall-clock limit of the whole launch (None: none).
    """
    processes: dict[str, subprocess.Popen] = {}
    reported: set[str] = set()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    main = specs[0].name
    started = time.monotonic()
    try:
        for spec in specs:
            processes[spec.name] = subprocess.Popen(spec.argv, env=child_environment(env), start_new_session=True)
        while processes[main].poll() is None:
            for name, process in processes.items():
                if name != main and name not in reported and process.poll() not in (None, ExitCode.OK):
                    reported.add(name)
                    print(f"launch: process {name} (pid {process.pid}) died with exit code {process.returncode}",
                          file=out, flush=True)
            if deadline_s is not None and time.monotonic() - started > deadline_s:
                print(f"launch: run exceeded {deadline_s:g} s, stopping", file=out, flush=True)
                return ExitCode.FAILURE
            time.sleep(POLL_PERIOD_S)
        code = processes[main].returncode
        died = [name for name in processes if name != main and processes[name].poll() is not None
                and processes[name].returncode != 0]
        return code if code != ExitCode.OK or not died else ExitCode.FAILURE
    except KeyboardInterrupt:
        print("launch: interrupted, stopping all processes", file=out, flush=True)
        return ExitCode.INTERRUPTED
    finally:
        _stop(processes, stop_timeout)
        signal.signal(signal.SIGTERM, previous)


def launch_drive(scenario: str, *, seed: int | None, out_dir: Path, controller: str = "idm_baseline",
                 domain_id: int = 0, duration_s: float | None = None, sumo_backend: str = "libsumo",
                 radio: str = "dsrc", env: dict[str, str] | None = None, deadline_s: float | None = None,
                 step_timeout_s: float | None = None, kills: tuple[ProcessKill, ...] = (),
                 backend: str = "dds", dds_config: str | None = None) -> int:
    """``cav-stack launch drive --backend dds|ros2``: run ``scenario`` with every node in its own process
    (dds_config: Cyclone DDS configuration file of the dds backend, see :func:`dds_environment`)."""
    specs = drive_processes(scenario, seed=seed, out_dir=out_dir, controller=controller, domain_id=domain_id,
                            duration_s=duration_s, sumo_backend=sumo_backend, radio=radio,
                            step_timeout_s=step_timeout_s, kills=kills, backend=backend)
    check_kill_targets(kills, [spec.name for spec in specs[1:]])
    if backend == "dds":
        env = dds_environment(dict(os.environ if env is None else env), dds_config)
    return supervise(specs, env=env, deadline_s=deadline_s)


def add_drive_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``launch drive`` (``cav-stack launch drive``)."""
    parser.add_argument("--backend", choices=BACKENDS, default="dds",
                        help="middleware: dds (Cyclone DDS processes) or ros2 (each process an rclpy node)")
    add_run_arguments(parser, controllers=None, default_controller="idm_baseline",
                      out_help="run directory (default: runs/<scenario>-<backend>-<pid>)")
    parser.add_argument("--domain-id", type=domain_id_argument, default=os.environ.get("ROS_DOMAIN_ID", "0"),
                        help="DDS domain id (default: $ROS_DOMAIN_ID or 0)")
    parser.add_argument("--step-timeout", type=seconds, default=None, metavar="SECONDS",
                        help="wall seconds a node may take for one lockstep step before it is dropped "
                             f"(default: {LockstepTimeouts.step:g})")
    parser.add_argument("--kill", type=kill_argument, action="append", default=[], metavar="NAME@SECONDS",
                        help="fault injection: SIGKILL node process NAME (e.g. /cav_0/perception_node) at SECONDS "
                             "of simulated time (repeat)")
    parser.add_argument("--dds-config", default=None, metavar="FILE",
                        help="Cyclone DDS configuration of the dds backend (default: $CYCLONEDDS_URI, else one "
                             "matching ROS 2's defaults: multicast discovery, localhost only with "
                             "ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST)")


def run_drive(args: argparse.Namespace) -> int:
    """Run ``launch drive`` from parsed arguments (see :func:`add_drive_arguments`)."""
    from cav_stack.core.params import ParamsError
    from cav_stack.world.scenario import UnknownScenarioError
    from cav_stack.sim.network_build import NetworkBuildError
    from cav_stack.sim.sumo import SumoNotAvailableError

    out_dir = args.out or Path("runs") / f"{Path(args.scenario).stem}-{args.backend}-{os.getpid()}"
    try:
        check_out_dir(out_dir)
        return launch_drive(args.scenario, seed=args.seed, out_dir=out_dir, controller=args.controller,
                            domain_id=args.domain_id, duration_s=args.duration, sumo_backend=args.sumo_backend,
                            radio=args.radio, step_timeout_s=args.step_timeout, kills=tuple(args.kill),
                            backend=args.backend, dds_config=args.dds_config)
    except (UnknownScenarioError, UnknownControllerError, ParamsError, UnknownKillTargetError, RunArgumentError,
            NetworkBuildError, ValueError) as exc:
        return fail("launch drive", exc, ExitCode.USAGE)
    except SumoNotAvailableError as exc:
        return fail("launch drive", exc, ExitCode.ENVIRONMENT)


def main(argv: list[str] | None = None) -> int:
    parser = CommandLineParser(prog="cav_stack.app.dds_launch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    add_drive_arguments(commands.add_parser("drive", help="closed-loop run of a scenario, one process per node"))
    return run_drive(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
