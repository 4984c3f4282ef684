"""The campaign's progress line: runs done / failed / total, runs per minute per node, ETA.

One line, rewritten in place on a terminal (a new line per update otherwise), updated whenever a run
is over. Rates count only the runs of this session (a resumed campaign's earlier runs are in
done/total but not in the rates); the ETA assumes the remaining runs go at this session's rate.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from cav_stack.app.campaign_engine import UNKNOWN_NODE, FinishedRun
from cav_stack.eval.campaign_summary import STATUS_OK


def format_duration(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``42s`` for a duration [s] >= 0."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class CampaignProgress:
    """Counts finished runs and writes the progress line to ``stream``.

    total: runs in the plan; done / failed: runs already finished (and failed) when this session
    started; clock: monotonic time source [s] (for tests).
    """

    def __init__(self, stream: TextIO, total: int, done: int = 0, failed: int = 0,
                 clock: Callable[[], float] = time.perf_counter):
        self._stream, self._clock = stream, clock
        self._interactive = stream.isatty()
        self.total, self.done, self.failed = total, done, failed
        self._started = clock()
        self._per_node: Counter[str] = Counter()

    def line(self) -> str:
        """The current progress line (no line break)."""
        minutes = max(self._clock() - self._started, 1e-9) / 60.0
        session = sum(self._per_node.values())
        text = f"eval {self.done}/{self.total} done, {self.failed} failed"
        if session:
            rates = ", ".join(f"{node} {count / minutes:.1f}" for node, count in sorted(self._per_node.items()))
            eta = format_duration(60.0 * minutes * (self.total - self.done) / session)
            text += f" | runs/min per node: {rates} | ETA {eta}"
        else:
            text += " | ETA --"
        return text

    def show(self) -> None:
        """Write the line (in place on a terminal)."""
        finished = self.done >= self.total
        if self._interactive:
            self._stream.write("\r\033[K" + self.line() + ("\n" if finished else ""))
        else:
            self._stream.write(self.line() + "\n")
        self._stream.flush()

    def finished(self, run: FinishedRun) -> None:
        """Count ``run`` and update the line."""
        self.done += 1
        self.failed += run.outcome.status != STATUS_OK
        if run.node != UNKNOWN_NODE:
            self._per_node[run.node] += 1
        self.show()
