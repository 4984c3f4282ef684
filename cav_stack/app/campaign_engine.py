"""What every campaign engine shares: the finished-run record, the engine interface, the dispatch.

An engine (:class:`cav_stack.app.campaign.ForkServerEngine` on this machine,
:class:`cav_stack.app.campaign_ray.RayEngine` on a Ray cluster) takes a list of ``(plan index,
RunSpec)`` and reports each run once, when it is over, through a callback; it never holds the
outcomes. Where the specs come from (scenarios x seeds x controllers, a scenario's variations) is
not the engine's business: any list of :class:`RunSpec` feeds it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cav_stack.eval.campaign_summary import STATUS_FAILED, RunOutcome, RunSpec

STACK_CONTROLLER = "stack"
DEFAULT_JOBS = 2
"""Runs at a time when the command line does not say."""
DEFAULT_RETRIES = 2
"""Times a run whose process or worker died is started again before it counts as failed."""
UNKNOWN_NODE = "-"
"""The node of a run that never started (an unregistered controller) or whose worker was lost."""


class EngineUnavailableError(RuntimeError):
    """An engine that cannot start here (its package is missing, its cluster unreachable)."""


@dataclass(frozen=True)
class FinishedRun:
    """A run that is over: ``index`` its position in the plan, ``node`` where it ran (host name or
    Ray node id), ``attempts`` how many processes it took (1 unless a worker died; 0: never started)."""

    index: int
    outcome: RunOutcome
    node: str
    attempts: int


OnFinished = Callable[[FinishedRun], None]
"""Called once per run, in the driver, when the run is over (ok or failed)."""


class CampaignEngine(Protocol):
    """Runs specs, each in a process of its own, and reports each run once through ``on_finished``."""

    name: str

    def run(self, pending: Sequence[tuple[int, RunSpec]], on_finished: OnFinished) -> None:
        """Run ``pending`` (plan index, spec) in about the given order; return when all are over.
        On KeyboardInterrupt, stop the runs in flight and re-raise."""

    def close(self) -> None:
        """Release the engine's processes (idempotent)."""


def start_order(runs: Sequence[RunSpec]) -> list[int]:
    """Indices of ``runs``, the full stack's runs first (they cost ~10x a baseline's per
    simulated second: every CAV runs perception, V2X, mode selection and an MPC), each group
    by CAV-seconds, largest first; ties keep the plan's order."""
    return sorted(range(len(runs)), key=lambda i: (runs[i].controller != STACK_CONTROLLER, -runs[i].cav_seconds))


def dispatch(runs: Sequence[RunSpec], skip: set[int], engine: CampaignEngine, known_controllers: Sequence[str],
             on_finished: OnFinished) -> None:
    """Run every run of ``runs`` whose index is not in ``skip`` on ``engine``, largest first
    (:func:`start_order`); a run naming a controller not in ``known_controllers`` is failed at once,
    without a process."""
    pending = []
    for index in start_order(runs):
        if index in skip:
            continue
        spec = runs[index]
        if spec.controller in known_controllers:
            pending.append((index, spec))
            continue
        error = f"controller '{spec.controller}' is not registered (known: {', '.join(known_controllers)})"
        on_finished(FinishedRun(index, RunOutcome(spec, STATUS_FAILED, error, None, 0.0), UNKNOWN_NODE, 0))
    engine.run(pending, on_finished)

