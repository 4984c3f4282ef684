"""The Ray campaign engine: every run a Ray task in a fresh worker process, on one machine or a cluster.

Each run is a task with ``num_cpus=1`` and ``max_calls=1``: its worker process runs exactly one
simulation (libsumo holds one per process) and exits. The task runs the scenario in a temporary
folder on whichever node it lands and returns the run folder's files; the driver writes them into
the campaign folder, so nodes need no shared file system, only the same cav_stack installed.

At most one task per CPU of the cluster is in flight (recounted as nodes join or leave), so tasks
start in the campaign's start order and a run's ``--timeout`` counts from about its start. A task
whose worker dies (killed, out of memory, node lost) is submitted again, at most ``retries`` times,
then recorded as failed with Ray's reason; a run that fails inside its worker (an exception in the
scenario) is recorded as the local engine records it and is not retried (runs are deterministic).

Without an address the engine starts a local Ray instance on 127.0.0.1 with ``jobs`` CPUs and stops
it on :meth:`RayEngine.close`; with ``address`` (``auto`` or ``HOST:PORT``) it joins a cluster
started with ``ray start`` and leaves it running.
"""
from __future__ import annotations

import dataclasses
import logging
import socket
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from cav_stack.app.campaign_engine import (DEFAULT_JOBS, DEFAULT_RETRIES, UNKNOWN_NODE, EngineUnavailableError,
                                           FinishedRun, OnFinished)
from cav_stack.app.campaign_store import OUTCOME_FILE
from cav_stack.app.campaign_worker import execute_run
from cav_stack.eval.campaign_summary import STATUS_FAILED, RunOutcome, RunSpec

TASK_NAME = "cav_stack_run"
"""The Ray task name; a worker running one shows ``ray::cav_stack_run`` as its process title."""
NODE_ID_CHARS = 8
CONNECT_TIMEOUT_S = 5.0
"""How long [s] the head's port may take to accept a connection before joining is given up
(Ray itself keeps trying for minutes)."""
_POLL_S = 0.2


def import_ray() -> ModuleType:
    """The ``ray`` module; raises EngineUnavailableError naming the extra when it is not installed."""
    try:
        import ray
    except ImportError as exc:
        raise EngineUnavailableError("--engine ray needs Ray, which is not installed: "
                                     "pip install 'cav_stack[ray]' (the 'ray' extra)") from exc
    module: ModuleType = ray
    return module


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def check_reachable(address: str) -> None:
    """Raise EngineUnavailableError unless ``HOST:PORT`` accepts a TCP connection within
    :data:`CONNECT_TIMEOUT_S` (``auto`` is left to Ray, which answers at once when no cluster runs here)."""
    if address == "auto":
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except (OSError, ValueError) as exc:
        raise EngineUnavailableError(f"no Ray cluster answers at {address}: {_first_line(exc)}") from exc


def run_in_worker(spec: RunSpec) -> dict[str, Any]:
    """The task: run ``spec`` in a temporary folder of this worker's node; returns the outcome's
    fields, the node id (its first characters) and the run folder's files (path -> bytes)."""
    import ray

    node = ray.get_runtime_context().get_node_id()[:NODE_ID_CHARS]
    with tempfile.TemporaryDirectory(prefix="cav-stack-run-") as tmp:
        folder = Path(tmp)
        outcome = execute_run(dataclasses.replace(spec, out_dir=folder))
        files = {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
                 if path.is_file() and path.name != OUTCOME_FILE}
    return {"status": outcome.status, "error": outcome.error, "report": outcome.report,
            "wall_time_s": outcome.wall_time_s, "node": node, "files": files}


@dataclasses.dataclass(frozen=True)
class _Flight:
    index: int
    spec: RunSpec
    attempt: int
    submitted: float


class RayEngine:
    """Runs campaign specs as Ray tasks; see the module docstring.

    jobs: CPUs of the local instance (unused with ``address``); address: ``auto`` or ``HOST:PORT`` of
    a running cluster, None to start a local instance; timeout_s: wall-time limit [s] per run;
    retries: resubmissions of a run whose worker died. Raises EngineUnavailableError when Ray is not
    installed or the cluster cannot be reached.
    """

    name = "ray"

    def __init__(self, jobs: int = DEFAULT_JOBS, address: str | None = None, timeout_s: float | None = None,
                 retries: int = DEFAULT_RETRIES):
        if jobs < 1:
            raise ValueError(f"--jobs must be >= 1, got {jobs}")
        if retries < 0:
            raise ValueError(f"--retries must be >= 0, got {retries}")
        self._ray = ray = import_ray()
        if address is not None:
            check_reachable(address)
        self.timeout_s, self.retries = timeout_s, retries
        quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        try:
            if address is None:
                ray.init(address="local", num_cpus=jobs, _node_ip_address="127.0.0.1", **quiet)
            else:
                ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            ray.shutdown()
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise EngineUnavailableError(f"cannot start or join {where}: {_first_line(exc)}") from exc
        self._task = ray.remote(num_cpus=1, max_calls=1, max_retries=0)(run_in_worker).options(name=TASK_NAME)

    def _window(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 0)))

    def run(self, pending: Sequence[tuple[int, RunSpec]], on_finished: OnFinished) -> None:
        ray = self._ray
        queue = deque(_Flight(index, spec, 1, 0.0) for index, spec in pending)
        in_flight: dict[Any, _Flight] = {}
        try:
            while queue or in_flight:
                window = self._window()
                while queue and len(in_flight) < window:
                    flight = dataclasses.replace(queue.popleft(), submitted=time.perf_counter())
                    in_flight[self._task.remote(flight.spec)] = flight
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=_POLL_S)
                if ready:
                    ready, _ = ray.wait(list(in_flight), num_returns=len(in_flight), timeout=0)
                for ref in ready:
                    self._collect(ref, in_flight.pop(ref), queue, on_finished)
                self._expire(in_flight, on_finished)
        finally:
            for ref in in_flight:
                ray.cancel(ref, force=True)

    def _collect(self, ref: Any, flight: _Flight, queue: deque[_Flight], on_finished: OnFinished) -> None:
        ray, spec = self._ray, flight.spec
        elapsed = time.perf_counter() - flight.submitted
        try:
            result = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the task's own code raised: it would again
            outcome = RunOutcome(spec, STATUS_FAILED, f"run task raised {_first_line(exc.cause)}", None, elapsed)
            on_finished(FinishedRun(flight.index, outcome, UNKNOWN_NODE, flight.attempt))
            return
        except ray.exceptions.RayError as exc:  # its worker or node died: run it again
            if flight.attempt <= self.retries:
                queue.appendleft(dataclasses.replace(flight, attempt=flight.attempt + 1))
                return
            outcome = RunOutcome(spec, STATUS_FAILED, f"worker lost on each of {flight.attempt} attempt(s), last: "
                                 f"{_first_line(exc)}", None, elapsed)
            on_finished(FinishedRun(flight.index, outcome, UNKNOWN_NODE, flight.attempt))
            return
        for name, data in result["files"].items():
            path = spec.out_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        outcome = RunOutcome(spec, result["status"], result["error"], result["report"], result["wall_time_s"])
        on_finished(FinishedRun(flight.index, outcome, result["node"], flight.attempt))

    def _expire(self, in_flight: dict[Any, _Flight], on_finished: OnFinished) -> None:
        if self.timeout_s is None:
            return
        now = time.perf_counter()
        for ref, flight in list(in_flight.items()):
            if now - flight.submitted > self.timeout_s:
                self._ray.cancel(ref, force=True)
                del in_flight[ref]
                outcome = RunOutcome(flight.spec, STATUS_FAILED, f"timed out after {self.timeout_s:.0f} s", None,
                                     now - flight.submitted)
                on_finished(FinishedRun(flight.index, outcome, UNKNOWN_NODE, flight.attempt))

    def close(self) -> None:
        """Disconnect; a local instance is stopped with all its processes."""
        self._ray.shutdown()
