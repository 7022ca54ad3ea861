"""A report as plain data: what the renderers (HTML, PDF, CSV) and the chat summary read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.i18n import DEFAULT_LANG


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]
    note: str = ""
    #: A stable name, the same in every language, for code that picks one table out.
    name: str = ""


@dataclass
class Chart:
    title: str
    png: bytes


@dataclass
class Report:
    kind: str
    title: str
    generated_at: datetime
    start: date | None = None
    end: date | None = None
    service: str | None = None
    intro: str = ""
    sections: list[Table | Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The language the texts were built in; the renderers write their own labels in it.
    lang: str = DEFAULT_LANG

    @property
    def tables(self) -> list[Table]:
        return [s for s in self.sections if isinstance(s, Table)]

    @property
    def charts(self) -> list[Chart]:
        return [s for s in self.sections if isinstance(s, Chart)]
