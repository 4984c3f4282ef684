"""The import graph of cav_stack (grimp: every import statement, function-local and TYPE_CHECKING
ones included): no cycle between the packages at any depth, no circle between modules, and no
import from a lower layer to a higher one. The layer order is read from .importlinter, the
contract `lint-imports` checks, so the two cannot drift apart."""
import configparser
import graphlib
from pathlib import Path

import grimp
import pytest

ROOT = "cav_stack"
CONTRACT = Path(__file__).resolve().parents[2] / ".importlinter"


def layer_of_package() -> dict[str, int]:
    """Top-level package (``cav_stack.core``) -> its layer, 0 the lowest, from the layers contract."""
    config = configparser.ConfigParser()
    config.read(CONTRACT)
    lines = [line for line in config["importlinter:contract:layers"]["layers"].splitlines() if line.strip()]
    layers: dict[str, int] = {}
    for index, line in enumerate(reversed(lines)):
        for package in line.replace("|", ":").split(":"):
            layers[package.strip()] = index
    return layers


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(ROOT, cache_dir=None)


def imports(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    """(importer, imported) of every import between two modules of cav_stack."""
    return sorted((importer, imported) for importer in graph.modules
                  for imported in graph.find_modules_directly_imported_by(importer))


def first_cycle(imports_of: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph ``imports_of`` (module -> the modules it imports) as a chain of
    imports ending where it starts, or None when there is none."""
    try:
        graphlib.TopologicalSorter(imports_of).prepare()
    except graphlib.CycleError as exc:
        return list(reversed(exc.args[1]))  # graphlib lists each node before the nodes that need it
    return None


def where(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    details = graph.get_import_details(importer=importer, imported=imported)
    lines = ", ".join(f"l.{d['line_number']}: {d['line_contents']}" for d in details)
    return f"{importer} -> {imported} ({lines})"


def test_layers_cover_every_top_level_package(graph):
    packages = {m for m in graph.find_children(ROOT)}
    assert packages == set(layer_of_package())


def test_no_import_from_a_lower_layer_to_a_higher_one(graph):
    layer = layer_of_package()

    def top(module: str) -> str | None:
        parts = module.split(".")
        return ".".join(parts[:2]) if len(parts) > 1 else None

    upward = [where(graph, a, b) for a, b in imports(graph)
              if top(a) is not None and top(b) is not None and layer[top(a)] < layer[top(b)]]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_no_cycle_between_packages_at_any_depth(graph):
    cycles = []
    for package in sorted(m for m in graph.modules if graph.find_children(m)):
        children = graph.find_children(package)
        edges: dict[str, set[str]] = {child: set() for child in children}
        for a, b in imports(graph):
            source = next((c for c in children if a == c or a.startswith(c + ".")), None)
            target = next((c for c in children if b == c or b.startswith(c + ".")), None)
            if source is not None and target is not None and source != target:
                edges[source].add(target)
        cycle = first_cycle(edges)
        if cycle is not None:
            cycles.append(" -> ".join(cycle))
    assert not cycles, "package cycles:\n" + "\n".join(cycles)


def test_no_circle_between_modules(graph):
    edges = {module: set() for module in graph.modules}
    for a, b in imports(graph):
        if a != b:
            edges[a].add(b)
    cycle = first_cycle(edges)
    assert cycle is None, "module circle: " + " -> ".join(cycle or [])
