"""Documents generated from the service catalog: the catalogue itself, the
incident-handling priority, the SLA document and the service continuity plan. Texts come
from the catalogues (`reports.catalogue.*`, `reports.sla.*`, …), in the language asked for."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.core.catalog import list_services, technicians
from bot.core.priority import priority_for
from bot.i18n import DEFAULT_LANG, fmt_percent, t
from bot.reports.labels import criticality_label, priority_label
from bot.reports.model import Report, Table
from storage.models import Person


def _people(session: Session) -> dict[int | None, Person]:
    return {p.id: p for p in session.exec(select(Person))}


def catalogue(session: Session, *, now: datetime, lang: str = DEFAULT_LANG, **_: object) -> Report:
    people = _people(session)
    rows = []
    for s in list_services(session):
        manager = people.get(s.service_manager_id)
        rows.append(
            [
                s.id,
                s.name,
                s.description,
                s.category,
                s.provider_unit,
                manager.name if manager else "-",
                ", ".join(p.name for p in technicians(session, s.id)),
                s.access,
                fmt_percent(s.availability_target, lang, 1),
                criticality_label(s.criticality, lang),
                s.business_hours,
            ]
        )
    return Report(
        "katalog",
        t("reports.catalogue.title", lang),
        now,
        sections=[
            Table(
                t("reports.catalogue.services", lang),
                [
                    t("reports.column.code", lang),
                    t("reports.column.name", lang),
                    t("reports.column.description", lang),
                    t("reports.column.category", lang),
                    t("reports.column.provider", lang),
                    t("reports.column.service_manager", lang),
                    t("reports.column.technicians", lang),
                    t("reports.column.access", lang),
                    t("reports.column.availability_target", lang),
                    t("reports.column.criticality", lang),
                    t("reports.column.service_hours", lang),
                ],
                rows,
                name="services",
            )
        ],
        lang=lang,
    )


def sla_document(
    session: Session, *, now: datetime, lang: str = DEFAULT_LANG, **_: object
) -> Report:
    rows = []
    for s in list_services(session):
        for p in ("1", "2", "3", "4"):
            target = s.sla.get(p) or {}
            rows.append(
                [
                    s.name,
                    priority_label(int(p), lang),
                    target.get("response"),
                    target.get("resolution"),
                    s.business_hours,
                    fmt_percent(s.availability_target, lang, 1),
                ]
            )
    return Report(
        "sla",
        t("reports.sla.title", lang),
        now,
        intro=t("reports.sla.intro", lang),
        sections=[
            Table(
                t("reports.sla.targets", lang),
                [
                    t("reports.column.service", lang),
                    t("reports.column.priority", lang),
                    t("reports.column.response_min", lang),
                    t("reports.column.resolution_min", lang),
                    t("reports.column.service_hours", lang),
                    t("reports.column.availability_target", lang),
                ],
                rows,
                name="targets",
            )
        ],
        notes=[t("reports.sla.note", lang)],
        lang=lang,
    )


#: Impact and urgency levels of the matrix, 1 (high) … 3 (low).
LEVELS = (1, 2, 3)


def priority_document(
    session: Session, *, now: datetime, lang: str = DEFAULT_LANG, **_: object
) -> Report:
    matrix = [
        [t("reports.priority.impact_row", lang, level=t(f"reports.priority.level.{i}", lang))]
        + [priority_label(priority_for(i, u), lang) for u in LEVELS]
        for i in LEVELS
    ]
    meaning = [
        [t(f"reports.priority.impact.{i}", lang), t(f"reports.priority.impact_meaning.{i}", lang)]
        for i in LEVELS
    ] + [
        [t(f"reports.priority.urgency.{u}", lang), t(f"reports.priority.urgency_meaning.{u}", lang)]
        for u in LEVELS
    ]
    return Report(
        "prioritas",
        t("reports.priority.title", lang),
        now,
        sections=[
            Table(
                t("reports.priority.matrix", lang),
                [""] + [t(f"reports.priority.urgency.{u}", lang) for u in LEVELS],
                matrix,
                name="matrix",
            ),
            Table(
                t("reports.priority.meanings", lang),
                [t("reports.column.level", lang), t("reports.column.meaning", lang)],
                meaning,
                name="meanings",
            ),
        ],
        lang=lang,
    )


def continuity_plan(
    session: Session, *, now: datetime, lang: str = DEFAULT_LANG, **_: object
) -> Report:
    """Who restores what, how fast, ordered by criticality (guideline ch. 7.1.4)."""
    people = _people(session)
    recovery = (
        ", ".join(
            p.name for p in people.values() if p and "koordinator_pemulihan" in (p.roles or [])
        )
        or "-"
    )
    order = {"tinggi": 0, "sedang": 1, "rendah": 2}
    rows = []
    for s in sorted(list_services(session), key=lambda s: (order.get(s.criticality, 3), s.name)):
        p1 = s.sla.get("1") or {}
        manager = people.get(s.service_manager_id)
        rows.append(
            [
                s.name,
                criticality_label(s.criticality, lang),
                fmt_percent(s.availability_target, lang, 1),
                p1.get("resolution"),
                s.provider_unit,
                manager.name if manager else "-",
                ", ".join(p.name for p in technicians(session, s.id)),
                recovery,
            ]
        )
    return Report(
        "keberlangsungan",
        t("reports.continuity.title", lang),
        now,
        intro=t("reports.continuity.intro", lang),
        sections=[
            Table(
                t("reports.continuity.order", lang),
                [
                    t("reports.column.service", lang),
                    t("reports.column.criticality", lang),
                    t("reports.column.availability_target", lang),
                    t("reports.column.p1_recovery_min", lang),
                    t("reports.column.provider", lang),
                    t("reports.column.service_manager", lang),
                    t("reports.column.technicians", lang),
                    t("reports.column.recovery_coordinator", lang),
                ],
                rows,
                name="recovery",
            )
        ],
        notes=[t("reports.continuity.note", lang)],
        lang=lang,
    )


__all__ = ["catalogue", "continuity_plan", "priority_document", "sla_document"]
