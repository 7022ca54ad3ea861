"""Which reports exist, by the name used in the CLI and in chat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import partial

from sqlmodel import Session

from bot.core.ticket_states import GANGGUAN, KELUHAN, PERMINTAAN
from bot.reports import catalog_docs, service_levels, tickets
from bot.reports.model import Report

Builder = Callable[..., Report]

KINDS: dict[str, tuple[str, Builder, bool]] = {
    # name: (title, builder, needs a period)
    "availability": ("Laporan ketersediaan layanan", service_levels.availability_report, True),
    "evaluation": ("Laporan evaluasi layanan", tickets.evaluation, True),
    "exception": ("Laporan pengecualian", service_levels.exception_report, True),
    "catalogue": ("Katalog layanan", catalog_docs.catalogue, False),
    "priority": ("Prioritas penanganan insiden", catalog_docs.priority_document, False),
    "sla": ("Kesepakatan tingkat layanan", catalog_docs.sla_document, False),
    "continuity": ("Rencana keberlangsungan layanan", catalog_docs.continuity_plan, False),
    "incidents": (
        "Catatan penanganan insiden",
        partial(tickets.handling_records, type_=GANGGUAN),
        True,
    ),
    "requests": (
        "Catatan permintaan layanan",
        partial(tickets.handling_records, type_=PERMINTAAN),
        True,
    ),
    "complaints": ("Catatan keluhan", partial(tickets.handling_records, type_=KELUHAN), True),
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
}


def resolve_kind(name: str) -> str | None:
    name = name.lower().strip()
    return name if name in KINDS else ALIASES.get(name)


def build_report(
    kind: str,
    session: Session,
    *,
    start: date,
    end: date,
    tz: str,
    now: datetime,
    service_id: str | None = None,
) -> Report:
    _, builder, periodic = KINDS[kind]
    if periodic:
        return builder(session, start, end, tz=tz, now=now, service_id=service_id)
    return builder(session, now=now)
