"""OpenSCENARIO files on the command line: ``drive --scenario FILE.xosc [--param NAME=VALUE ...]
[--ego NAME]`` and ``eval --scenarios FILE.xosc,...`` (concrete scenarios run once; logical ones,
ParameterValueDistributions, expand into their concrete runs, optionally sampled).

Errors in a file (unsupported element, bad parameter, missing catalog entry or road) are
:data:`SCENARIO_ERRORS`; the CLI prints them as one line and exits 2.
"""
from __future__ import annotations

from pathlib import Path
from collections.abc import Sequence

from cav_stack.eval.campaign_summary import RunSpec
from cav_stack.sim.network_build import NetworkBuildError
from cav_stack.sim.openscenario_road import RoadFrameError
from cav_stack.world.openscenario.catalogs import CatalogError
from cav_stack.world.openscenario.reader import OpenScenarioError, read_scenario
from cav_stack.world.openscenario.variation import Expansion, expand, is_logical
from cav_stack.world.scenario import Scenario

SCENARIO_ERRORS = (OpenScenarioError, CatalogError, RoadFrameError, NetworkBuildError)
#: Simulated seconds assumed per OpenSCENARIO run when ordering a campaign's starts.
_ASSUMED_RUN_S = 60.0


def is_openscenario(name: str) -> bool:
    """Whether a scenario argument names an OpenSCENARIO file (``.xosc``)."""
    return name.lower().endswith(".xosc")


def parse_params(items: Sequence[str] | None) -> dict[str, str]:
    """``NAME=VALUE`` items as a dict (ValueError naming a malformed item)."""
    params: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param expects NAME=VALUE, got '{item}'")
        params[name.strip()] = value.strip()
    return params


def load_openscenario(path: str | Path, params: dict[str, str], ego: str | None, cache_dir: Path) -> Scenario:
    """The stack's Scenario of the concrete OpenSCENARIO file ``path`` (see sim/openscenario_build.py)."""
    from cav_stack.sim.openscenario_build import scenario_for

    if not Path(path).is_file():
        raise OpenScenarioError(f"{path}: no such file")
    return scenario_for(read_scenario(path, params), ego, cache_dir)


def load_run_scenario(spec: RunSpec) -> str | Scenario:
    """What a campaign run runs: the scenario name/YAML path, or the Scenario of an OpenSCENARIO run."""
    if not is_openscenario(spec.scenario):
        return spec.scenario
    return load_openscenario(spec.scenario, dict(spec.params), spec.ego, spec.out_dir / "network")


def plan_openscenario_runs(path: str, controllers: list[str], out_dir: Path, sample: int | None,
                           seed: int) -> tuple[list[RunSpec], Expansion | None]:
    """Campaign runs of one OpenSCENARIO file: a concrete file is one run per controller; a logical
    one its expansion (``sample`` runs drawn with ``seed`` when given), each run's ``seed`` being its
    index in the expansion. Returns the runs and the expansion (None for a concrete file)."""
    file = Path(path).resolve()
    if not file.is_file():
        raise OpenScenarioError(f"{path}: no such file")
    if not is_logical(file):
        read_scenario(file)       # fail early on a file that does not read
        return [RunSpec(str(file), c, 0, out_dir / file.stem / c / "run_0", cav_seconds=_ASSUMED_RUN_S)
                for c in controllers], None
    expansion = expand(file)
    chosen = expansion.runs if sample is None else expansion.sample(sample, seed)
    runs = [RunSpec(str(expansion.template), c, run.index, out_dir / file.stem / c / f"run_{run.index}",
                    cav_seconds=_ASSUMED_RUN_S, params=run.params) for run in chosen for c in controllers]
    return runs, expansion


def dry_run_lines(path: str, runs: list[RunSpec], expansion: Expansion | None) -> list[str]:
    """What ``--dry-run`` prints for one file: each run and the count discarded (with the first reasons)."""
    lines = [f"{path}: {len(runs)} run(s)" + (f" of {len(expansion.runs)} valid, {len(expansion.discarded)} "
                                             f"discarded by the template's constraints" if expansion else "")]
    lines += [f"  run {r.seed} [{r.controller}]: " + " ".join(f"{n}={v}" for n, v in r.params) for r in runs]
    if expansion is not None:
        lines += [f"  discarded run {d.run.index}: {d.violation}" for d in expansion.discarded[:5]]
        if len(expansion.discarded) > 5:
            lines.append(f"  ... and {len(expansion.discarded) - 5} more discarded")
    return lines
