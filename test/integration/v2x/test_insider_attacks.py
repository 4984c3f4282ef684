"""Closed loop on real SUMO, the insider-attack catalogue: every attacker signs with its own
genuine certificates; its messages are sent, none is acted upon, no honest sender is blamed,
nobody collides, and each attack is stopped by the check meant for it."""
from __future__ import annotations

import pytest

from cav_stack.app.runner import run_scenario

#: scenario -> the refusal that must stop its attack frames
STOPPED_BY = {
    "insider_spat_forgery": "permission",       # a pseudonym certificate carries no SPaT permission
    "insider_rsa_closure": "permission",        # nor RoadSideAlert (sent under its own PSID: the SSP says no)
    "id_spoofing": "station_id_conflict",       # the ID stays bound to the victim's certificate
    "future_dated_bsm": "future_report",        # its own time lies 20 s after its signing time
    "sybil_pseudonyms": "revoked",              # revoked at t = 20 s (ghost-checked before)
}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(STOPPED_BY))
def test_insider_attack_is_sent_never_acted_upon_and_blames_nobody_honest(tmp_path, scenario):
    report = run_scenario(scenario, seed=None, out_dir=tmp_path, controller="stack").report
    v2x = report["v2x"]
    attacks = v2x["attacks"]
    assert attacks["sent"] > 0, attacks
    assert attacks["acted_upon"] == 0, attacks
    assert v2x["false_alarms"] == 0, v2x["false_alarm_senders"]
    assert report["collisions"] == 0
    assert report["callback_errors"] == {}
    assert v2x["refused"].get(STOPPED_BY[scenario], 0) > 0, v2x["refused"]
    if scenario != "sybil_pseudonyms":    # Sybil identities pass until seen to be ghosts or revoked
        assert attacks["accepted"] == 0, attacks
