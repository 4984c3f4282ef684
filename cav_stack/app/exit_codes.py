"""The exit codes of every ``cav-stack`` command and process entry point, in one place.

``OK`` 0: the command did what it was asked (a run: no collision, every scripted check passed).
``FAILURE`` 1: it ran and the outcome failed (a collision, a failed campaign run, replayed commands that
differ, a node process that died).
``USAGE`` 2: bad input, refused before anything ran: arguments, scenario names and files, parameter
YAML, networks, output folders.
``ENVIRONMENT`` 3: something the command needs is missing or unreachable: SUMO, the CARLA package or
server, Cyclone DDS, a peer process of a multi-process run.
``CALLBACK_ERRORS`` 4: it ran to its end, but node callbacks raised (each counted in the report,
``callback_errors``, and logged with its traceback; the nodes kept running).
``INTERRUPTED`` 130: stopped by Ctrl-C / SIGTERM (128 + SIGINT, the shell's convention).
"""
from __future__ import annotations

import sys
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit status of the ``cav-stack`` commands (see the module docstring)."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    ENVIRONMENT = 3
    CALLBACK_ERRORS = 4
    INTERRUPTED = 130


def fail(prog: str, message: object, code: ExitCode) -> ExitCode:
    """Print ``prog: message`` on stderr as one line (white space folded) and return ``code``."""
    print(f"{prog}: {' '.join(str(message).split())}", file=sys.stderr)
    return code
