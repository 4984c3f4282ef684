"""CPU time of the misbehaviour detector's per-report checks (``MisbehaviourDetector.on_report``).

    python benchmarks/misbehaviour_checks.py [--senders 19] [--seconds 10] [--repeats 3]

Honest senders at 10 Hz on parallel straight tracks (``v2x/security.yaml``'s parameters, every
position on the road): the process CPU time per report [us], best of ``--repeats``.
"""
from __future__ import annotations

import argparse
import time

from cav_stack.core.messages import MAP_FRAME, Header, V2xVehicleReport
from cav_stack.core.share import share_path
from cav_stack.v2x.misbehaviour import MisbehaviourDetector
from cav_stack.v2x.trust_params import load_trust_params

_RATE_HZ = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=int, default=19)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    params = load_trust_params(share_path("v2x", "security.yaml")).misbehaviour
    reports = []
    for step in range(round(args.seconds * _RATE_HZ)):
        t = step / _RATE_HZ
        for sender in range(args.senders):
            speed = 20.0 + 0.3 * sender
            reports.append(V2xVehicleReport(Header(t, MAP_FRAME), sender, step % 128, 10.0 * sender + speed * t,
                                            3.5 * (sender % 3), 0.0, speed, 0.0, 0.0, 4.5, 1.8, 0.5))
    best = float("inf")
    for _ in range(args.repeats):
        detector = MisbehaviourDetector(params, lambda x, y, margin: True)
        cpu = time.process_time()
        for report in reports:
            detector.on_report(report, report.header.stamp)
        best = min(best, time.process_time() - cpu)
    print(f"on_report: {1e6 * best / len(reports):.1f} us CPU per report "
          f"({args.senders} senders, {len(reports)} reports, best of {args.repeats})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
