"""The dependency direction of the packages: the import-graph contracts in pyproject.toml, no
import circle between modules or between sibling packages, and every module importable on its
own (a circle can hide behind the order in which a test session happens to import things)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "mock_providers")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def _strongly_connected(nodes: Iterable[str], edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative: the components with more than one node are the circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[set[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(component)
    return circles


def _edges(graph: grimp.ImportGraph, squash_to: int | None) -> dict[str, set[str]]:
    """Module → imported modules, optionally squashed to their first `squash_to` name parts."""

    def name(module: str) -> str:
        return module if squash_to is None else ".".join(module.split(".")[:squash_to])

    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if not module.startswith(PACKAGES):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith(PACKAGES) and name(imported) != name(module):
                edges.setdefault(name(module), set()).add(name(imported))
    return edges


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    edges = _edges(graph, squash_to=None)
    assert _strongly_connected(sorted(edges), edges) == []


@pytest.mark.parametrize("depth", [2, 3])
def test_no_circle_between_sibling_packages(graph: grimp.ImportGraph, depth: int) -> None:
    """harness.driver ↔ harness.reference, mock_providers.hub ↔ mock_providers.microsoft, …"""
    edges = _edges(graph, squash_to=depth)
    assert _strongly_connected(sorted(edges), edges) == []


def test_the_circle_finder_finds_a_circle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(sorted(edges), edges) == [{"a", "b", "c"}]


def test_every_module_imports_on_its_own(graph: grimp.ImportGraph) -> None:
    """Each module imported first, in a process where no other project module is loaded yet."""
    # __main__ runs the CLI when imported; it is one line that imports harness.cli.
    modules = sorted(m for m in graph.modules
                     if m.startswith(PACKAGES) and not m.endswith(".__main__"))
    script = textwrap.dedent("""
        import importlib, sys, traceback
        failures = []
        for name in sys.argv[1:]:
            project = {"harness", "mock_providers"}
            for loaded in [m for m in sys.modules if m.split(".")[0] in project]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except Exception:
                failures.append(name + ": " + traceback.format_exc(limit=3).splitlines()[-1])
        print("\\n".join(failures))
        sys.exit(1 if failures else 0)
    """)
    # Two processes at once, one per core: re-importing the project for every module is most of
    # this test's time.
    halves = [modules[0::2], modules[1::2]]
    processes = [subprocess.Popen([sys.executable, "-c", script, *half], cwd=ROOT, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL) for half in halves]
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, out + err[-3000:]
    assert len(modules) > 80
