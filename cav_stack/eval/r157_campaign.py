"""R157 summary of a campaign's OpenSCENARIO runs: ``r157_summary.csv`` (one row per run, its
parameter values and the ``r157`` block of its report, see :mod:`cav_stack.eval.r157`),
``r157_summary.md`` (per scenario file: runs, passed, collisions of the stack and of the reference
driver, and the runs failed by the regulation's criterion) and, for scenarios varying a headway
and a relative speed (the cut-in family), ``plots/r157_pass_fail.png``: pass / fail over them.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from cav_stack.eval.campaign_summary import R157_KEY, STATUS_OK, RunOutcome

_COLUMNS = ("collision", "impact_speed_mps", "min_ttc_s", "min_distance_m", "min_following_ratio",
            "following_below_min_s")


def _r157(outcome: RunOutcome) -> dict[str, Any] | None:
    return (outcome.report or {}).get(R157_KEY) if outcome.status == STATUS_OK else None


def _verdict(outcome: RunOutcome) -> str:
    block = _r157(outcome)
    if block is None:
        return "error"
    return "pass" if block["passed"] else "fail"


def write_r157_outputs(outcomes: list[RunOutcome], out_dir: Path) -> dict[str, Path]:
    """Write the R157 files for the outcomes of OpenSCENARIO runs (none without such runs)."""
    runs = [o for o in outcomes if o.spec.scenario.lower().endswith(".xosc")]
    if not runs:
        return {}
    written = {"r157_summary.csv": _write_csv(runs, out_dir / "r157_summary.csv"),
               "r157_summary.md": _write_md(runs, out_dir / "r157_summary.md")}
    plot = _write_plot(runs, out_dir / "plots" / "r157_pass_fail.png")
    if plot is not None:
        written[plot.name] = plot
    return written


def _write_csv(runs: list[RunOutcome], path: Path) -> Path:
    names = list(dict.fromkeys(name for o in runs for name, _ in o.spec.params))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["scenario", "run", "controller", "verdict", *names, *_COLUMNS,
                         "reference_collision", "reference_impact_speed_mps", "error"])
        for o in runs:
            params = dict(o.spec.params)
            block = _r157(o) or {}
            reference = block.get("reference_driver") or {}
            writer.writerow([Path(o.spec.scenario).name, o.spec.seed, o.spec.controller, _verdict(o),
                             *(params.get(n, "") for n in names), *(block.get(c, "") for c in _COLUMNS),
                             reference.get("collision", ""), reference.get("impact_speed_mps", ""), o.error or ""])
    return path


def _write_md(runs: list[RunOutcome], path: Path) -> Path:
    lines = ["# R157 pass criteria", "",
             "A run fails when the stack collides where the R157 reference driver (Annex 4, Appendix 3) does "
             "not, or hits harder than it. Figures on ground truth (cav_stack/eval/r157.py).", "",
             "| scenario | controller | runs | passed | failed | errors | stack collisions | reference collisions "
             "| stack collides, reference not | min TTC [s] | min distance [m] | min gap / R157 minimum |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str], list[RunOutcome]] = defaultdict(list)
    for o in runs:
        groups[(Path(o.spec.scenario).name, o.spec.controller)].append(o)
    failures = []
    for (scenario, controller), mine in groups.items():
        blocks = [b for o in mine if (b := _r157(o)) is not None]
        verdicts = [_verdict(o) for o in mine]
        reference = [b.get("reference_driver") or {} for b in blocks]
        worse = sum(b["collision"] and not r.get("collision", False) for b, r in zip(blocks, reference, strict=True))
        cells = [_smallest([b[k] for b in blocks]) for k in ("min_ttc_s", "min_distance_m", "min_following_ratio")]
        lines.append(f"| {scenario} | {controller} | {len(mine)} | {verdicts.count('pass')} | {verdicts.count('fail')} "
                     f"| {verdicts.count('error')} | {sum(b['collision'] for b in blocks)} "
                     f"| {sum(bool(r.get('collision')) for r in reference)} | {worse} | " + " | ".join(cells) + " |")
        failures += [o for o in mine if _verdict(o) != "pass"]
    if failures:
        lines += ["", "Runs not passed:", ""]
        lines += [f"- {Path(o.spec.scenario).name} run {o.spec.seed} ({_verdict(o)}): "
                  + (o.error or " ".join(f"{n}={v}" for n, v in o.spec.params)) for o in failures]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _smallest(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{min(known):.2f}" if known else "–"


def _axis(names: list[str], *words: str) -> str | None:
    return next((n for n in names if all(w in n.lower() for w in words)), None)


def _write_plot(runs: list[RunOutcome], path: Path) -> Path | None:
    names = list(dict.fromkeys(name for o in runs for name, _ in o.spec.params))
    x_name, y_name = _axis(names, "headway"), _axis(names, "relative", "speed")
    if x_name is None or y_name is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells: dict[tuple[float, float], list[str]] = defaultdict(list)
    for o in runs:
        params = dict(o.spec.params)
        if x_name in params and y_name in params:
            cells[(float(params[x_name]), float(params[y_name]))].append(_verdict(o))
    figure, axes = plt.subplots(figsize=(7, 5))
    for (x, y), verdicts in cells.items():
        failed = sum(v != "pass" for v in verdicts)
        axes.scatter([x], [y], s=40 + 25 * len(verdicts), c="tab:red" if failed else "tab:green", alpha=0.7,
                     edgecolors="black")
        axes.annotate(f"{len(verdicts) - failed}/{len(verdicts)}", (x, y), textcoords="offset points", xytext=(6, 6),
                      fontsize=7)
    axes.set_xlabel(f"{x_name} [m]")
    axes.set_ylabel(f"{y_name} [km/h]")
    axes.set_title("R157 verdict per cell (green: all passed, red: a run failed; label passed/runs)")
    axes.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
