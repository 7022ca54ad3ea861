"""Documents generated from the service catalog: the catalogue itself, the
incident-handling priority, the SLA document and the service continuity plan. Texts come
from the catalogues (`reports.catalogue.*`, `reports.sla.*`, …), in the language asked for."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.core import recovery as recovery_runs
from bot.core.catalog import list_services, technicians
from bot.core.priority import priority_for
from bot.i18n import DEFAULT_LANG, fmt_dt, fmt_number, fmt_percent, t
from bot.reports import continuity_backups
from bot.reports.labels import criticality_label, priority_label
from bot.reports.model import Report, Table
from knowledge.recovery_plans import PlanError, load_plan
from storage.models import Person, Service


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
    session: Session,
    *,
    now: datetime,
    lang: str = DEFAULT_LANG,
    tz: str = "Asia/Jakarta",
    **_: object,
) -> Report:
    """Who restores what, how fast, ordered by criticality (guideline ch. 7.1.4); the
    RTO/RPO the catalog sets, whether a recovery plan exists, and what the last exercises
    measured against the RTO (the evidence that the plan is tested); then the helpdesk's
    own backups and restore tests (bot.reports.continuity_backups)."""
    people = _people(session)
    recovery = (
        ", ".join(
            p.name for p in people.values() if p and "koordinator_pemulihan" in (p.roles or [])
        )
        or "-"
    )
    order = {"tinggi": 0, "sedang": 1, "rendah": 2}
    services = sorted(list_services(session), key=lambda s: (order.get(s.criticality, 3), s.name))
    rows = []
    for s in services:
        p1 = s.sla.get("1") or {}
        manager = people.get(s.service_manager_id)
        owner = people.get(s.recovery_owner_id) if s.recovery_owner_id else None
        rows.append(
            [
                s.name,
                criticality_label(s.criticality, lang),
                fmt_percent(s.availability_target, lang, 1),
                p1.get("resolution"),
                s.provider_unit,
                manager.name if manager else "-",
                ", ".join(p.name for p in technicians(session, s.id)),
                owner.name if owner else recovery,
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
            ),
            _targets(services, lang),
            _exercises(session, services, lang, tz),
            continuity_backups.backup_status(session, now=now, lang=lang, tz=tz),
            continuity_backups.restore_tests(session, lang=lang, tz=tz),
        ],
        notes=[t("reports.continuity.note", lang)],
        lang=lang,
    )


def _targets(services: list[Service], lang: str) -> Table:
    rows = []
    for s in services:
        try:
            plan = load_plan(s.id)
        except PlanError:
            plan = None
        rows.append(
            [
                s.name,
                fmt_number(s.rto_minutes, lang),
                fmt_number(s.rpo_minutes, lang),
                s.backup_frequency or "-",
                s.dr_site or "-",
                t(
                    "reports.continuity.plan_yes",
                    lang,
                    steps=len(plan.steps),
                    minutes=fmt_number(plan.expected_minutes, lang),
                )
                if plan
                else t("reports.continuity.plan_none", lang),
                s.last_dr_test.isoformat() if s.last_dr_test else "-",
            ]
        )
    return Table(
        t("reports.continuity.targets", lang),
        [
            t("reports.column.service", lang),
            t("reports.continuity.col_rto", lang),
            t("reports.continuity.col_rpo", lang),
            t("reports.continuity.col_backup", lang),
            t("reports.continuity.col_dr_site", lang),
            t("reports.continuity.col_plan", lang),
            t("reports.continuity.col_last_test", lang),
        ],
        rows,
        name="targets",
    )


OUTCOME_KEYS = {
    "berjalan": "reports.continuity.outcome.berjalan",
    "berhasil": "reports.continuity.outcome.berhasil",
    "gagal": "reports.continuity.outcome.gagal",
    "dihentikan": "reports.continuity.outcome.dihentikan",
}
KIND_KEYS = {
    "exercise": "reports.continuity.kind.exercise",
    "incident": "reports.continuity.kind.incident",
}


def _exercises(session: Session, services: list[Service], lang: str, tz: str) -> Table:
    """The last three runs per service: measured minutes against the RTO copied into the run."""
    rows = []
    for s in services:
        for run in recovery_runs.recent_runs(session, s.id, limit=3):
            verdict = "-"
            if run.measured_minutes is not None and run.rto_minutes:
                within = run.measured_minutes <= run.rto_minutes
                verdict = t("recovery.within" if within else "recovery.over", lang)
            rows.append(
                [
                    s.name,
                    t(KIND_KEYS.get(run.kind, KIND_KEYS["exercise"]), lang),
                    fmt_dt(run.started_at, lang, tz),
                    t(OUTCOME_KEYS.get(run.outcome, OUTCOME_KEYS["berjalan"]), lang),
                    fmt_number(run.measured_minutes, lang, 1),
                    fmt_number(run.rto_minutes, lang),
                    verdict,
                ]
            )
    return Table(
        t("reports.continuity.exercises", lang),
        [
            t("reports.column.service", lang),
            t("reports.continuity.col_kind", lang),
            t("reports.continuity.col_started", lang),
            t("reports.continuity.col_outcome", lang),
            t("reports.continuity.col_measured", lang),
            t("reports.continuity.col_rto", lang),
            t("reports.continuity.col_verdict", lang),
        ],
        rows,
        note="" if rows else t("reports.continuity.no_exercises", lang),
        name="exercises",
    )


__all__ = ["catalogue", "continuity_plan", "priority_document", "sla_document"]
