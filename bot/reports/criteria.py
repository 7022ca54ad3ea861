"""The criteria of guideline ch. 3.6 (levels 3–5) and the evidence that answers each, read
from `criteria.yaml` beside this module: what the assessor asks for is data, so a new
criterion or a new report kind is a line there, not a branch in the pack."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

CRITERIA_FILE = Path(__file__).resolve().parent / "criteria.yaml"


@dataclass(frozen=True)
class Evidence:
    """A document of the pack (a report kind), or one table of it, that holds records."""

    report: str
    table: str | None = None
    #: no rows in the period is the result itself (no deviation), not a gap
    empty_ok: bool = False


@dataclass(frozen=True)
class Criterion:
    code: str
    level: int
    evidence: tuple[Evidence, ...]
    #: what the agency adds by hand (the application does not hold it)
    attach: tuple[str, ...] = ()


@dataclass(frozen=True)
class Criteria:
    criteria: tuple[Criterion, ...]
    imported_channels: frozenset[str]

    def kinds(self) -> list[str]:
        """Every report kind the criteria name, in their order, once."""
        return list(dict.fromkeys(e.report for c in self.criteria for e in c.evidence))


def parse(text: str) -> Criteria:
    data = yaml.safe_load(text) or {}
    criteria = tuple(
        Criterion(
            code=str(c["code"]),
            level=int(c["level"]),
            evidence=tuple(
                Evidence(str(e["report"]), e.get("table"), bool(e.get("empty_ok", False)))
                for e in c.get("evidence") or []
            ),
            attach=tuple(str(a) for a in c.get("attach") or []),
        )
        for c in data.get("criteria") or []
    )
    return Criteria(criteria, frozenset(str(c) for c in data.get("imported_channels") or []))


@cache
def load(path: Path = CRITERIA_FILE) -> Criteria:
    return parse(path.read_text(encoding="utf-8"))
