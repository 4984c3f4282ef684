"""``cav-stack v2x-pdr``: packet delivery ratio against distance of a V2X radio model on a straight
highway, against the analytical model (the experiment: :mod:`cav_stack.eval.v2x_pdr`)."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from cav_stack.app.exit_codes import ExitCode, fail
from cav_stack.app.run_args import check_out_dir, positive_number, seconds
from cav_stack.core.params import ParamsError
from cav_stack.core.share import share_path
from cav_stack.eval.v2x_pdr import analytical_pdr, configure, max_deviation, simulate_pdr, write_csv
from cav_stack.v2x.radio.profile import CANDIDATE_RANKINGS, RadioProfile, load_radio_profile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``v2x-pdr`` options to ``parser``."""
    parser.add_argument("--tech", choices=("cv2x", "dsrc"), required=True, help="radio technology")
    parser.add_argument("--density", type=positive_number, required=True, help="vehicles per metre")
    parser.add_argument("--power-dbm", type=float, default=None, help="transmit power [dBm]")
    parser.add_argument("--packet-bytes", type=int, default=190, help="payload size [bytes]")
    parser.add_argument("--rate-hz", type=positive_number, default=10.0, help="packets per second per vehicle")
    parser.add_argument("--subchannels", type=int, default=None, help="C-V2X sub-channels S")
    parser.add_argument("--data-rate-mbps", type=positive_number, default=None, help="802.11p data rate [Mbit/s]")
    parser.add_argument("--candidate-ranking", choices=CANDIDATE_RANKINGS, default=None,
                        help="C-V2X Step 3 candidate ranking (s_rssi: 3GPP; random: as the "
                             "analytical model assumes)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--duration-s", type=seconds, default=10.0, help="measured time [s]")
    parser.add_argument("--warmup-s", type=float, default=2.0, help="warm-up before measuring [s]")
    parser.add_argument("--profile", type=Path, default=None,
                        help="radio profile YAML (default: v2x/radio_<tech>.yaml)")
    parser.add_argument("--csv", type=Path, required=True, help="output CSV path")


def configured_profile(args: argparse.Namespace) -> RadioProfile:
    """The radio profile of ``args`` with the command line's overrides; ValueError / ParamsError
    for a profile of the other technology, options that do not apply to it, or a bad file."""
    path = args.profile or share_path("v2x", f"radio_{args.tech}.yaml")
    profile = load_radio_profile(path)
    if profile.technology != args.tech:
        raise ValueError(f"{path}: profile is for {profile.technology!r}, not {args.tech!r}")
    data_rate = None if args.data_rate_mbps is None else args.data_rate_mbps * 1e6
    return configure(profile, args.power_dbm, args.subchannels, data_rate, args.rate_hz, args.candidate_ranking)


def run(args: argparse.Namespace) -> int:
    """Run the experiment, write the CSV, print the max |sim - analytical|; 0 on success, 2 (one
    line on stderr) for options that contradict the profile, a bad profile or an unwritable CSV."""
    try:
        profile = configured_profile(args)
        if args.warmup_s < 0.0 or not math.isfinite(args.warmup_s):
            raise ValueError(f"--warmup-s must be a finite number of seconds >= 0, got {args.warmup_s}")
        if args.packet_bytes < 1:
            raise ValueError(f"--packet-bytes must be >= 1, got {args.packet_bytes}")
        check_out_dir(args.csv.parent if str(args.csv.parent) else Path("."))
    except (ValueError, ParamsError, OSError) as exc:
        return fail("cav-stack v2x-pdr", exc, ExitCode.USAGE)
    rng = np.random.default_rng(args.seed)
    sim = simulate_pdr(profile, args.density, args.rate_hz, args.packet_bytes, args.duration_s,
                       args.warmup_s, rng)
    ref = analytical_pdr(profile, args.density, args.rate_hz, args.packet_bytes, sim.distance)
    write_csv(args.csv, args.tech, sim, ref)
    deviation = max_deviation(sim, ref)
    print(f"{args.tech}: {sim.n_vehicles} vehicles, max |PDR sim - analytical| = {deviation:.3f}, "
          f"real-time ratio {sim.sim_time / max(sim.cpu_time, 1e-9):.1f} (processor time), wrote {args.csv}")
    return ExitCode.OK
