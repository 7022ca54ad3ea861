"""Ticket-based reports: the service evaluation report and the handling records
(service requests and incidents) — volumes, time to acknowledge and to resolve, SLA
compliance per service and priority, recurring categories. Texts come from the catalogues
(`reports.evaluation.*`, `reports.records.*`), in the language asked for."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import i18n  # i18n.t: in this module `t` is a ticket
from bot.core import sla, trends
from bot.core.ticket_states import GANGGUAN, KELUHAN, PERMINTAAN
from bot.i18n import DEFAULT_LANG
from bot.reports import charts, follow_up
from bot.reports import trends as trend_sections
from bot.reports.labels import priority_label, state_label
from bot.reports.model import Chart, Report, Table
from bot.reports.period import bounds, hours, mean, share
from bot.reports.ratings import ratings_table
from storage.models import KbFeedback, Person, Service, Ticket, TicketEvent


@dataclass
class Row:
    ticket: Ticket

    def response_met(self, now: datetime) -> bool | None:
        return sla.response_met(self.ticket, now)

    def resolution_met(self, now: datetime) -> bool | None:
        return sla.resolution_met(self.ticket, now)


def tickets_in(
    session: Session,
    start: datetime,
    end: datetime,
    service_id: str | None,
    types: tuple[str, ...] | None = None,
) -> list[Ticket]:
    stmt = select(Ticket).where(col(Ticket.created_at) >= start, col(Ticket.created_at) < end)
    if service_id:
        stmt = stmt.where(Ticket.service_id == service_id)
    if types:
        stmt = stmt.where(col(Ticket.type).in_(types))
    return list(session.exec(stmt.order_by(col(Ticket.created_at))))


def _names(session: Session) -> dict[str, str]:
    return {s.id: s.name for s in session.exec(select(Service))}


def _pct(flags: list[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return share(sum(known), len(known))


def evaluation(
    session: Session,
    start: date,
    end: date,
    *,
    tz: str,
    now: datetime,
    service_id: str | None = None,
    lang: str = DEFAULT_LANG,
) -> Report:
    """The service evaluation report: a table per section, then the charts when the
    period has tickets."""
    lo, hi = bounds(start, end, tz)
    rows = [Row(t) for t in tickets_in(session, lo, hi, service_id)]
    names = _names(session)
    trend = trends.compute(
        session,
        trends.report_periods(start, end, tz),
        now,
        tz,
        [service_id] if service_id else None,
    )
    report = Report(
        "evaluasi",
        i18n.t("reports.evaluation.title", lang),
        now,
        start,
        end,
        service_id,
        intro=i18n.t("reports.evaluation.intro", lang),
        sections=[
            _summary_table(rows, now, lang),
            _performance_table(rows, names, now, lang),
            _recurring_table(rows, names, lang),
            _satisfaction_table(session, lo, hi, lang),
            ratings_table(session, lo, hi, service_id, names, lang),
            trend_sections.trend_table(trend, names, lang),
            *follow_up.evaluation_sections(
                session, start, end, tz=tz, now=now, service_id=service_id, lang=lang
            ),
        ],
        lang=lang,
    )
    if rows:
        report.sections += _charts(rows, start, end, tz, now, lang)
    report.sections += trend_sections.trend_charts(trend, lang)
    return report


def _measure_value(lang: str) -> list[str]:
    return [i18n.t("reports.column.measure", lang), i18n.t("reports.column.value", lang)]


def _ack_seconds(rows: list[Row]) -> list[float]:
    """Time to acknowledge of the acknowledged tickets; the others have none yet."""
    return [
        (r.ticket.acknowledged_at - r.ticket.created_at).total_seconds()
        for r in rows
        if r.ticket.acknowledged_at
    ]


def _resolve_seconds(rows: list[Row]) -> list[float]:
    """Time to resolve of the resolved tickets; the open ones do not count."""
    return [
        (r.ticket.resolved_at - r.ticket.created_at).total_seconds()
        for r in rows
        if r.ticket.resolved_at
    ]


def _resolved(rows: list[Row]) -> int:
    return sum(1 for r in rows if r.ticket.resolved_at)


def _summary_table(rows: list[Row], now: datetime, lang: str) -> Table:
    """The period in one column of figures: volumes, mean times, SLA compliance."""
    by_type = " / ".join(
        str(sum(1 for r in rows if r.ticket.type == k)) for k in (GANGGUAN, PERMINTAAN, KELUHAN)
    )
    figures: list[tuple[str, object]] = [
        ("reports.evaluation.tickets_in", len(rows)),
        ("reports.evaluation.by_type", by_type),
        ("reports.evaluation.tickets_resolved", _resolved(rows)),
        ("reports.evaluation.mean_response_h", hours(mean(_ack_seconds(rows)))),
        ("reports.evaluation.mean_resolution_h", hours(mean(_resolve_seconds(rows)))),
        ("reports.evaluation.response_sla_pct", _pct([r.response_met(now) for r in rows])),
        ("reports.evaluation.resolution_sla_pct", _pct([r.resolution_met(now) for r in rows])),
    ]
    return Table(
        i18n.t("reports.evaluation.summary", lang),
        _measure_value(lang),
        [[i18n.t(key, lang), value] for key, value in figures],
        name="summary",
    )


_PERFORMANCE_COLUMNS = (
    "reports.column.service",
    "reports.column.priority",
    "reports.column.received",
    "reports.column.resolved",
    "reports.column.mean_response_h",
    "reports.column.mean_resolution_h",
    "reports.column.response_sla_pct",
    "reports.column.resolution_sla_pct",
)


def _performance_table(rows: list[Row], names: dict[str, str], now: datetime, lang: str) -> Table:
    """One row per service and priority, in the order of the service names."""
    groups: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for r in rows:
        groups[(r.ticket.service_id or "-", r.ticket.priority)].append(r)
    no_service = i18n.t("reports.meta.no_service", lang)
    ordered = sorted(groups.items(), key=lambda kv: (names.get(kv[0][0], kv[0][0]), kv[0][1]))
    return Table(
        i18n.t("reports.evaluation.performance", lang),
        [i18n.t(key, lang) for key in _PERFORMANCE_COLUMNS],
        [
            [
                names.get(sid, no_service),
                priority_label(prio, lang),
                len(items),
                _resolved(items),
                hours(mean(_ack_seconds(items))),
                hours(mean(_resolve_seconds(items))),
                _pct([r.response_met(now) for r in items]),
                _pct([r.resolution_met(now) for r in items]),
            ]
            for (sid, prio), items in ordered
        ],
        note=i18n.t("reports.evaluation.performance_note", lang),
        name="performance",
    )


def _recurring_table(rows: list[Row], names: dict[str, str], lang: str) -> Table:
    """The ten most frequent categories (or services, for tickets without one)."""
    no_service = i18n.t("reports.meta.no_service", lang)
    cats = Counter(
        r.ticket.category or names.get(r.ticket.service_id or "", no_service) for r in rows
    )
    return Table(
        i18n.t("reports.evaluation.recurring", lang),
        [
            i18n.t("reports.column.category_or_service", lang),
            i18n.t("reports.column.count", lang),
            i18n.t("reports.column.share_pct", lang),
        ],
        [[c, n, share(n, len(rows))] for c, n in cats.most_common(10)],
        name="recurring",
    )


def _satisfaction_table(session: Session, lo: datetime, hi: datetime, lang: str) -> Table:
    """FAQ feedback in the period (the reporters' ratings of resolved tickets are in
    `ratings_table`)."""
    fb = session.execute(
        sa.select(col(KbFeedback.helpful), sa.func.count())
        .where(col(KbFeedback.at) >= lo, col(KbFeedback.at) < hi)
        .group_by(col(KbFeedback.helpful))
    ).all()
    helpful = {bool(h): int(n) for h, n in fb}
    return Table(
        i18n.t("reports.evaluation.satisfaction", lang),
        _measure_value(lang),
        [
            [i18n.t("reports.evaluation.faq_helpful", lang), helpful.get(True, 0)],
            [i18n.t("reports.evaluation.faq_not_helpful", lang), helpful.get(False, 0)],
            [
                i18n.t("reports.evaluation.helpful_pct", lang),
                share(helpful.get(True, 0), sum(helpful.values())),
            ],
        ],
        note=i18n.t("reports.evaluation.satisfaction_note", lang),
        name="satisfaction",
    )


def _charts(
    rows: list[Row], start: date, end: date, tz: str, now: datetime, lang: str
) -> list[Chart]:
    zone = ZoneInfo(tz)
    per_day = Counter(r.ticket.created_at.astimezone(zone).date() for r in rows)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    volume = charts.volume(
        days,
        [per_day.get(d, 0) for d in days],
        i18n.t("reports.evaluation.volume_chart", lang),
        lang,
    )
    weeks: dict[date, list[Row]] = defaultdict(list)
    for r in rows:
        day = r.ticket.created_at.astimezone(zone).date()
        weeks[day - timedelta(days=day.weekday())].append(r)
    mondays = sorted(weeks)
    comp = charts.compliance(
        [charts.week_label(max(m, start), min(m + timedelta(days=6), end), lang) for m in mondays],
        [_pct([r.response_met(now) for r in weeks[m]]) for m in mondays],
        [_pct([r.resolution_met(now) for r in weeks[m]]) for m in mondays],
        i18n.t("reports.evaluation.compliance_chart", lang),
        lang,
    )
    return [
        Chart(i18n.t("reports.evaluation.volume", lang), volume),
        Chart(i18n.t("reports.evaluation.compliance", lang), comp),
    ]


def handling_records(
    session: Session,
    start: date,
    end: date,
    *,
    tz: str,
    now: datetime,
    type_: str,
    service_id: str | None = None,
    lang: str = DEFAULT_LANG,
) -> Report:
    """Every service request (or incident) of the period with its handling trail."""
    lo, hi = bounds(start, end, tz)
    items = tickets_in(session, lo, hi, service_id, (type_,))
    names = _names(session)
    people = {
        pid: name for pid, name in session.execute(sa.select(col(Person.id), col(Person.name)))
    }
    counts: dict[int, int] = (
        {
            tid: n
            for tid, n in session.execute(
                sa.select(col(TicketEvent.ticket_id), sa.func.count())
                .where(col(TicketEvent.ticket_id).in_([t.id for t in items]))
                .group_by(col(TicketEvent.ticket_id))
            )
        }
        if items
        else {}
    )
    zone = ZoneInfo(tz)
    suffix = f" {i18n.zone_name(tz)}"  # a record read elsewhere still says whose time it is

    def local(at: datetime | None) -> str | None:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M") + suffix if at else None

    rows = [
        [
            t.number,
            names.get(t.service_id or "", "-"),
            f"P{t.priority}",
            state_label(t.state, lang),
            t.title,
            local(t.created_at),
            local(t.acknowledged_at),
            local(t.resolved_at),
            people.get(t.assignee_id) if t.assignee_id else None,
            t.resolution,
            t.root_cause,
            counts.get(t.id or 0, 0),
        ]
        for t in items
    ]
    title = i18n.t(f"reports.records.{type_}", lang)
    return Report(
        f"catatan-{type_}",
        title,
        now,
        start,
        end,
        service_id,
        sections=[
            Table(
                title,
                [
                    i18n.t("reports.column.number", lang),
                    i18n.t("reports.column.service", lang),
                    i18n.t("reports.column.priority", lang),
                    i18n.t("reports.column.state", lang),
                    i18n.t("reports.column.title", lang),
                    i18n.t("reports.column.created", lang),
                    i18n.t("reports.column.acknowledged", lang),
                    i18n.t("reports.column.resolved_at", lang),
                    i18n.t("reports.column.assignee", lang),
                    i18n.t("reports.column.resolution", lang),
                    i18n.t("reports.column.root_cause", lang),
                    i18n.t("reports.column.events", lang),
                ],
                rows,
                name="records",
            )
        ],
        lang=lang,
    )
