"""The stack drives shared R157 ALKS templates (``../shared/scenarios/alks``) through ``cav-stack drive``:
a cut-in (4.4.1) and a cut-out revealing a pedestrian standing in the lane (4.5.1), default
parameters; no collision, the R157 verdict passes, the run stops on the storyboard's StopTrigger."""
import json

import pytest

from cav_stack.app.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.mark.parametrize("name, family, sim_time", [
    ("alks_scenario_4_4_1_cut_in_no_collision_template.xosc", "cut_in", 23.0),
    ("alks_scenario_4_5_1_cut_out_fully_blocking_template.xosc", "cut_out", 40.0),
])
def test_stack_passes_the_template(alks_templates, tmp_path, name, family, sim_time):
    assert main(["drive", "--scenario", str(alks_templates / name), "--out", str(tmp_path), "--quiet"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["collisions"] == 0
    assert report["sim_time_s"] == pytest.approx(sim_time, abs=0.6)
    r157 = report["r157"]
    assert r157["family"] == family and r157["passed"] and not r157["collision"]
    assert r157["reference_driver"] is not None and not r157["reference_driver"]["collision"]
    assert r157["min_distance_m"] > 2.0
