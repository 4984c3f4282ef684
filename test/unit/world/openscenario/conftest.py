"""The shared R157 ALKS scenarios: ``../shared/scenarios/alks`` relative to the repository root (CI
clones shared/ beside it; ``CAV_STACK_SHARED_DIR`` points elsewhere, e.g. from a git worktree).
Absent: the tests that need them skip, or fail when ``CI=true``."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
OWN_DATA = REPO_ROOT / "test" / "integration" / "openscenario" / "data"


def shared_alks_dir() -> Path:
    return Path(os.environ.get("CAV_STACK_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scenarios" / "alks"


@pytest.fixture(scope="session")
def alks() -> Path:
    """The shared ALKS directory (its variation files; templates under concrete_scenarios/)."""
    path = shared_alks_dir()
    if not path.is_dir():
        message = f"shared ALKS scenarios absent: {path} does not exist"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
