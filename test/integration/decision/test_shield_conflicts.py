"""The joint-action shield on real SUMO runs of the conflict scenarios: with it every conflict is
resolved (both CAVs name the same vehicle to proceed; the other defers or aborts its lane change)
and nobody collides; with ``--no-shield`` the same scripted situation (its events' ``expect:``
hold in both runs) ends in a collision of the two CAVs in every scenario, so the test fails when
the shield does nothing.

CI cost: 7 runs (6 drives and one `eval --no-shield` campaign run), 16-27 s simulated each (under
2 min wall on an idle machine).
"""
from __future__ import annotations

import json

import pytest

from cav_stack.app.cli import main
from cav_stack.app.exit_codes import ExitCode

pytest.importorskip("libsumo")

#: scenario -> simulated duration [s]: past the conflict (at 14-25 s) with a margin.
CONFLICTS = {"merge_conflict": 27.0, "lane_change_cut_in_conflict": 16.0, "merge_into_platoon_conflict": 17.0}


def _drive(scenario: str, out, *flags: str) -> tuple[int, dict]:
    code = main(["drive", "--scenario", scenario, "--duration", str(CONFLICTS[scenario]), "--quiet",
                 "--out", str(out), *flags])
    return int(code), json.loads((out / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("scenario", sorted(CONFLICTS))
def test_the_shield_resolves_each_conflict_that_ends_badly_without_it(scenario, tmp_path):
    code, shielded = _drive(scenario, tmp_path / "shield")
    shield = shielded["shield"]
    print(f"\n{scenario} with the shield: {json.dumps(shield['resolutions'])}; collisions "
          f"{shielded['collisions']}, min TTC {shielded['min_ttc_s']}, min headway {shielded['min_time_headway_s']}")
    assert code == ExitCode.OK and shielded["collisions"] == 0
    assert shielded["events_not_as_scripted"] == []            # the scripted situation was made
    assert shield["enabled"] and shield["conflicts"] >= 1
    for resolution in shield["resolutions"]:
        assert resolution["agreed"], resolution
        assert resolution["how"] in ("defers its lane change", "aborts its lane change"), resolution
        assert not resolution["unsure"]
    code, bare = _drive(scenario, tmp_path / "no_shield", "--no-shield")
    print(f"{scenario} without: collisions {bare['collision_events']}, min TTC {bare['min_ttc_s']}, "
          f"min headway {bare['min_time_headway_s']}")
    assert not bare["shield"]["enabled"] and bare["shield"]["conflicts"] >= 1
    assert not {r["how"] for r in bare["shield"]["resolutions"]} & {"defers its lane change", "aborts its lane change"}
    assert bare["events_not_as_scripted"] == []                # the same situation was made
    assert code == ExitCode.FAILURE and bare["collision_events"][0]["vehicles"] == ["cav_0", "cav_1"]


def test_a_campaign_without_the_shield_records_it_per_run_and_keeps_it_on_resume(tmp_path):
    from cav_stack.app.campaign_store import CampaignStore

    out = tmp_path / "campaign"
    code = main(["eval", "--scenarios", "lane_change_cut_in_conflict", "--seeds", "1", "--controllers", "stack",
                 "--duration", str(CONFLICTS["lane_change_cut_in_conflict"]), "--jobs", "1", "--quiet",
                 "--no-shield", "--out", str(out)])
    assert code == ExitCode.OK                                   # the run completed (with its collision)
    (spec,) = CampaignStore.resume(out).runs
    assert spec.shield is False
    report = json.loads((spec.out_dir / "report.json").read_text(encoding="utf-8"))
    assert not report["shield"]["enabled"] and report["collisions"] == 1
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "Joint-action shield: off in 1 of 1 runs" in summary
