"""V2X radio validation: simulated PDR(d) against the published analytical models, and speed.

Runs every configuration of shared/v2x-validation.md (straight highway, 190-byte packets at
10 Hz) and prints, per configuration, max |PDR_sim - PDR_analytical| over 0..500 m and the
largest deviation of each loss type; acceptance is 0.05 at every distance. C-V2X runs with the
profile's 3GPP S-RSSI Step 3 ranking (acceptance rows) and again, for information, with the
random candidate subsets the analytical model assumes.
Then it times 500 vehicles broadcasting at 10 Hz per technology and prints the real-time ratio
(simulated time / processor time, and / wall time; the baseline is real time itself).

    python benchmarks/v2x_pdr.py [--duration-s 20] [--seed 0] [--png runs/v2x_pdr.png]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from cav_stack.core.share import share_path
from cav_stack.eval.v2x_pdr import (analytical_pdr, configure, make_access_model,
                                    max_deviation, simulate_pdr)
from cav_stack.v2x.radio.outcomes import LOSS_TYPES
from cav_stack.v2x.radio.profile import load_radio_profile

RATE = 10.0          # Hz
PACKET_BYTES = 190
TOLERANCE = 0.05     # acceptance: |PDR_sim - PDR_analytical| at every distance

# (label, technology, density [veh/m], power [dBm], sub-channels, data rate [bit/s], ranking,
#  acceptance row?) -- ranking None keeps the profile's (3GPP S-RSSI) Step 3.
CONFIGS = [
    ("C-V2X b=0.1 20dBm S=4", "cv2x", 0.1, 20.0, 4, None, None, True),
    ("C-V2X b=0.1 23dBm S=4", "cv2x", 0.1, 23.0, 4, None, None, True),
    ("C-V2X b=0.2 20dBm S=4", "cv2x", 0.2, 20.0, 4, None, None, True),
    ("C-V2X b=0.1 20dBm S=2", "cv2x", 0.1, 20.0, 2, None, None, True),
    ("802.11p b=0.06 6Mbps", "dsrc", 0.06, 23.0, None, 6e6, None, True),
    ("802.11p b=0.12 6Mbps", "dsrc", 0.12, 23.0, None, 6e6, None, True),
    ("802.11p b=0.06 18Mbps", "dsrc", 0.06, 23.0, None, 18e6, None, True),
    ("802.11p b=0.06 27Mbps", "dsrc", 0.06, 23.0, None, 27e6, None, True),
    ("C-V2X b=0.1 20dBm S=4 [random Step 3]", "cv2x", 0.1, 20.0, 4, None, "random", False),
    ("C-V2X b=0.1 23dBm S=4 [random Step 3]", "cv2x", 0.1, 23.0, 4, None, "random", False),
    ("C-V2X b=0.2 20dBm S=4 [random Step 3]", "cv2x", 0.2, 20.0, 4, None, "random", False),
    ("C-V2X b=0.1 20dBm S=2 [random Step 3]", "cv2x", 0.1, 20.0, 2, None, "random", False),
]


def validate(duration: float, warmup: float, seed: int):
    """Run every configuration; return (label, technology, sim, ref) tuples."""
    results = []
    print(f"{'configuration':38s} {'max|dPDR|':>9s}  per loss type max|d|          CBR(ana)  ok")
    for i, (label, tech, density, power, sub, data_rate, ranking, acceptance) in enumerate(CONFIGS):
        profile = configure(load_radio_profile(share_path("v2x", f"radio_{tech}.yaml")), power, sub,
                            data_rate, RATE, ranking)
        sim = simulate_pdr(profile, density, RATE, PACKET_BYTES, duration, warmup,
                           np.random.default_rng(seed + i))
        ref = analytical_pdr(profile, density, RATE, PACKET_BYTES, sim.distance)
        dev = max_deviation(sim, ref)
        per_loss = "  ".join(f"{c.name[:4].lower()} {np.nanmax(np.abs(sim.losses[c] - ref.losses[c])):.3f}"
                             for c in LOSS_TYPES[tech])
        ok = ("yes" if dev <= TOLERANCE else "NO") if acceptance else "(info)"
        print(f"{label:38s} {dev:9.3f}  {per_loss}  {ref.cbr:6.3f}  {ok}")
        results.append((label, tech, sim, ref))
    return results


def speed(seed: int, duration: float = 10.0, vehicles: int = 500) -> None:
    """Real-time ratio of each technology for ``vehicles`` stations 10 m apart at 10 Hz."""
    positions = np.column_stack([np.arange(vehicles) * 10.0, np.zeros(vehicles)])
    n = len(positions)
    for tech in ("dsrc", "cv2x"):
        profile = load_radio_profile(share_path("v2x", f"radio_{tech}.yaml"))
        rng = np.random.default_rng(seed)
        model = make_access_model(profile, n)
        active = np.ones(n, dtype=bool)
        phase = rng.uniform(0.0, 1.0 / RATE, n)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        frames = 0
        for j in range(int(duration * RATE)):
            for slot in range(n):
                model.enqueue(slot, (j + phase[slot]) / RATE, j * n + slot, PACKET_BYTES)
            frames += len(model.advance((j + 1) / RATE, positions, active, rng))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        print(f"speed {tech:5s}: {n} vehicles x {RATE:g} Hz, {duration:g} s simulated, {frames} frames: "
              f"real-time ratio {duration / cpu:.1f} (processor time), {duration / wall:.1f} (wall)")


def plot(results, path: Path) -> None:
    """One panel per configuration: simulated (markers) and analytical (lines) PDR and losses."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 4
    rows = int(np.ceil(len(results) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), sharex=True, sharey=True)
    for ax, (label, tech, sim, ref) in zip(axes.ravel(), results, strict=False):
        ax.plot(ref.distance, ref.pdr, "k-", label="PDR analytical")
        ax.plot(sim.distance, sim.pdr, "ko", ms=3, label="PDR sim")
        for code, colour in zip(LOSS_TYPES[tech], ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=False):
            ax.plot(ref.distance, ref.losses[code], "-", color=colour, lw=1)
            ax.plot(sim.distance, sim.losses[code], "o", color=colour, ms=2, label=code.name.lower())
        ax.set_title(label, fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=5, loc="center left")
    for ax in axes.ravel()[len(results):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("distance [m]")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration-s", type=float, default=20.0, help="measured time per configuration [s]")
    parser.add_argument("--warmup-s", type=float, default=2.0, help="warm-up per configuration [s]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", type=Path, default=Path("runs/v2x_pdr.png"))
    args = parser.parse_args()
    results = validate(args.duration_s, args.warmup_s, args.seed)
    plot(results, args.png)
    speed(args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
