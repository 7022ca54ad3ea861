"""bot.core is the domain; bot.reports is built on it. An import the other way round
makes the two packages one (a cycle), so none is allowed."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Still importing bot.reports, inside a function: the summary's chart (being moved).
NOT_YET: set[str] = set()


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_core_does_not_import_reports() -> None:
    offenders = sorted(
        rel
        for path in (REPO / "bot" / "core").rglob("*.py")
        if (rel := str(path.relative_to(REPO))) not in NOT_YET
        and any(name == "bot.reports" or name.startswith("bot.reports.") for name in _imports(path))
    )
    assert not offenders, f"bot.core imports bot.reports in: {offenders}"
