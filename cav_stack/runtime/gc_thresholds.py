"""Garbage-collector thresholds for a closed-loop run.

A run allocates millions of short-lived objects (messages, decoded frames, per-tick arrays)
next to a large long-lived heap (the compiled ASN.1 specifications, the V2X memos of decoded
envelopes, each vehicle's histories). With CPython's default thresholds (700, 10, 10) the young
generations fill so fast that full collections, which walk the whole heap, come every few
hundred thousand allocations: ~7 % of a 20-CAV run's CPU time (``mixed_traffic_p100``, 10 s:
1.4 s of 19 s). A larger first threshold makes every generation's collections rarer; the
collector still runs, so cyclic garbage is still reclaimed, and no result depends on when
(what the stack keeps is freed by reference counting, cycles only later or sooner).
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: Net container allocations between two young-generation collections during a run (CPython: 700).
RUN_YOUNG_THRESHOLD = 10_000


@contextlib.contextmanager
def run_thresholds(young: int = RUN_YOUNG_THRESHOLD) -> Iterator[None]:
    """Collect the young generation every ``young`` net allocations inside the block (the older
    generations keep their thresholds, counted in young collections); restore the previous
    thresholds after it."""
    previous = gc.get_threshold()
    gc.set_threshold(young, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
