"""Callbacks that never kill a node: an exception in a subscription or timer callback is
logged with its traceback, counted per node, and the node keeps running.

Every backend (in-process executor, Cyclone DDS, rclpy) wraps the callbacks it registers with
:meth:`CallbackErrors.guard`; the run reports :attr:`CallbackErrors.counts` and its exit code
says when any callback failed (:attr:`cav_stack.app.exit_codes.ExitCode.CALLBACK_ERRORS`).
"""
from __future__ import annotations

import collections
import logging
from typing import Any
from collections.abc import Callable

_LOG = logging.getLogger("cav_stack.runtime.callback_guard")


class CallbackErrors:
    """Exceptions raised by callbacks, counted per node label (``namespace.node_name``)."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    def guard(self, label: str, callback: Callable[..., Any]) -> Callable[..., None]:
        """``callback`` wrapped so that an Exception it raises is logged and counted under
        ``label`` instead of propagating (KeyboardInterrupt and SystemExit still stop the run)."""
        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception:
                self.counts[label] += 1
                _LOG.exception("callback of %s raised (%d so far); the node keeps running",
                               label, self.counts[label])
        return guarded

    def summary(self) -> dict[str, int]:
        """Failed callbacks per node label (only nodes with failures)."""
        return dict(sorted(self.counts.items()))
