"""Capacity of the motorway bottleneck against CAV penetration: table and plot from a campaign.

Reads every ``report.json`` under a campaign folder (``cav-stack eval --out DIR``) whose scenario is
one of ``motorway_bottleneck_p<percent>`` and writes, per controller and nominal penetration, the
discharge flow downstream of the merge (``throughput_veh_h_lane``: the Highway Capacity Manual's
queue discharge flow per lane after the warm-up, see cav_stack/eval/traffic_metrics.py), its ratio
to the all-human flow (the 0 % runs), the measured CAV share and each run's wall time::

    cav-stack eval --scenarios motorway_bottleneck_p0,motorway_bottleneck_p25,motorway_bottleneck_p50,\\
        motorway_bottleneck_p75,motorway_bottleneck_p100 --seeds 1 --controllers stack,sumo_acc,sumo_cacc \\
        --out runs/bottleneck
    python benchmarks/motorway_capacity.py runs/bottleneck [--plot docs/campaign/capacity_motorway_bottleneck.png]

Prints a Markdown table (means over the seeds found); ``--plot`` writes the capacity curves.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path

FAMILY = re.compile(r"^motorway_bottleneck_p(?P<percent>\d+)$")


def collect(root: Path) -> dict[str, dict[int, list[dict]]]:
    """controller -> nominal penetration [%] -> reports of the family's runs under ``root``."""
    runs: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(root.rglob("report.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        match = FAMILY.match(str(report.get("scenario", "")))
        if match and report.get("throughput_veh_h_lane") is not None:
            runs[report["controller"]][int(match["percent"])].append(report)
    return runs


def human_flow(runs: dict[str, dict[int, list[dict]]]) -> float:
    """The all-human discharge flow [veh/h/lane]: the mean over every 0 % run (no CAV: the same
    traffic whatever the controller)."""
    flows = [r["throughput_veh_h_lane"] for levels in runs.values() for r in levels.get(0, ())]
    if not flows:
        raise SystemExit("no motorway_bottleneck_p0 run found: the ratios need the all-human flow")
    return statistics.fmean(flows)


def table(runs: dict[str, dict[int, list[dict]]]) -> str:
    """Markdown: throughput (ratio to all-human), CAV share and run wall time per controller and level."""
    human = human_flow(runs)
    levels = sorted({level for by_level in runs.values() for level in by_level})
    lines = [f"All-human discharge flow (0 % CAVs): {human:.0f} veh/h/lane.", "",
             "| controller | " + " | ".join(f"{p} %" for p in levels) + " |", "|---|" + "---|" * len(levels)]
    for controller in sorted(runs):
        cells = []
        for level in levels:
            reports = runs[controller].get(level, [])
            if not reports:
                cells.append("–")
                continue
            flow = statistics.fmean(r["throughput_veh_h_lane"] for r in reports)
            share = statistics.fmean(r.get("cav_share") or 0.0 for r in reports)
            wall = statistics.fmean(r["wall_time_s"] for r in reports)
            cells.append(f"{flow:.0f} ({flow / human:.2f}×; {100 * share:.0f} % CAVs; {wall:.0f} s)")
        lines.append(f"| {controller} | " + " | ".join(cells) + " |")
    lines += ["", "Cells: discharge flow [veh/h/lane] (ratio to all-human; measured CAV share; run wall time)."]
    return "\n".join(lines)


def plot(runs: dict[str, dict[int, list[dict]]], path: Path) -> None:
    """Capacity ratio against penetration, one line per controller (mean over seeds, dots per run)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    human = human_flow(runs)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for controller in sorted(runs):
        levels = sorted(runs[controller])
        means = [statistics.fmean(r["throughput_veh_h_lane"] for r in runs[controller][p]) / human for p in levels]
        ax.plot(levels, means, marker="o", label=controller)
        for p in levels:
            ax.scatter([p] * len(runs[controller][p]),
                       [r["throughput_veh_h_lane"] / human for r in runs[controller][p]], s=10, alpha=0.4)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.axhline(1.6, color="grey", lw=0.8, ls="--", label="target at 100 % (1.6×)")
    ax.set_xlabel("CAV penetration [%]")
    ax.set_ylabel(f"discharge flow / all-human ({human:.0f} veh/h/lane)")
    ax.set_title("motorway_bottleneck: capacity against CAV penetration")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("campaign", type=Path, help="campaign folder (cav-stack eval --out)")
    parser.add_argument("--plot", type=Path, help="write the capacity curves to this PNG")
    args = parser.parse_args()
    runs = collect(args.campaign)
    print(table(runs))
    if args.plot is not None:
        plot(runs, args.plot)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
