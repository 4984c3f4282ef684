"""Shared fixtures for the SUMO world tests: one network cache per session, CAV pushing helper."""
from __future__ import annotations

import hashlib
import math

import pytest

pytest.importorskip("libsumo")


@pytest.fixture(scope="session")
def sumo_cache(tmp_path_factory):
    """Cache directory for built networks, shared by the session."""
    return tmp_path_factory.mktemp("sumo-cache")


def _push_constant_speed(world, steps: int):
    """Drive every CAV straight along its initial heading at its depart speed for ``steps`` steps
    (a kinematic update in the test, independent of the stack); return the last truth."""
    initial = {c.id: world.cav_initial_state(c.id) for c in world.scenario.cavs}
    start = world.time
    truth = world.truth
    for _ in range(steps):
        elapsed = world.time + world.step_length - start
        for cav_id, s in initial.items():
            world.set_cav_state(cav_id, s.x + s.speed * elapsed * math.cos(s.yaw),
                                s.y + s.speed * elapsed * math.sin(s.yaw), s.yaw, s.speed)
        truth = world.step()
    return truth


def _truth_digest(truths) -> str:
    digest = hashlib.sha256()
    for truth in truths:
        digest.update(repr(truth).encode())
    return digest.hexdigest()


@pytest.fixture
def push_constant_speed():
    """``push(world, steps)``: CAVs at constant speed from the current time; returns the last truth."""
    return _push_constant_speed


@pytest.fixture
def truth_digest():
    """``digest(truths)``: SHA-256 over the reprs of a sequence of WorldTruth (exact floats)."""
    return _truth_digest
