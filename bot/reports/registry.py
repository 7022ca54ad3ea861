"""Which reports exist, by the name used in the CLI and in chat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import partial

from sqlmodel import Session

from bot.core.ticket_states import GANGGUAN, KELUHAN, PERMINTAAN
from bot.i18n import DEFAULT_LANG, norm_lang, t
from bot.reports import (
    catalog_docs,
    changes,
    cross_unit,
    problems,
    reviews,
    service_levels,
    tickets,
    trail,
    usage,
)
from bot.reports.model import Report
from storage.models import Service

Builder = Callable[..., Report]

KINDS: dict[str, tuple[str, Builder, bool]] = {
    # name: (text key of the title, builder, needs a period)
    "availability": ("reports.kind.availability", service_levels.availability_report, True),
    "evaluation": ("reports.kind.evaluation", tickets.evaluation, True),
    "exception": ("reports.kind.exception", service_levels.exception_report, True),
    "catalogue": ("reports.kind.catalogue", catalog_docs.catalogue, False),
    "priority": ("reports.kind.priority", catalog_docs.priority_document, False),
    "sla": ("reports.kind.sla", catalog_docs.sla_document, False),
    "continuity": ("reports.kind.continuity", catalog_docs.continuity_plan, False),
    "incidents": (
        "reports.kind.incidents",
        partial(tickets.handling_records, type_=GANGGUAN),
        True,
    ),
    "requests": (
        "reports.kind.requests",
        partial(tickets.handling_records, type_=PERMINTAAN),
        True,
    ),
    "complaints": (
        "reports.kind.complaints",
        partial(tickets.handling_records, type_=KELUHAN),
        True,
    ),
    "review": ("reports.kind.review", reviews.review_report, True),
    "problems": ("problem.report.kind", problems.register, True),
    "changes": ("reports.kind.changes", changes.change_log, True),
    "crossunit": ("reports.kind.crossunit", cross_unit.cross_unit_map, False),
    "usage": ("reports.kind.usage", usage.usage_report, True),
    "trail": ("reports.kind.trail", trail.trail_report, True),
}
ALIASES = {
    "ketersediaan": "availability",
    "evaluasi": "evaluation",
    "pengecualian": "exception",
    "katalog": "catalogue",
    "prioritas": "priority",
    "keberlangsungan": "continuity",
    "insiden": "incidents",
    "permintaan": "requests",
    "keluhan": "complaints",
    "reviu": "review",
    "masalah": "problems",
    "perubahan": "changes",
    "lintas-unit": "crossunit",
    "penggunaan": "usage",
    "jejak": "trail",
}


def resolve_kind(name: str) -> str | None:
    name = name.lower().strip()
    return name if name in KINDS else ALIASES.get(name)


def title(kind: str, lang: str = DEFAULT_LANG) -> str:
    """The short name of a kind of report (the evidence index lists it), in `lang`."""
    return t(KINDS[kind][0], lang)


def build_report(
    kind: str,
    session: Session,
    *,
    start: date,
    end: date,
    tz: str,
    now: datetime,
    service_id: str | None = None,
    lang: str = DEFAULT_LANG,
) -> Report:
    """Every text of the report (titles, headers, notes, chart labels) is in `lang`."""
    _, builder, periodic = KINDS[kind]
    lang = norm_lang(lang)
    if not periodic:
        return builder(session, now=now, lang=lang)
    report = builder(session, start, end, tz=tz, now=now, service_id=service_id, lang=lang)
    service = session.get(Service, service_id) if service_id else None
    if service is not None:  # the heading names the service, not its catalogue code
        report.service = service.name
    return report
