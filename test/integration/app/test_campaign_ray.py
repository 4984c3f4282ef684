"""Campaigns on Ray, on this machine only: a local Ray instance, and a head plus a second worker node
started with ``ray start`` on 127.0.0.1 (non-default ports, own temp folders). Every campaign runs
through the command line in a process of its own, like a user's; every Ray process a test starts is
ended by its process id when the test is over (no ``ray stop``, which would end every Ray process of
the machine).

Needs the 'ray' extra: in CI (CI=true) a missing Ray fails these tests instead of skipping them.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

if os.environ.get("CI") != "true":
    pytest.importorskip("ray", reason="the 'ray' extra is not installed")

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable
RAY = str(Path(sys.executable).with_name("ray"))
TASK_TITLE = "ray::cav_stack_run"
HEAD_PORT = 6391                         # not Ray's default 6379: never join someone else's cluster
WALL_TIME_COLUMNS = {"real_time_factor"}
CAMPAIGN = ["--scenarios", "highway_cut_in", "--seeds", "1,2", "--controllers", "stack,idm_baseline",
            "--duration", "0.5"]


def _env() -> dict[str, str]:
    # token authentication off: nothing is written to ~/.ray and the driver needs no token
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
            "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we may read."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            found[int(entry)] = (parent, cmdline)
    return found


def _end_ray_processes(temp_dirs: list[str]) -> list[int]:
    """End the Ray processes of the sessions under ``temp_dirs`` and their children (workers), by pid."""
    processes = _processes()
    markers = [f"{d}/session_" for d in temp_dirs]
    tree = {pid for pid, (_, cmd) in processes.items() if any(m in cmd for m in markers)} - {os.getpid()}
    grown = True
    while grown:
        children = {pid for pid, (parent, _) in processes.items() if parent in tree} - tree
        tree |= children
        grown = bool(children)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in tree:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in tree):
            time.sleep(0.2)
    return sorted(tree)


@dataclass(frozen=True)
class Cluster:
    address: str
    temp_dirs: tuple[str, str]


@pytest.fixture(scope="module")
def cluster():
    """A head (1 CPU) and a second worker node (1 CPU) on 127.0.0.1."""
    head_dir, worker_dir = tempfile.mkdtemp(prefix="rh", dir="/tmp"), tempfile.mkdtemp(prefix="rw", dir="/tmp")
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    try:
        subprocess.run([RAY, "start", "--head", "--port", str(HEAD_PORT), "--temp-dir", head_dir,
                        "--include-dashboard", "false", "--dashboard-port", "6397", "--node-manager-port", "6392",
                        "--object-manager-port", "6393", "--min-worker-port", "20300", "--max-worker-port", "20399",
                        *common], env=_env(), check=True, timeout=120, capture_output=True)
        subprocess.run([RAY, "start", "--address", f"127.0.0.1:{HEAD_PORT}", "--temp-dir", worker_dir,
                        "--node-manager-port", "6395", "--object-manager-port", "6396",
                        "--min-worker-port", "20400", "--max-worker-port", "20499", *common],
                       env=_env(), check=True, timeout=120, capture_output=True)
        yield Cluster(f"127.0.0.1:{HEAD_PORT}", (head_dir, worker_dir))
    finally:
        _end_ray_processes([head_dir, worker_dir])
        for folder in (head_dir, worker_dir):
            shutil.rmtree(folder, ignore_errors=True)


def _eval(*args: str, timeout: float = 240.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "cav_stack.app.cli", "eval", *args], env=_env(), cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _start_eval(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([PYTHON, "-m", "cav_stack.app.cli", "eval", *args], env=_env(), cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _index(folder: Path) -> list[dict]:
    path = folder / "index.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _summary_without_wall_time(folder: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader((folder / "summary.csv").open(encoding="utf-8")))
    return [{k: v for k, v in row.items() if k not in WALL_TIME_COLUMNS} for row in rows]


def _wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _running_task_pids() -> list[int]:
    return [pid for pid, (_, cmd) in _processes().items() if cmd.startswith(TASK_TITLE)]


def test_local_ray_and_a_two_node_cluster_give_the_local_engine_s_summary(tmp_path, cluster):
    local = _eval(*CAMPAIGN, "--engine", "local", "--out", str(tmp_path / "local"), "--quiet")
    assert local.returncode == 0, local.stderr
    ray_local = _eval(*CAMPAIGN, "--engine", "ray", "--jobs", "2", "--out", str(tmp_path / "ray"), "--quiet")
    assert ray_local.returncode == 0, ray_local.stderr
    on_cluster = _eval(*CAMPAIGN, "--engine", "ray", "--address", cluster.address, "--out", str(tmp_path / "cluster"))
    assert on_cluster.returncode == 0, on_cluster.stderr

    expected = _summary_without_wall_time(tmp_path / "local")
    assert len(expected) == 4 and {r["status"] for r in expected} == {"ok"}
    assert {(r["controller"], r["seed"]) for r in expected} == {
        (c, s) for c in ("stack", "idm_baseline") for s in ("1", "2")}
    assert _summary_without_wall_time(tmp_path / "ray") == expected
    assert _summary_without_wall_time(tmp_path / "cluster") == expected
    for engine in ("ray", "cluster"):   # the run folders' files came back from the workers
        for row in expected:
            run_dir = tmp_path / engine / row["run_dir"]
            assert (run_dir / "trajectories.csv").read_bytes() == (
                tmp_path / "local" / row["run_dir"] / "trajectories.csv").read_bytes()
    # one run per CPU in flight: the cluster's two 1-CPU nodes both ran runs; the line shows both rates
    nodes = {entry["node"] for entry in _index(tmp_path / "cluster")}
    assert len(nodes) == 2
    last_line = on_cluster.stdout.strip().splitlines()[-2]
    assert last_line.startswith("eval 4/4 done, 0 failed | runs/min per node:") and all(n in last_line for n in nodes)
    # the local instance of the second campaign is gone: the only raylets left are the cluster's
    raylets = [cmd for _, cmd in _processes().values() if "/raylet/raylet " in cmd]
    assert len(raylets) == 2 and all(any(d in cmd for d in cluster.temp_dirs) for cmd in raylets)


def test_a_killed_worker_s_run_is_retried_and_every_run_completes(tmp_path, cluster):
    out = tmp_path / "killed"
    campaign = _start_eval("--engine", "ray", "--address", cluster.address, "--scenarios", "highway_cut_in",
                           "--seeds", "1-2", "--controllers", "idm_baseline", "--duration", "6", "--retries", "1",
                           "--out", str(out), "--quiet")
    try:
        victim = _wait_for(_running_task_pids, 300.0, "a worker running a campaign run")[0]
        time.sleep(1.0)                  # well into the run: its worker dies mid-simulation
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = campaign.communicate(timeout=300)
    finally:
        campaign.kill()
    assert campaign.returncode == 0, stderr
    entries = _index(out)
    assert sorted(e["seed"] for e in entries) == [1, 2] and {e["status"] for e in entries} == {"ok"}
    assert sorted(e["attempts"] for e in entries) == [1, 2]      # the killed one ran a second time
    for entry in entries:
        report = json.loads((out / "highway_cut_in" / "idm_baseline" / f"seed_{entry['seed']}" / "report.json")
                            .read_text(encoding="utf-8"))
        assert report["sim_time_s"] == pytest.approx(6.0)
    assert "2/2 runs completed" in stdout


def test_a_run_whose_worker_dies_on_every_attempt_is_recorded_failed_with_the_reason(tmp_path, cluster):
    out = tmp_path / "lost"
    campaign = _start_eval("--engine", "ray", "--address", cluster.address, "--scenarios", "highway_cut_in",
                           "--seeds", "1-1", "--controllers", "idm_baseline", "--duration", "6", "--retries", "0",
                           "--out", str(out), "--quiet")
    try:
        os.kill(_wait_for(_running_task_pids, 300.0, "a worker running a campaign run")[0], signal.SIGKILL)
        stdout, _ = campaign.communicate(timeout=300)
    finally:
        campaign.kill()
    assert campaign.returncode == 1
    (entry,) = _index(out)
    assert entry["status"] == "failed" and entry["attempts"] == 1
    assert "worker lost on each of 1 attempt(s)" in entry["error"] and "WorkerCrashedError" in entry["error"]
    (row,) = csv.DictReader((out / "summary.csv").open(encoding="utf-8"))
    assert row["status"] == "failed" and row["error"] == entry["error"]
    assert "failed: highway_cut_in / idm_baseline / seed 1: worker lost" in stdout


def test_resume_after_sigint_runs_only_the_missing_runs(tmp_path, cluster):
    out = tmp_path / "interrupted"
    plan = ["--scenarios", "highway_cut_in", "--seeds", "1-3", "--controllers", "idm_baseline", "--duration", "1"]
    first = _start_eval("--engine", "ray", "--address", cluster.address, *plan, "--out", str(out), "--quiet")
    try:
        _wait_for(lambda: len(_index(out)) >= 1, 300.0, "the first finished run")
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 130, stderr
    assert f"--resume {out}" in stderr and "Traceback" not in stderr
    before = _index(out)
    assert 1 <= len(before) < 3 and not (out / "summary.csv").exists()
    finished_at = {e["seed"]: (out / "highway_cut_in" / "idm_baseline" / f"seed_{e['seed']}" / "outcome.json")
                   .stat().st_mtime_ns for e in before}

    resumed = _eval("--engine", "ray", "--address", cluster.address, "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr
    after = _index(out)
    assert after[:len(before)] == before                              # append-only
    assert sorted(e["seed"] for e in after) == [1, 2, 3]           # each run exactly once
    for seed, mtime in finished_at.items():                           # finished runs were not run again
        assert (out / "highway_cut_in" / "idm_baseline" / f"seed_{seed}" / "outcome.json").stat().st_mtime_ns == mtime
    assert resumed.stdout.startswith(f"eval {len(before)}/3 done")
    assert len(list(csv.DictReader((out / "summary.csv").open(encoding="utf-8")))) == 3


def test_a_missing_ray_is_one_line_naming_the_extra(tmp_path):
    code = ("import sys; sys.modules['ray'] = None; from cav_stack.app.cli import main; "
            f"sys.exit(main(['eval', '--engine', 'ray', '--scenarios', 'platoon', '--out', r'{tmp_path / 'x'}']))")
    result = subprocess.run([PYTHON, "-c", code], env=_env(), cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 3                                      # a missing dependency
    assert result.stderr.strip().count("\n") == 0 and "cav_stack[ray]" in result.stderr


def test_an_address_where_no_cluster_answers_is_one_line_within_seconds(tmp_path):
    started = time.monotonic()
    result = _eval("--engine", "ray", "--address", "127.0.0.1:6398", "--scenarios", "platoon",
                   "--out", str(tmp_path / "x"), timeout=120)
    assert result.returncode == 3 and time.monotonic() - started < 60.0   # Ray alone keeps trying for minutes
    assert result.stderr.strip() == ("cav-stack eval: no Ray cluster answers at 127.0.0.1:6398: "
                                     "ConnectionRefusedError: [Errno 111] Connection refused")
    assert not (tmp_path / "x").exists()                                  # no campaign folder left behind
