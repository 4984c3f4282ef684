"""Shared test fixtures: repository paths, DDS domain ids per test process, shipped node parameters;
plugins: pytester (for tests of the plugins) and ci_skips (in CI, CI=true, a skip fails: see test/ci_skips.py)."""
import itertools
import os
from pathlib import Path

import pytest

pytest_plugins = ("pytester", "ci_skips")

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def conformance_dir() -> Path:
    """``../shared/conformance`` relative to the repository root (CI clones shared/ beside it;
    ``CAV_STACK_SHARED_DIR`` names another place, e.g. for a git worktree)."""
    shared = Path(os.environ.get("CAV_STACK_SHARED_DIR", REPO_ROOT.parent / "shared"))
    if not shared.is_dir():
        pytest.skip(f"conformance material absent: {shared} does not exist")
    return shared / "conformance"


@pytest.fixture(scope="session")
def dds_domain_ids():
    """``ids(first, last)``: an endless cycle over DDS domain ids ``first..last`` that starts at this
    process's share of the range, so concurrent test processes (pytest-xdist workers, or separate
    sessions spread by pid) use different domains as long as each uses fewer than its share."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers:
        slot, slots = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw")), workers
    else:
        slot, slots = os.getpid() % 4, 4

    def ids(first: int, last: int):
        span = last - first + 1
        start = slot * span // slots
        return (first + (start + i) % span for i in itertools.count())
    return ids


@pytest.fixture(scope="session")
def mode_selector_params():
    """The mode selector node's parameters as shipped (controllers/mode_selector.yaml)."""
    from cav_stack.core.params import load_node_params
    from cav_stack.core.share import share_path
    from cav_stack.nodes.mode_selector_node import ModeSelectorNodeParams

    return load_node_params(share_path("controllers", "mode_selector.yaml"), "mode_selector", ModeSelectorNodeParams)
