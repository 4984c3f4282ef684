"""A CAV handed to SUMO at the end of its route: its stack goes MANUAL, not MINIMAL_RISK.

The bridge stops placing (and publishing) a CAV 10 m before its route ends; before the fix its
stack read the silence as a sensor failure and logged a spurious minimal-risk stop. Now the CAV's
driver state says the world holds the controls. Run in a fresh process (one libsumo per process).
"""
import dataclasses
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from cav_stack.control.mpc import MpcController
from cav_stack.app.runner import run_scenario
from cav_stack.world.scenario import load_scenario

pytest.importorskip("libsumo")


def _run(out_dir):
    """The run's report and the times [s] the MPC solved at."""
    base = load_scenario("odd_exit_takeover")        # single lane, cav_0 at 30 m/s
    (cav,) = base.cavs
    spec = dataclasses.replace(base, odd=None, driver=None, duration=8.0,
                               cavs=(dataclasses.replace(cav, route=("sl_1",), depart_pos=850.0),))
    solved_at = []
    original_step = MpcController.step

    def recording_step(self, now, *args):
        solved_at.append(now)
        return original_step(self, now, *args)

    MpcController.step = recording_step
    return run_scenario(spec, seed=None, out_dir=out_dir, controller="stack").report, solved_at


def test_route_end_hands_over_without_a_minimal_risk_stop(tmp_path):
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        report, solved_at = pool.submit(_run, tmp_path).result()
    assert report["cavs"]["cav_0"]["route_completed"]                   # handed over ~5 s in, then left
    modes = [s["mode"] for s in report["modes"]["switches"]]
    assert "minimal_risk" not in modes
    assert modes[-1] == "manual"
    manual_from = report["modes"]["switches"][-1]["time_s"]
    assert solved_at and max(solved_at) <= manual_from + 0.1         # the driver drives: the MPC idles
