"""The campaign folder: plan written once and read back, outcome then index line per finished run,
a line cut short by a crash dropped on resume, summaries from the index alone."""
from __future__ import annotations

import dataclasses
import json

import pytest

from cav_stack.app.campaign import plan_runs, write_outputs
from cav_stack.app.campaign_engine import FinishedRun
from cav_stack.app.campaign_store import INDEX_FILE, PLAN_FILE, CampaignFolderError, CampaignStore
from cav_stack.eval.campaign_summary import SUMMARY_REPORT_KEYS, RunOutcome


def _finish(store: CampaignStore, index: int, **report) -> FinishedRun:
    spec = store.runs[index]
    run = FinishedRun(index, RunOutcome(spec, "ok", None, {"collisions": 0, **report}, 2.5), "node-a", 1)
    store.record(run)
    return run


def test_the_plan_is_read_back_with_run_folders_under_the_campaign_folder(tmp_path):
    runs = plan_runs(["platoon", "hidden_brake"], (1, 2, 3), ["idm_baseline"], tmp_path / "c", duration_s=4.0)
    CampaignStore.create(tmp_path / "c", runs)
    moved = tmp_path / "moved"
    (tmp_path / "c").rename(moved)                       # the folder is self-contained: it can move
    store = CampaignStore.resume(moved)
    assert [(r.scenario, r.controller, r.seed, r.duration_s, r.cav_seconds) for r in store.runs] == [
        (r.scenario, r.controller, r.seed, r.duration_s, r.cav_seconds) for r in runs]
    assert store.runs[0].out_dir == moved / "platoon" / "idm_baseline" / "seed_1"
    assert store.finished() == set()


def test_a_folder_holding_a_campaign_is_not_overwritten_and_an_empty_one_is_not_resumed(tmp_path):
    runs = plan_runs(["platoon"], 1, ["idm_baseline"], tmp_path)
    CampaignStore.create(tmp_path, runs)
    with pytest.raises(CampaignFolderError, match="--resume"):
        CampaignStore.create(tmp_path, runs)
    with pytest.raises(CampaignFolderError, match="holds no campaign"):
        CampaignStore.resume(tmp_path / "elsewhere")
    (tmp_path / PLAN_FILE).write_text('{"format": "something else"}\n', encoding="utf-8")
    with pytest.raises(CampaignFolderError, match="not a campaign plan"):
        CampaignStore.resume(tmp_path)


def test_a_finished_run_is_its_outcome_then_one_index_line_with_the_summary_part_of_its_report(tmp_path):
    store = CampaignStore.create(tmp_path, plan_runs(["platoon"], 3, ["idm_baseline"], tmp_path))
    events = [{"t": 0.05 * k, "pair": [k, k + 1]} for k in range(5_000)]          # a large report field
    _finish(store, 2, min_gap_m=12.5, pet_events=events)
    outcome = json.loads((store.runs[2].out_dir / "outcome.json").read_text(encoding="utf-8"))
    assert len(outcome["report"]["pet_events"]) == 5_000                            # all of it on disk
    (line,) = (tmp_path / INDEX_FILE).read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert entry["run"] == 2 and entry["node"] == "node-a" and entry["attempts"] == 1
    assert set(entry["report"]) <= set(SUMMARY_REPORT_KEYS) and entry["report"]["min_gap_m"] == 12.5
    assert len(line) < 1_000                                                         # not the whole report
    assert store.finished() == {2}


def test_resume_drops_a_line_cut_short_and_the_summary_keeps_the_plan_order(tmp_path):
    store = CampaignStore.create(tmp_path, plan_runs(["platoon"], 4, ["idm_baseline"], tmp_path))
    for index in (3, 0, 1):                                                # finished out of order
        _finish(store, index, min_gap_m=10.0 + index)
    with (tmp_path / INDEX_FILE).open("ab") as handle:                     # a crash in the middle of a line
        handle.write(b'{"run": 2, "status": "ok", "err')
    resumed = CampaignStore.resume(tmp_path)
    assert resumed.finished() == {0, 1, 3}
    assert (tmp_path / INDEX_FILE).read_bytes().endswith(b"}\n")
    outcomes = resumed.outcomes()
    assert [o.spec.seed for o in outcomes] == [store.runs[i].seed for i in (0, 1, 3)]
    written = write_outputs(outcomes, tmp_path)
    rows = written["summary.csv"].read_text(encoding="utf-8").splitlines()
    assert [row.split(",")[-1] for row in rows[1:]] == [
        f"platoon/idm_baseline/seed_{store.runs[i].seed}" for i in (0, 1, 3)]   # run folders relative


def test_a_run_without_the_shield_stays_so_on_resume_and_an_older_plan_means_with_it(tmp_path):
    runs = [dataclasses.replace(r, shield=False) for r in plan_runs(["platoon"], 1, ["stack"], tmp_path / "off")]
    CampaignStore.create(tmp_path / "off", runs)
    assert [r.shield for r in CampaignStore.resume(tmp_path / "off").runs] == [False]
    CampaignStore.create(tmp_path / "old", plan_runs(["platoon"], 1, ["stack"], tmp_path / "old"))
    plan = tmp_path / "old" / PLAN_FILE
    header, line = plan.read_text(encoding="utf-8").splitlines()
    older = {k: v for k, v in json.loads(line).items() if k != "shield"}     # a plan from before the field
    plan.write_text(f"{header}\n{json.dumps(older)}\n", encoding="utf-8")
    assert [r.shield for r in CampaignStore.resume(tmp_path / "old").runs] == [True]
