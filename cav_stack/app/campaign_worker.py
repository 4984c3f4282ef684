"""One campaign entry, run in the process (or Ray worker) it was handed to."""
from __future__ import annotations

import time
import traceback

from cav_stack.app.campaign_store import write_outcome
from cav_stack.eval.campaign_summary import EVENTS_NOT_AS_SCRIPTED, STATUS_FAILED, STATUS_OK, RunOutcome, RunSpec


def execute_run(spec: RunSpec) -> RunOutcome:
    """Run one campaign entry in this process and write its ``outcome.json``; never raises for
    a failing run (the reason is in the outcome; the traceback in ``error.txt``). A run whose
    scripted events did not all happen as scripted is failed, with its report."""
    from cav_stack.app.openscenario_runs import load_run_scenario
    from cav_stack.app.runner import run_scenario

    started = time.perf_counter()
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        result = run_scenario(load_run_scenario(spec), seed=spec.seed, out_dir=spec.out_dir,
                              duration_s=spec.duration_s, controller=spec.controller, radio=spec.radio,
                              shield=spec.shield)
        untrue = result.report.get("events_not_as_scripted")
        outcome = RunOutcome(spec, STATUS_FAILED if untrue else STATUS_OK,
                             f"{EVENTS_NOT_AS_SCRIPTED}: {'; '.join(untrue)}" if untrue else None,
                             result.report, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - every failure of a run is recorded, the campaign goes on
        (spec.out_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        message = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        outcome = RunOutcome(spec, STATUS_FAILED, message, None, time.perf_counter() - started)
    write_outcome(outcome)
    return outcome
