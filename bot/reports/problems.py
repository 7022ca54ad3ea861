"""The problem register (daftar masalah) of a period for the evidence pack: each problem
that was open at some time in the period, its state, service, linked incidents, root
cause, workaround, fix and dates (guideline ch. 7.1.2)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import i18n
from bot.core.problems import STATE_TEXT
from bot.i18n import DEFAULT_LANG
from bot.reports.model import Report, Table
from bot.reports.period import bounds
from storage.models import Problem, ProblemIncident, Service, Ticket


def _local(value: datetime | None, tz: str) -> str | None:
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if value else None


def problems_in(
    session: Session, start: datetime, end: datetime, service_id: str | None
) -> list[Problem]:
    """Opened before the period ended and not closed before it began."""
    stmt = (
        select(Problem)
        .where(col(Problem.created_at) < end)
        .where(sa.or_(col(Problem.closed_at).is_(None), col(Problem.closed_at) >= start))
    )
    if service_id:
        stmt = stmt.where(Problem.service_id == service_id)
    return list(session.exec(stmt.order_by(col(Problem.created_at), col(Problem.id))))


def register(
    session: Session,
    start: date,
    end: date,
    *,
    tz: str,
    now: datetime,
    service_id: str | None = None,
    lang: str = DEFAULT_LANG,
) -> Report:
    lo, hi = bounds(start, end, tz)
    items = problems_in(session, lo, hi, service_id)
    names = {s.id: s.name for s in session.exec(select(Service))}
    linked: dict[int, list[str]] = {}
    if items:
        for problem_id, number in session.execute(
            sa.select(col(ProblemIncident.problem_id), col(Ticket.number))
            .join(Ticket, col(Ticket.id) == col(ProblemIncident.ticket_id))
            .where(col(ProblemIncident.problem_id).in_([p.id for p in items]))
            .order_by(col(Ticket.number))
        ):
            linked.setdefault(problem_id, []).append(number)
    rows = [
        [
            p.number,
            p.title,
            names.get(p.service_id or "", "-"),
            i18n.t(STATE_TEXT[p.state], lang),
            len(linked.get(p.id or 0, [])),
            ", ".join(linked.get(p.id or 0, [])),
            p.root_cause,
            p.workaround,
            p.fix,
            _local(p.created_at, tz),
            _local(p.fixed_at, tz),
            _local(p.verified_at, tz),
            _local(p.closed_at, tz),
        ]
        for p in items
    ]
    title = i18n.t("problem.report.title", lang)
    return Report(
        "masalah",
        title,
        now,
        start,
        end,
        service_id,
        intro=i18n.t("problem.report.intro", lang),
        sections=[
            Table(
                title,
                [
                    i18n.t("problem.report.column.number", lang),
                    i18n.t("problem.report.column.title", lang),
                    i18n.t("problem.report.column.service", lang),
                    i18n.t("problem.report.column.state", lang),
                    i18n.t("problem.report.column.count", lang),
                    i18n.t("problem.report.column.incidents", lang),
                    i18n.t("problem.report.column.root_cause", lang),
                    i18n.t("problem.report.column.workaround", lang),
                    i18n.t("problem.report.column.fix", lang),
                    i18n.t("problem.report.column.created", lang),
                    i18n.t("problem.report.column.fixed", lang),
                    i18n.t("problem.report.column.verified", lang),
                    i18n.t("problem.report.column.closed", lang),
                ],
                rows,
                name="problems",
            )
        ],
        lang=lang,
    )
