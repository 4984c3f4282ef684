"""Process entry: run one cav_stack node on the DDS backend.

    python -m cav_stack.app.dds_node NAME [--params FILE] [--param KEY=VALUE ...]
        [--namespace NS] [--remap FROM:=TO ...] [--domain-id N] [--seed S] [--seed-index K]
        [--clock wall|sim|lockstep] [--rank R] [--net-file FILE] [--station K] [--backend dds|ros2]

NAME is a node of the graph (:mod:`cav_stack.app.graph`) by executable (``idm_baseline_node``)
or node name (``idm_baseline``), or a ``module:Class`` path. Without ``--params`` the node's
parameter files from the graph are used; ``--param`` overrides one top-level parameter (the
value is read as YAML, e.g. ``--param rate_hz=10``; a mapping binds to a structured parameter such as
``--param 'odd={exit_edges: [e1], exit_positions: [600.0]}'``). The node gets the resources the
in-process runner hands it, built in this process: ``vehicle`` (controllers/vehicle.yaml),
``road_map`` (from ``--net-file``) and ``station`` (``--station``, the vehicle's index; by default
the index in its namespace, ``cav_<K>``). ``--clock lockstep`` joins the clock master of a
launched run (see :mod:`~cav_stack.runtime.dds_lockstep`). SIGINT and SIGTERM stop the node
cleanly. Exit codes (:mod:`cav_stack.app.exit_codes`): 0 stopped, 1 runtime failure, 2 usage error (unknown
node, bad params), 3 the middleware is not installed.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import typing
from pathlib import Path

from cav_stack.app.exit_codes import ExitCode, fail
from cav_stack.runtime.dds_config import domain_id_argument
from cav_stack.runtime.process_backends import BACKENDS



class UnknownNodeError(LookupError):
    """NAME names no node of the graph and no importable ``module:Class``."""


def find_node(name: str):
    """(node class, graph NodeSpec or None) of a node executable, node name or ``module:Class``."""
    from cav_stack.app.graph import CONTROLLERS, SIM_BRIDGE, NodeSpec

    specs = [spec for chain in CONTROLLERS.values() for spec in chain]
    if name in (SIM_BRIDGE.executable, "sim_bridge"):
        raise UnknownNodeError(f"{name} holds the simulator: run it with `python -m cav_stack.app.dds_sim_bridge`")
    for spec in specs:
        node_type = spec.load_class()
        if name in (spec.executable, node_type.node_name):
            return node_type, spec
    if ":" in name:
        try:
            return NodeSpec(name, "", (), ()).load_class(), None
        except (ImportError, AttributeError) as exc:
            raise UnknownNodeError(f"cannot load node class {name}: {exc}") from exc
    known = sorted({s.executable for s in specs})
    raise UnknownNodeError(f"unknown node '{name}' (known: {', '.join(known)}, or module:Class)")


def parse_remap(text: str) -> tuple[str, str]:
    """``from:=to`` as a pair (ROS remapping syntax)."""
    source, sep, target = text.partition(":=")
    if not sep or not source or not target:
        raise argparse.ArgumentTypeError(f"remapping '{text}' is not of the form from:=to")
    return source, target


def parse_param(text: str) -> tuple[str, object]:
    """``key=value`` as (key, YAML value)."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"parameter '{text}' is not of the form key=value")
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise argparse.ArgumentTypeError(f"parameter '{text}': value is not valid YAML ({exc})") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cav_stack.app.dds_node", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The node process options (for ``cav-stack node NAME --backend dds``)."""
    parser.add_argument("name", metavar="NAME", help="node executable, node name or module:Class")
    parser.add_argument("--params", type=Path, default=None, help="ROS 2 parameter file (default: the graph's)")
    parser.add_argument("--param", type=parse_param, action="append", default=[], metavar="KEY=VALUE",
                        help="override one top-level parameter (YAML value)")
    parser.add_argument("--namespace", default="", help="ROS namespace, e.g. cav_0")
    parser.add_argument("--remap", type=parse_remap, action="append", default=[], metavar="FROM:=TO",
                        help="topic remapping (node topic name := namespace-relative or absolute name)")
    parser.add_argument("--domain-id", type=domain_id_argument, default=os.environ.get("ROS_DOMAIN_ID", "0"),
                        help="DDS domain id (default: $ROS_DOMAIN_ID or 0)")
    parser.add_argument("--seed", type=int, default=0, help="the run's random seed")
    parser.add_argument("--seed-index", type=int, default=0,
                        help="the node's creation index in the equivalent in-process run")
    parser.add_argument("--clock", choices=("wall", "sim", "lockstep"), default="wall",
                        help="wall time, follow /clock, or follow the clock master in lockstep")
    parser.add_argument("--rank", type=int, default=1, help="lockstep rank (1 runs first after the simulator)")
    parser.add_argument("--net-file", type=Path, default=None,
                        help="SUMO network (.net.xml) of the road map for nodes that take one")
    parser.add_argument("--station", type=int, default=None,
                        help="the vehicle's index among the scenario's CAVs (its V2X credentials; default: "
                             "from the namespace, cav_<K> -> K)")
    parser.add_argument("--backend", choices=BACKENDS, default="dds",
                        help="middleware: dds (Cyclone DDS) or ros2 (rclpy, a ROS 2 node)")


def _load_params(node_type, spec, path: Path | None, overrides: list[tuple[str, object]]):
    from cav_stack.core.params import ParamsError, bind_params, load_node_params
    from cav_stack.app.graph import load_params

    if node_type.params_type is None:
        if overrides:
            raise ParamsError("<command line>", overrides[0][0], f"{node_type.__name__} has no parameters")
        return None
    if path is not None:
        params = load_node_params(path, node_type.node_name, node_type.params_type)
    elif spec is None:
        raise UnknownNodeError(f"{node_type.__name__} is not in the graph: pass --params FILE")
    else:
        params = load_params(spec, {})
    if not overrides:
        return params
    fields = {f.name for f in dataclasses.fields(params)}
    for key, _ in overrides:
        if key not in fields:
            raise ParamsError("<command line>", key, f"no such parameter of {node_type.node_name} "
                                                     f"(top-level parameters: {', '.join(sorted(fields))})")
    hints = typing.get_type_hints(type(params))
    bound = {key: bind_params(hints[key], value, "<command line>", key=key)
             if dataclasses.is_dataclass(hints[key]) and isinstance(value, dict) else value
             for key, value in overrides}
    try:
        return dataclasses.replace(params, **bound)
    except (TypeError, ValueError) as exc:
        raise ParamsError("<command line>", overrides[0][0], str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    """Run the node described by parsed ``args`` until stopped; returns the exit code."""
    from cav_stack.core.params import ParamsError
    from cav_stack.runtime.dds_backend import DdsRuntimeError, interrupt_on_sigterm
    from cav_stack.runtime.node_resources import build_resources
    from cav_stack.runtime.process_backends import MiddlewareUnavailableError, open_runtime
    from cav_stack.runtime.dds_lockstep import LockstepError, follower_name, join, run_follower

    prog = "cav_stack dds node"
    try:
        node_type, spec = find_node(args.name)
        overrides = list(args.param)
        if args.clock == "lockstep" and node_type.params_type is not None:
            from cav_stack.app.runner import SIMULATION_PARAM_OVERRIDES

            fields = {f.name for f in dataclasses.fields(node_type.params_type)}
            given = {key for key, _ in overrides}
            overrides += [(k, v) for k, v in SIMULATION_PARAM_OVERRIDES.items() if k in fields and k not in given]
        params = _load_params(node_type, spec, args.params, overrides)
        resources = build_resources(node_type, args.net_file, args.station, args.namespace)
    except (UnknownNodeError, ParamsError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    interrupt_on_sigterm()
    runtime = None
    try:
        runtime = open_runtime(args.backend, args.domain_id, node_name=node_type.node_name, namespace=args.namespace,
                               clock="wall" if args.clock == "wall" else "sim", seed=args.seed,
                               deliver_all=args.clock == "lockstep")
        channel = join(runtime, follower_name(args.namespace, node_type.node_name)) \
            if args.clock == "lockstep" else None
        runtime.add_node(node_type, namespace=args.namespace, params=params, remappings=dict(args.remap),
                         seed_index=args.seed_index, **resources)
        if channel is not None:
            run_follower(runtime, channel, rank=args.rank)
        else:
            runtime.spin()
    except KeyboardInterrupt:
        return ExitCode.OK
    except MiddlewareUnavailableError as exc:
        return fail(f"{prog} {args.name}", exc, ExitCode.ENVIRONMENT)
    except (LockstepError, DdsRuntimeError) as exc:
        return fail(f"{prog} {args.name}", exc, ExitCode.FAILURE)
    finally:
        if runtime is not None:
            runtime.close()
    return ExitCode.CALLBACK_ERRORS if runtime.callback_errors.counts else ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(levelname)s %(message)s")
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
