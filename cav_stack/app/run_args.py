"""The arguments of a closed-loop run, defined once for ``cav-stack drive``, ``cav-stack launch drive``
and the simulator process of a multi-process run, with their checks.

Argument errors end the command with one line on stderr and exit code 2
(:class:`~cav_stack.app.exit_codes.ExitCode`), never a traceback: :class:`CommandLineParser` prints
``prog: error: message`` without the usage block.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import NoReturn
from collections.abc import Sequence

from cav_stack.app.exit_codes import ExitCode
from cav_stack.world.scenario import Scenario, carries_cavs

SUMO_BACKENDS = ("libsumo", "traci")
RADIOS = ("dsrc", "cv2x")


class RunArgumentError(ValueError):
    """Run arguments that contradict each other or the scenario (a usage error, exit 2)."""


def refuse_flow_cavs(spec: Scenario, backend: str) -> None:
    """Raise :class:`RunArgumentError` when ``spec`` has flows that carry CAVs: a multi-process run
    (``backend`` dds or ros2) starts one set of node processes per CAV before the run, so only
    the in-process run takes CAVs over as they enter."""
    flows = [flow.id for flow in spec.demand.flows if carries_cavs(flow)]
    if flows:
        raise RunArgumentError(f"scenario '{spec.name}' has flows with CAVs ({', '.join(flows)}), which only "
                               f"the in-process run takes over (cav-stack drive), not the {backend} backend")


class CommandLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``prog: error: message``) and exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {' '.join(message.split())}", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE)


def _finite_positive(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {what}, got '{text}'") from None
    if not math.isfinite(value) or value <= 0.0:
        raise argparse.ArgumentTypeError(f"must be a finite {what} > 0, got '{text}'")
    return value


def seconds(text: str) -> float:
    """argparse type: a finite duration [s] > 0."""
    return _finite_positive(text, "number of seconds")


def positive_number(text: str) -> float:
    """argparse type: a finite number > 0."""
    return _finite_positive(text, "number")


def add_run_arguments(parser: argparse.ArgumentParser, *, controllers: Sequence[str] | None,
                      default_controller: str | None, out_help: str, scenario_required: bool = False) -> None:
    """``--scenario --seed --out --duration --controller --sumo-backend --radio``.

    controllers: the names ``--controller`` accepts (None: checked later by the command);
    default_controller: None makes ``--controller`` required.
    """
    if scenario_required:
        parser.add_argument("--scenario", required=True, help="scenario name or path to a scenario YAML")
    else:
        parser.add_argument("--scenario", default="highway_cut_in",
                            help="scenario name (see `cav-stack scenarios`), path to a scenario YAML or, for "
                                 "`drive`, to a concrete OpenSCENARIO 1.x file (.xosc) (default: highway_cut_in)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's own)")
    parser.add_argument("--out", type=Path, default=None, help=out_help)
    parser.add_argument("--duration", type=seconds, default=None, metavar="SECONDS",
                        help="simulated duration in seconds (default: the scenario's own)")
    parser.add_argument("--controller", default=default_controller, required=default_controller is None,
                        choices=controllers,
                        help=f"controller driving the CAVs (default: {default_controller}); idm_baseline and "
                             "sumo_* (SUMO's own car-following models) are baselines")
    parser.add_argument("--sumo-backend", default="libsumo", choices=SUMO_BACKENDS,
                        help="SUMO connection: libsumo in-process (default) or traci over a socket")
    parser.add_argument("--radio", default="dsrc", choices=RADIOS,
                        help="V2X radio model when the controller uses V2X (v2x/radio_<radio>.yaml; default dsrc)")


def check_out_dir(path: Path) -> None:
    """Raise :class:`RunArgumentError` unless ``path`` is, or can be made, a writable directory."""
    if path.exists() and not path.is_dir():
        raise RunArgumentError(f"--out {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunArgumentError(f"--out {path}: cannot create the directory ({exc.strerror})") from None
    probe = path / ".write-probe"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunArgumentError(f"--out {path}: not writable ({exc.strerror})") from None
