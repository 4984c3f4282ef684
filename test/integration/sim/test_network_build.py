"""netconvert builds from plain XML, content-hash caching, and its error paths."""
from __future__ import annotations

import shutil
import sys

import pytest

from cav_stack.world.scenario import scenarios_dir
from cav_stack.sim.network_build import NetworkBuildError, SumoNotAvailableError, build_network

HIGHWAY = scenarios_dir() / "networks" / "highway_3lane"


def test_build_is_cached_by_content(tmp_path):
    cache = tmp_path / "cache"
    first = build_network(HIGHWAY, cache)
    assert first.parent == cache and first.name.startswith("highway_3lane-")
    assert "<net " in first.read_text(encoding="utf-8")
    stamp = first.stat().st_mtime_ns
    assert build_network(HIGHWAY, cache) == first
    assert first.stat().st_mtime_ns == stamp  # not rebuilt

    changed = tmp_path / "highway_3lane"
    shutil.copytree(HIGHWAY, changed)
    edges = changed / "highway_3lane.edg.xml"
    edges.write_text(edges.read_text(encoding="utf-8").replace('speed="33.33"', 'speed="30.0"'), encoding="utf-8")
    rebuilt = build_network(changed, cache)
    assert rebuilt != first
    assert 'speed="30.00"' in rebuilt.read_text(encoding="utf-8")
    assert sorted(p.name for p in cache.iterdir()) == sorted([first.name, rebuilt.name])


def test_netconvert_failure_includes_its_stderr(tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(HIGHWAY, broken)
    edges = broken / "highway_3lane.edg.xml"
    edges.write_text(edges.read_text(encoding="utf-8").replace('to="hw_n4"', 'to="nowhere"'), encoding="utf-8")
    with pytest.raises(NetworkBuildError, match="nowhere"):
        build_network(broken, tmp_path / "cache")
    assert not any((tmp_path / "cache").glob("*.net.xml"))


def test_missing_sources_are_reported(tmp_path):
    with pytest.raises(NetworkBuildError, match="does not exist"):
        build_network(tmp_path / "absent", tmp_path / "cache")
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(HIGHWAY / "highway_3lane.nod.xml", partial)
    with pytest.raises(NetworkBuildError, match=r"\*\.edg\.xml"):
        build_network(partial, tmp_path / "cache")


def test_missing_netconvert_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMO_HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "sumo", None)
    with pytest.raises(SumoNotAvailableError, match=r"netconvert.*pip install 'cav_stack\[sim\]'"):
        build_network(HIGHWAY, tmp_path / "cache")
