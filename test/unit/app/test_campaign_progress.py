"""The campaign's progress line: done / failed / total, runs per minute per node, ETA."""
from __future__ import annotations

import io
from pathlib import Path

from cav_stack.app.campaign_engine import UNKNOWN_NODE, FinishedRun
from cav_stack.app.campaign_progress import CampaignProgress, format_duration
from cav_stack.eval.campaign_summary import RunOutcome, RunSpec


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _run(node: str, status: str = "ok") -> FinishedRun:
    spec = RunSpec("platoon", "idm_baseline", 1, Path("x"))
    return FinishedRun(0, RunOutcome(spec, status, None if status == "ok" else "boom", None, 1.0), node, 1)


def test_rates_per_node_and_eta_from_this_session_s_runs():
    stream, clock = io.StringIO(), Clock()
    progress = CampaignProgress(stream, total=20, done=4, failed=1, clock=clock)   # resumed: 4 done before
    assert progress.line() == "eval 4/20 done, 1 failed | ETA --"
    clock.now += 60.0
    for node in ("b", "a", "a"):
        progress.finished(_run(node))
    progress.finished(_run(UNKNOWN_NODE, "failed"))                              # never started: no rate
    assert progress.done == 8 and progress.failed == 2
    # 3 runs in 1 min of this session -> 12 left take 4 min
    assert progress.line() == "eval 8/20 done, 2 failed | runs/min per node: a 2.0, b 1.0 | ETA 4m00s"
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1] == progress.line()                      # not a terminal: one line each


def test_on_a_terminal_the_line_is_rewritten_in_place():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = CampaignProgress(stream, total=2, clock=Clock())
    progress.finished(_run("a"))
    progress.finished(_run("a"))
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.count("\n") == 1 and text.endswith("\n")


def test_durations_read_as_hours_minutes_seconds():
    assert [format_duration(s) for s in (0.4, 42, 185, 3720)] == ["0s", "42s", "3m05s", "1h02m"]
