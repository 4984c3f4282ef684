"""Round-trip latency between two processes over Cyclone DDS and over rclpy, against the in-process bus,
and the real-time factor of one closed-loop run on each.

A ping node publishes a message, an echo node publishes it back, the ping node takes the time
from publish to receipt (per-hop latency: half of it). Messages: a ~1 kB diagnostic_msgs/DiagnosticArray
(a DiagnosticStatus with a 900-character message) and a 100k-point sensor_msgs/PointCloud2 (x, y, z,
intensity float32: 1.6 MB). Baseline in the same run: the same two nodes on the in-process executor
(publish to callback in one process, no serialisation). Middlewares: Cyclone DDS (the ``dds`` backend)
and rclpy with Fast DDS (the ``ros2`` backend, one rclpy node per process); both on loopback only.
Then ``highway_cut_in`` with the IDM baseline for ``--run-seconds`` of simulated time in-process,
launched over DDS and launched over ROS 2 (one process per node, lockstep); real-time factor as each
report gives it (simulated time over the wall time of the simulator process).

    python benchmarks/middleware.py [--rounds 200] [--cloud-rounds 30] [--domain-id 42] [--run-seconds 20]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from cav_stack.core.messages import DiagnosticStatus, Header, PointCloud
from cav_stack.runtime.dds_config import fastdds_loopback_profile, loopback_config
from cav_stack.runtime.executor import InProcessExecutor
from cav_stack.runtime.node import Node, NodeContext

TOPICS = {"small": DiagnosticStatus, "cloud": PointCloud}
CLOUD_POINTS = 100_000
WARMUP_TIMEOUT_S = 30.0


def small_message() -> DiagnosticStatus:
    return DiagnosticStatus(Header(0.0, ""), "/bench/status", 0, "x" * 900, (("key", "value"),))


def cloud_message() -> PointCloud:
    points = np.random.default_rng(0).normal(size=(CLOUD_POINTS, 4)).astype(np.float32)
    return PointCloud(Header(0.0, "lidar"), points)


class Echo(Node):
    """Publishes every message of ``/bench/ping/<kind>`` on ``/bench/pong/<kind>``."""

    node_name = "echo"

    def __init__(self, context: NodeContext):
        super().__init__(context)
        for kind, msg_type in TOPICS.items():
            publisher = self.create_publisher(msg_type, f"/bench/pong/{kind}")
            self.create_subscription(msg_type, f"/bench/ping/{kind}", publisher.publish)


class Ping(Node):
    """Publishes on ``/bench/ping/<kind>`` and records the round trip [s] of every echo."""

    node_name = "ping"

    def __init__(self, context: NodeContext):
        super().__init__(context)
        self.round_trips: list[float] = []
        self._sent_at = 0.0
        self._publishers = {kind: self.create_publisher(t, f"/bench/ping/{kind}") for kind, t in TOPICS.items()}
        for kind, msg_type in TOPICS.items():
            self.create_subscription(msg_type, f"/bench/pong/{kind}", self._on_echo)

    def send(self, kind: str, msg: Any) -> None:
        self._sent_at = time.perf_counter()
        self._publishers[kind].publish(msg)

    def _on_echo(self, msg: Any) -> None:
        self.round_trips.append(time.perf_counter() - self._sent_at)


class TimedPing(Ping):
    """A Ping sending one message per 50 ms timer call (how nodes publish)."""

    def __init__(self, context: NodeContext, *, kind: str, msg: Any):
        super().__init__(context)
        self.create_timer(0.05, lambda: self.send(kind, msg))


def in_process_round_trips(kind: str, msg: Any, rounds: int) -> np.ndarray:
    """Round trips [s] on the in-process executor."""
    executor = InProcessExecutor(seed=0)
    ping = executor.add_node(TimedPing, kind=kind, msg=msg)
    executor.add_node(Echo)
    executor.spin_until(0.05 * rounds)
    if len(ping.round_trips) != rounds:
        raise RuntimeError(f"in-process: {rounds - len(ping.round_trips)} echoes missing")
    return np.array(ping.round_trips)


def dds_round_trips(runtime, ping: Ping, kind: str, msg: Any, rounds: int) -> np.ndarray:
    """Round trips [s] to the echo process (after warm-up round trips that wait for discovery)."""
    def round_trip(timeout: float) -> bool:
        before = len(ping.round_trips)
        give_up = time.perf_counter() + timeout
        ping.send(kind, msg)
        while len(ping.round_trips) == before:
            if time.perf_counter() > give_up:
                return False
            runtime.wait(timeout)
        return True

    give_up = time.monotonic() + WARMUP_TIMEOUT_S
    while not round_trip(0.5):
        if time.monotonic() > give_up:
            raise RuntimeError(f"no echo of /bench/ping/{kind} within {WARMUP_TIMEOUT_S:g} s")
    for _ in range(3):
        round_trip(5.0)
    first = len(ping.round_trips)
    lost = sum(not round_trip(5.0) for _ in range(rounds))
    if lost:
        raise RuntimeError(f"{lost} of {rounds} echoes of {kind} lost")
    return np.array(ping.round_trips[first:])


def run_echo(domain_id: int, backend: str) -> int:
    from cav_stack.runtime.dds_backend import interrupt_on_sigterm
    from cav_stack.runtime.process_backends import open_runtime

    interrupt_on_sigterm()
    runtime = open_runtime(backend, domain_id, node_name="echo")
    runtime.add_node(Echo)
    try:
        runtime.spin()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
    return 0


def describe(label: str, seconds: np.ndarray) -> tuple[float, float]:
    """Print and return the median and 99th percentile of round trips [us]."""
    median, p99 = np.median(seconds) * 1e6, np.percentile(seconds, 99) * 1e6
    print(f"  {label:<28s} median {median:10.1f} us   p99 {p99:10.1f} us   ({len(seconds)} round trips)")
    return median, p99


def round_trips_over(backend: str, domain_id: int, cases, env: dict[str, str]) -> list[np.ndarray]:
    """Round trips [s] of each case to an echo process on ``backend``."""
    from cav_stack.runtime.process_backends import open_runtime

    echo = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--echo", "--backend", backend,
                             "--domain-id", str(domain_id)], env=env)
    runtime = open_runtime(backend, domain_id, node_name="ping")
    try:
        ping = runtime.add_node(Ping)
        return [dds_round_trips(runtime, ping, kind, msg, rounds) for _, kind, msg, rounds in cases]
    finally:
        runtime.close()
        echo.terminate()
        try:
            echo.wait(timeout=10)
        except subprocess.TimeoutExpired:
            echo.kill()


def real_time_factors(seconds: float, domain_id: int, out_dir: Path) -> dict[str, float]:
    """Real-time factor of highway_cut_in (IDM baseline, ``seconds`` simulated) in-process, over DDS, over ROS 2."""
    from cav_stack.app.dds_launch import launch_drive
    from cav_stack.app.runner import run_scenario

    factors = {"in-process": run_scenario("highway_cut_in", seed=None, out_dir=out_dir / "in_process",
                                          controller="idm_baseline", duration_s=seconds).report["real_time_factor"]}
    for label, backend, domain in (("Cyclone DDS", "dds", domain_id), ("rclpy (ROS 2)", "ros2", domain_id + 1)):
        run_dir = out_dir / backend
        code = launch_drive("highway_cut_in", seed=None, out_dir=run_dir, controller="idm_baseline", domain_id=domain,
                            duration_s=seconds, backend=backend)
        if code != 0:
            raise RuntimeError(f"launch drive --backend {backend} exited with {code}")
        factors[label] = json.loads((run_dir / "report.json").read_text())["real_time_factor"]
    return factors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200, help="round trips of the 1 kB message")
    parser.add_argument("--cloud-rounds", type=int, default=30, help="round trips of the point cloud")
    parser.add_argument("--domain-id", type=int, default=42, help="DDS domain (rclpy uses the next one)")
    parser.add_argument("--run-seconds", type=float, default=20.0, help="simulated seconds of the closed-loop runs")
    parser.add_argument("--echo", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", choices=("dds", "ros2"), default="dds", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["CYCLONEDDS_URI"] = loopback_config()
    if args.echo:
        return run_echo(args.domain_id, args.backend)

    from cav_stack.app.dds_launch import child_environment

    with tempfile.TemporaryDirectory() as scratch:
        profile = Path(scratch) / "fastdds_loopback.xml"
        profile.write_text(fastdds_loopback_profile())
        os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(profile)
        os.environ.pop("ROS_AUTOMATIC_DISCOVERY_RANGE", None)
        env = child_environment()
        cases = (("1 kB DiagnosticArray", "small", small_message(), args.rounds),
                 (f"{CLOUD_POINTS // 1000}k-point PointCloud2", "cloud", cloud_message(), args.cloud_rounds))
        in_process = [in_process_round_trips(kind, msg, rounds) for _, kind, msg, rounds in cases]
        measured = {"in-process executor": in_process,
                    "Cyclone DDS, two processes": round_trips_over("dds", args.domain_id, cases, env),
                    "rclpy, two processes": round_trips_over("ros2", args.domain_id + 1, cases, env)}
        print("per-hop latency = round trip ping -> echo -> ping / 2 (shared machine: expect noisy figures)")
        for index, (label, *_rest) in enumerate(cases):
            print(f"{label}:")
            base_median, _ = describe("in-process executor", measured["in-process executor"][index] / 2)
            for name in ("Cyclone DDS, two processes", "rclpy, two processes"):
                median, _ = describe(name, measured[name][index] / 2)
                print(f"  {'  / in-process':<28s} median {median / base_median:9.0f}x")
        factors = real_time_factors(args.run_seconds, args.domain_id, Path(scratch))
    print(f"real-time factor, highway_cut_in, idm_baseline, {args.run_seconds:g} s simulated:")
    for label, factor in factors.items():
        print(f"  {label:<28s} {factor:6.2f}x   ({factor / factors['in-process']:.2f} of in-process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
