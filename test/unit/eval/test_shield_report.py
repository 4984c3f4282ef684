"""The report's shield section: the two sides' records of one conflict merge into one resolution,
naming the CAVs; sides that name different winners are flagged; later conflicts count apart."""
from __future__ import annotations

from cav_stack.eval.shield_report import SideRecord, shield_summary

STATIONS = {11: "cav_0", 22: "cav_1"}


def test_both_sides_of_one_conflict_make_one_agreed_resolution_with_the_yielding_action():
    records = [SideRecord("cav_0", 19.75, 11, 22, False, "proceeds"),
               SideRecord("cav_1", 19.95, 11, 22, False, "defers its lane change")]
    summary = shield_summary(records, STATIONS, enabled=True)
    assert summary["conflicts"] == 1
    (resolution,) = summary["resolutions"]
    assert resolution["proceeded"] == "cav_0" and resolution["yielded"] == "cav_1"
    assert resolution["how"] == "defers its lane change" and resolution["agreed"]
    assert resolution["recorded_by"] == ["cav_0", "cav_1"]


def test_sides_naming_different_winners_do_not_agree_and_a_later_conflict_counts_apart():
    records = [SideRecord("cav_0", 10.0, 11, 22, False, "proceeds"),
               SideRecord("cav_1", 10.2, 22, 11, False, "proceeds"),
               SideRecord("cav_1", 30.0, 11, 22, True, "aborts its lane change")]
    summary = shield_summary(records, STATIONS, enabled=True)
    first, later = summary["resolutions"]
    assert not first["agreed"] and later["agreed"] and later["unsure"]
    assert summary["conflicts"] == 2 and later["how"] == "aborts its lane change"
