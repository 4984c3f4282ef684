"""A node callback that raises during a real run: the run goes on to its end, the report counts
the failure per node, and `cav-stack drive` exits with code 3."""
from __future__ import annotations

import json

import pytest

from cav_stack.app.exit_codes import ExitCode
from cav_stack.app import cli
from cav_stack.nodes.v2x_node import V2xNode


@pytest.mark.slow
def test_injected_callback_failure_is_counted_and_sets_the_exit_code(tmp_path, monkeypatch):
    original = V2xNode._tick
    failed = []

    def tick_failing_once(self):
        if self.namespace.strip("/") == "cav_0" and not failed and self.now() >= 1.0:
            failed.append(self.now())
            raise RuntimeError("injected failure in the v2x node's timer")
        original(self)

    monkeypatch.setattr(V2xNode, "_tick", tick_failing_once)
    code = cli.main(["drive", "--scenario", "insider_rsa_closure", "--duration", "3", "--out", str(tmp_path),
                     "--quiet"])
    report = json.loads((tmp_path / "report.json").read_text())
    assert code == ExitCode.CALLBACK_ERRORS
    assert report["callback_errors"] == {"cav_0.v2x_node": 1}
    assert report["sim_time_s"] == pytest.approx(3.0, abs=0.06)     # the run went on to its end
    assert report["v2x"]["frames_sent"] > 0
