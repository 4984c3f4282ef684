"""Campaign plots (PNG, matplotlib Agg) from the outcomes of :mod:`cav_stack.app.campaign`.

- ``metric_<key>.png``: one per :data:`~cav_stack.eval.campaign_summary.SUMMARY_METRICS` key any run
  reports: bars per scenario and controller, the mean over completed seeds with min-max whiskers;
- ``capacity_<family>.png``: lane throughput [veh/h/lane] against CAV penetration [%] for each
  scenario family ``<family>_p<NN>`` with at least two penetration levels, one line per
  controller; penetration is the run's measured ``cav_share`` (else the ``NN`` of the name);
- ``pdr_vs_distance.png``: V2X packet delivery ratio against distance, one line per scenario and
  controller averaged over seeds, for runs whose report carries ``v2x_pdr_by_distance``
  (``{"distance_m": [...], "pdr": [...]}``).
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from cav_stack.eval.campaign_summary import (PDR_KEY, SUMMARY_METRICS, RunOutcome, capacity_points, completed,
                                             outcome_number)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metric(outcomes: list[RunOutcome], key: str, path: Path) -> Path | None:
    """Grouped bars of report ``key`` (scenarios x controllers); None when no run has it."""
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for o in completed(outcomes):
        value = outcome_number(o, key)
        if value is not None:
            values[(o.spec.scenario, o.spec.controller)].append(value)
    if not values:
        return None
    scenarios = list(dict.fromkeys(o.spec.scenario for o in outcomes))
    controllers = list(dict.fromkeys(o.spec.controller for o in outcomes))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(scenarios) * max(1, len(controllers)) / 2), 4.5))
    width = 0.8 / len(controllers)
    x = np.arange(len(scenarios))
    for i, controller in enumerate(controllers):
        means, low, high = [], [], []
        for scenario in scenarios:
            v = values.get((scenario, controller), [])
            mean = float(np.mean(v)) if v else np.nan
            means.append(mean)
            # a mean of equal values can round past them: the error bars never go negative
            low.append(max(mean - min(v), 0.0) if v else 0.0)
            high.append(max(max(v) - mean, 0.0) if v else 0.0)
        ax.bar(x + (i - (len(controllers) - 1) / 2) * width, means, width, yerr=[low, high], capsize=2,
               label=controller)
    ax.set_xticks(x, scenarios, rotation=30, ha="right", fontsize="small")
    ax.set_ylabel(SUMMARY_METRICS.get(key, key))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(f"{SUMMARY_METRICS.get(key, key)} by controller (mean, min–max over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_capacity(family: str, curves: dict[str, list[tuple[float, float]]], path: Path) -> Path | None:
    """Throughput against penetration of one family, mean over seeds per level; None if fewer
    than two penetration levels."""
    if len({round(p, 6) for pts in curves.values() for p, _ in pts}) < 2:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for controller, pts in curves.items():
        levels = sorted({round(p, 6) for p, _ in pts})
        means = [float(np.mean([q for p, q in pts if round(p, 6) == level])) for level in levels]
        ax.plot(levels, means, marker="o", label=controller)
        ax.scatter([p for p, _ in pts], [q for _, q in pts], s=10, alpha=0.4)
    ax.set_xlabel("CAV penetration [%]")
    ax.set_ylabel("lane throughput [veh/h/lane]")
    ax.set_title(f"{family}: capacity against CAV penetration")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_pdr(outcomes: list[RunOutcome], path: Path) -> Path | None:
    """PDR against distance per scenario and controller; None when no run carries V2X figures."""
    curves: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for o in completed(outcomes):
        data = o.report.get(PDR_KEY) if o.report is not None else None
        if not isinstance(data, dict):
            continue
        for distance, pdr in zip(data.get("distance_m", ()), data.get("pdr", ()), strict=True):
            if pdr is not None and math.isfinite(pdr):
                curves[f"{o.spec.scenario} / {o.spec.controller}"][float(distance)].append(float(pdr))
    if not curves:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for label, by_distance in curves.items():
        distances = sorted(by_distance)
        ax.plot(distances, [np.mean(by_distance[d]) for d in distances], marker=".", label=label)
    ax.set_xlabel("distance [m]")
    ax.set_ylabel("packet delivery ratio")
    ax.set_ylim(0.0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small")
    ax.set_title("V2X PDR against distance")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_campaign_plots(outcomes: list[RunOutcome], out_dir: Path) -> list[Path]:
    """Every plot the outcomes support (see the module docstring), written to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [plot_metric(outcomes, key, out_dir / f"metric_{key}.png") for key in SUMMARY_METRICS]
    for family, curves in capacity_points(outcomes).items():
        written.append(plot_capacity(family, curves, out_dir / f"capacity_{family}.png"))
    written.append(plot_pdr(outcomes, out_dir / "pdr_vs_distance.png"))
    return [p for p in written if p is not None]
