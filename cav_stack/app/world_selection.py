"""Choosing the world a run drives in: SUMO alone, CARLA alone, or CARLA co-simulated with SUMO."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cav_stack.app.run_args import RunArgumentError
from cav_stack.sim.carla import CarlaWorld, load_bridge_params, load_bridge_rig
from cav_stack.sim.carla_client import require_carla
from cav_stack.world.scenario import Scenario

SIM_CHOICES = ("sumo", "carla", "carla+sumo")


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--sim``, ``--host``, ``--port``, ``--town`` and ``--carla-timeout`` to ``drive``."""
    group = parser.add_argument_group("simulator")
    group.add_argument("--sim", choices=SIM_CHOICES, default="sumo",
                       help="world: sumo (default), carla (CARLA alone) or carla+sumo (co-simulation)")
    group.add_argument("--host", default="127.0.0.1", help="CARLA server host (default: 127.0.0.1)")
    group.add_argument("--port", type=int, default=2000, help="CARLA server RPC port (default: 2000)")
    group.add_argument("--town", default=None,
                       help="CARLA map to load, e.g. Town04 (--sim carla only; default: the scenario's "
                            "network, generated in CARLA from its OpenDRIVE export)")
    group.add_argument("--carla-timeout", type=float, default=None, metavar="SECONDS",
                       help="CARLA client timeout (default: connect_timeout of sensors/carla_rig.yaml)")


def open_world(args: argparse.Namespace, scenario: Scenario, seed: int, cache_dir: str | Path) -> Any:
    """The (not yet started) world selected by :func:`add_sim_arguments` options.

    Returns a SumoWorld, :class:`~cav_stack.sim.carla.CarlaWorld` or
    :class:`~cav_stack.sim.carla_cosim.CarlaSumoWorld`; each has ``start()``, ``step()``,
    ``time``, ``set_cav_state``, ``road_map()``, ``close()`` and is a context manager; the CARLA
    ones add ``apply_control``, ``sensor_messages`` and ``ego_state``. Raises
    :class:`~cav_stack.app.run_args.RunArgumentError` for contradictory options and
    :class:`~cav_stack.sim.carla_client.CarlaNotAvailableError` when the ``carla`` package is missing.
    """
    if args.sim == "sumo":
        if args.town is not None:
            raise RunArgumentError("--town needs --sim carla")
        from cav_stack.sim.sumo import SumoWorld

        return SumoWorld(scenario, seed, backend=args.sumo_backend, cache_dir=cache_dir)
    if args.carla_timeout is not None and not args.carla_timeout > 0.0:
        raise RunArgumentError(f"--carla-timeout must be > 0 seconds, got {args.carla_timeout}")
    require_carla()
    params = load_bridge_params()
    rig = load_bridge_rig(params)
    if args.sim == "carla":
        return CarlaWorld(scenario, seed, host=args.host, port=args.port, town=args.town, cache_dir=cache_dir,
                          params=params, rig=rig, timeout=args.carla_timeout)
    if args.town is not None:
        raise RunArgumentError("--town cannot be used with --sim carla+sumo: the co-simulation runs on the scenario's "
                         "network (SUMO) generated in CARLA from its OpenDRIVE export")
    from cav_stack.sim.carla_cosim import CarlaSumoWorld

    return CarlaSumoWorld(scenario, seed, host=args.host, port=args.port, cache_dir=cache_dir, params=params,
                          rig=rig, backend=args.sumo_backend, timeout=args.carla_timeout)
