"""The import graph of bot/, knowledge/ and storage/: no cycles, and the layers only
depend downwards (storage ← knowledge ← bot.core ← the rest).

The graph is read with `ast`, not by importing: every `import` counts, at module level
and inside functions (a function-level import is still a runtime dependency, it is only
paid later), except those under `if TYPE_CHECKING:`, which never run.

Each rule is its own test, so a failure names the rule and the offending edges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "knowledge", "storage")


@dataclass(frozen=True)
class Edge:
    """`source` imports `target` (both module names) at `path`:`line`."""

    source: str
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}  ({self.path}:{self.line})"


def find_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Module name → file, for every .py file under the packages."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in `node`, except under `if TYPE_CHECKING:` (its `else:`
    runs, so it counts)."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
        return
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        children: Iterable[ast.AST] = node.orelse
    else:
        children = ast.iter_child_nodes(node)
    for child in children:
        yield from _imports(child)


def build_graph(root: Path, packages: Iterable[str] = PACKAGES) -> list[Edge]:
    """The import edges between the modules of `packages` (imports of anything else,
    the standard library and third-party packages, are left out)."""
    modules = find_modules(root, packages)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: list[Edge] = []
    for source, path in modules.items():
        is_package = path.name == "__init__.py"
        here = source if is_package else source.rpartition(".")[0]
        rel = str(path.relative_to(root))
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), filename=rel)):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [resolve(alias.name) for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    # `from pkg import sub` depends on the submodule, `from mod import
                    # name` on the module that defines the name.
                    full = f"{base}.{alias.name}"
                    targets.append(full if full in modules else resolve(base))
            for target in targets:
                if target is not None and target != source:
                    edges.append(Edge(source, target, rel, node.lineno))
    return list(dict.fromkeys(edges))  # `from m import a, b` is one edge


def cycles(edges: Iterable[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(edges: Iterable[Edge], sources: str, forbidden: Iterable[str]) -> list[Edge]:
    """Edges from modules in package `sources` to modules in any `forbidden` package."""
    banned = tuple(forbidden)
    return [
        e for e in edges if within(e.source, sources) and any(within(e.target, p) for p in banned)
    ]


def explain(title: str, edges: Iterable[Edge]) -> str:
    return "\n".join([title, *(f"  {e}" for e in edges)])


def explain_cycles(found: list[list[str]], edges: Iterable[Edge]) -> str:
    lines = ["import cycles (each component, then the edges inside it):"]
    for component in found:
        members = set(component)
        lines.append("  " + " ↔ ".join(component))
        lines += [f"    {e}" for e in edges if e.source in members and e.target in members]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    return build_graph(ROOT)


# --- the analysis itself ------------------------------------------------------------


def test_graph_sees_function_level_imports_and_ignores_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nfrom . import b\nif TYPE_CHECKING:\n"
        "    from pkg.c import C\nelse:\n    import json\n"
    )
    (pkg / "b.py").write_text("def f():\n    from pkg.a import thing\n    return thing\n")
    (pkg / "c.py").write_text("import pkg.a\nfrom pkg import b as bee\n")
    found = {(e.source, e.target) for e in build_graph(tmp_path, ["pkg"])}
    assert found == {
        ("pkg.a", "pkg.b"),
        ("pkg.b", "pkg.a"),
        ("pkg.c", "pkg.a"),
        ("pkg.c", "pkg.b"),
    }
    assert cycles(build_graph(tmp_path, ["pkg"])) == [["pkg.a", "pkg.b"]]


def test_graph_covers_the_product(edges: list[Edge]) -> None:
    sources = {e.source for e in edges}
    assert {"bot.cli", "bot.core.outages", "knowledge.matcher", "storage.migrations.env"} <= sources
    # a function-level import, the kind that is easy to miss
    assert any(e.source == "bot.cli.serve" and e.target == "bot.web.app" for e in edges)


# --- (a) no cycles --------------------------------------------------------------------

SLACK = "bot.channels.slack"


def test_no_import_cycles(edges: list[Edge]) -> None:
    found = [c for c in cycles(edges) if not all(within(m, SLACK) for m in c)]
    assert not found, explain_cycles(found, edges)


def test_no_import_cycles_in_the_slack_channel(edges: list[Edge]) -> None:
    found = [c for c in cycles(edges) if all(within(m, SLACK) for m in c)]
    assert not found, explain_cycles(found, edges)


# --- (b) layers -----------------------------------------------------------------------


def test_storage_imports_neither_bot_nor_knowledge(edges: list[Edge]) -> None:
    bad = violations(edges, "storage", ["bot", "knowledge"])
    assert not bad, explain("storage must not import bot or knowledge:", bad)


def test_knowledge_does_not_import_bot(edges: list[Edge]) -> None:
    bad = violations(edges, "knowledge", ["bot"])
    assert not bad, explain("knowledge must not import bot:", bad)


def test_core_does_not_import_the_outer_layers(edges: list[Edge]) -> None:
    bad = violations(edges, "bot.core", ["bot.dialogue", "bot.channels", "bot.web", "bot.cli"])
    assert not bad, explain("bot.core must not import dialogue, channels, web or cli:", bad)


def test_core_does_not_import_reports(edges: list[Edge]) -> None:
    bad = violations(edges, "bot.core", ["bot.reports"])
    assert not bad, explain("bot.core must not import bot.reports (reports build on core):", bad)


def test_channels_do_not_import_the_web_app(edges: list[Edge]) -> None:
    bad = violations(edges, "bot.channels", ["bot.web.app"])
    assert not bad, explain("bot.channels must not import bot.web.app:", bad)
