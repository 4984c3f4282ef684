"""The V2X attack catalogue closed loop on SUMO: per scenario, attack frames sent, accepted and
acted upon, false alarms (verdicts against honest senders), collisions, and the refusals that
stopped the attack. Prints a Markdown table (the README's) or, with --json, one JSON line per run.

    python benchmarks/v2x_attacks.py [--json] [--out DIR] [scenario ...]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from cav_stack.app.runner import run_scenario

CATALOGUE = ("ghost_attack", "insider_spat_forgery", "insider_rsa_closure", "id_spoofing", "future_dated_bsm",
             "sybil_pseudonyms")
#: Refusal counters that are part of the defence (the others are honest traffic's: digest before
#: certificate, radio corruption).
DEFENCE = ("permission", "revoked", "future_report", "stale_report", "station_id_conflict", "misbehaviour")


def row(name: str, out: Path) -> dict:
    started = time.perf_counter()
    report = run_scenario(name, seed=None, out_dir=out / name, controller="stack").report
    v2x = report["v2x"]
    return {"scenario": name, "sim_time_s": report["sim_time_s"], **v2x["attacks"],
            "false_alarms": v2x["false_alarms"], "collisions": report["collisions"],
            "stopped_by": {k: v for k, v in v2x["refused"].items() if k in DEFENCE},
            "callback_errors": report["callback_errors"], "wall_s": round(time.perf_counter() - started, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=list(CATALOGUE))
    parser.add_argument("--json", action="store_true", help="one JSON line per run instead of the table")
    parser.add_argument("--out", type=Path, default=None, help="run directories (default: a temporary folder)")
    args = parser.parse_args()
    unknown = sorted(set(args.scenarios) - set(CATALOGUE))
    if unknown:
        print(f"v2x_attacks: not in the attack catalogue: {', '.join(unknown)} (known: {', '.join(CATALOGUE)})")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        rows = []
        for name in args.scenarios:
            rows.append(row(name, out))
            if args.json:
                print(json.dumps(rows[-1]), flush=True)
    if not args.json:
        print("| scenario | sent | accepted | acted upon | false alarms | collisions | stopped by (refusals) |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            stopped = ", ".join(f"{k} {v}" for k, v in sorted(r["stopped_by"].items()))
            print(f"| `{r['scenario']}` | {r['sent']} | {r['accepted']} | {r['acted_upon']} | {r['false_alarms']} "
                  f"| {r['collisions']} | {stopped} |")
    failed = [r for r in rows if not (r["sent"] > 0 and r["acted_upon"] == 0 and r["false_alarms"] == 0
                                      and r["collisions"] == 0 and not r["callback_errors"])]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
