"""A campaign's folder on disk: its plan, one folder per run, and an append-only index.

- ``plan.jsonl``: a header line, then one :class:`RunSpec` per line (run folders relative to the
  campaign folder), written once before the first run starts; ``--resume`` reads it back.
- ``<run folder>/outcome.json``: status, error, report and wall time of the run.
- ``index.jsonl``: one line per finished run, appended (and flushed to disk) after the run's
  ``outcome.json`` is on disk: plan index, status, error, wall time, node, attempts and the part of
  the report the summaries read. A run counts as done only once its line is in the index; the
  summaries are built from the index alone, so the driver never holds the runs' reports.

A line cut short by a crash is dropped when the campaign is resumed (its run is run again).
"""
from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cav_stack.app.campaign_engine import FinishedRun
from cav_stack.eval.campaign_summary import RunOutcome, RunSpec, summary_report

PLAN_FILE = "plan.jsonl"
INDEX_FILE = "index.jsonl"
OUTCOME_FILE = "outcome.json"
PLAN_FORMAT = "cav_stack campaign plan 1"


class CampaignFolderError(ValueError):
    """A campaign folder that cannot be created (holds a campaign) or resumed (holds none, or a broken plan)."""


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, flushed to disk,
    then renamed over ``path``: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_outcome(outcome: RunOutcome) -> Path:
    """The run's ``outcome.json`` in its folder, written atomically; returns its path."""
    path = outcome.spec.out_dir / OUTCOME_FILE
    write_atomically(path, (json.dumps(outcome.to_json(), indent=2) + "\n").encode("utf-8"))
    return path


def _spec_to_json(spec: RunSpec, root: Path) -> dict[str, Any]:
    data = dataclasses.asdict(spec)
    try:
        data["out_dir"] = spec.out_dir.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        data["out_dir"] = str(spec.out_dir.resolve())
    return data


def _spec_from_json(data: dict[str, Any], root: Path) -> RunSpec:
    params = tuple((str(name), str(value)) for name, value in data.get("params", ()))
    return RunSpec(**{**data, "out_dir": root / data["out_dir"], "params": params})


class CampaignStore:
    """The plan and the index of the campaign in ``root``; see the module docstring."""

    def __init__(self, root: Path, runs: Sequence[RunSpec]):
        self.root = root
        self.runs = list(runs)

    @staticmethod
    def check_new(root: Path) -> None:
        """Raise CampaignFolderError if ``root`` already holds a campaign."""
        if (root / PLAN_FILE).exists():
            raise CampaignFolderError(f"{root} already holds a campaign: continue it with --resume {root}, "
                                      "or choose another --out")

    @classmethod
    def create(cls, root: Path, runs: Sequence[RunSpec]) -> CampaignStore:
        """Start a campaign in ``root`` (created if missing) with ``runs`` as its plan; raises
        CampaignFolderError if ``root`` already holds a campaign."""
        cls.check_new(root)
        lines = [json.dumps({"format": PLAN_FORMAT, "runs": len(runs)})]
        lines += [json.dumps(_spec_to_json(spec, root)) for spec in runs]
        write_atomically(root / PLAN_FILE, ("\n".join(lines) + "\n").encode("utf-8"))
        return cls(root, runs)

    @classmethod
    def resume(cls, root: Path) -> CampaignStore:
        """The campaign in ``root``, its index cut back to its last whole line; raises
        CampaignFolderError if ``root`` holds no readable plan."""
        path = root / PLAN_FILE
        if not path.is_file():
            raise CampaignFolderError(f"{root} holds no campaign ({PLAN_FILE} missing)")
        try:
            header, *lines = path.read_text(encoding="utf-8").splitlines()
            meta = json.loads(header)
            if meta.get("format") != PLAN_FORMAT or meta.get("runs") != len(lines):
                raise ValueError(f"expected format '{PLAN_FORMAT}' and {meta.get('runs')} runs")
            runs = [_spec_from_json(json.loads(line), root) for line in lines]
        except (ValueError, TypeError) as exc:
            raise CampaignFolderError(f"{path}: not a campaign plan ({exc})") from exc
        store = cls(root, runs)
        store._drop_cut_line()
        return store

    def _drop_cut_line(self) -> None:
        index = self.root / INDEX_FILE
        if not index.is_file():
            return
        data = index.read_bytes()
        whole = data.rfind(b"\n") + 1
        if whole < len(data):
            with index.open("r+b") as handle:
                handle.truncate(whole)

    def _entries(self) -> Iterator[dict[str, Any]]:
        index = self.root / INDEX_FILE
        if not index.is_file():
            return
        with index.open(encoding="utf-8") as handle:
            for line in handle:
                if line.endswith("\n"):
                    yield json.loads(line)

    def finished(self) -> set[int]:
        """Plan indices of the runs in the index."""
        return {entry["run"] for entry in self._entries()}

    def record(self, finished: FinishedRun) -> None:
        """Put a finished run on disk: its ``outcome.json``, then its line in the index."""
        outcome = finished.outcome
        write_outcome(outcome)
        entry = {"run": finished.index, "scenario": outcome.spec.scenario, "controller": outcome.spec.controller,
                 "seed": outcome.spec.seed, "status": outcome.status, "error": outcome.error,
                 "wall_time_s": outcome.wall_time_s, "node": finished.node, "attempts": finished.attempts,
                 "report": None if outcome.report is None else summary_report(outcome.report)}
        with (self.root / INDEX_FILE).open("ab") as handle:
            handle.write((json.dumps(entry) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())

    def outcomes(self) -> list[RunOutcome]:
        """The finished runs in plan order, each with the summary part of its report (from the index)."""
        latest = {entry["run"]: entry for entry in self._entries()}
        return [RunOutcome(self.runs[i], e["status"], e["error"], e["report"], e["wall_time_s"])
                for i, e in sorted(latest.items())]
