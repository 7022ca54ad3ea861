"""The availability report and the exception report (SLA breaches, unacknowledged
alerts, availability below target), from tickets, alerts and outages. Texts come from
the catalogues (`reports.availability.*`, `reports.exception.*`), in the language asked for."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import i18n  # i18n.t: in this module `t` is a ticket
from bot.core import availability
from bot.core.ticket_states import DIBATALKAN, FINAL_STATES, MENUNGGU
from bot.i18n import DEFAULT_LANG
from bot.reports import charts, follow_up
from bot.reports.model import Chart, Report, Table
from bot.reports.period import bounds, hours
from storage.models import Alert, Outage, Service, Ticket, TicketEvent


def _local(value: datetime | None, tz: str) -> str | None:
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if value else None


def availability_report(
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
    met = {
        True: i18n.t("reports.availability.met", lang),
        False: i18n.t("reports.availability.not_met", lang),
    }
    figures = availability.figures(session, lo, hi, now, tz, [service_id] if service_id else None)
    services = {s.id: s for s in session.exec(select(Service))}
    outages = session.exec(
        select(Outage).where(
            col(Outage.started_at) < hi,
            sa.or_(col(Outage.ended_at).is_(None), col(Outage.ended_at) >= lo),
            col(Outage.state) == "down",  # a degraded (warning) period is no outage
        )
    ).all()
    count: dict[str, int] = defaultdict(int)
    for o in outages:
        if not o.planned:
            count[o.service_id] += 1
    rows, names, values, targets = [], [], [], []
    for sid, f in sorted(
        figures.items(), key=lambda kv: services[kv[0]].name if kv[0] in services else kv[0]
    ):
        name = services[sid].name if sid in services else sid
        value = f.without_maintenance
        rows.append(
            [
                name,
                f"{f.target:g}",
                None if value is None else round(value, 3),
                None if f.with_maintenance is None else round(f.with_maintenance, 3),
                round(f.down_s / 60, 1),
                round(f.maintenance_s / 60, 1),
                count.get(sid, 0),
                "-" if f.meets_target is None else met[f.meets_target],
            ]
        )
        names.append(name)
        values.append(value)
        targets.append(f.target)
    per_service = i18n.t("reports.availability.per_service", lang)
    report = Report(
        "ketersediaan",
        i18n.t("reports.availability.title", lang),
        now,
        start,
        end,
        service_id,
        intro=i18n.t("reports.availability.intro", lang),
        sections=[
            Table(
                per_service,
                [
                    i18n.t("reports.column.service", lang),
                    i18n.t("reports.column.target_pct", lang),
                    i18n.t("reports.column.availability_without_pct", lang),
                    i18n.t("reports.column.availability_with_pct", lang),
                    i18n.t("reports.column.down_min", lang),
                    i18n.t("reports.column.maintenance_min", lang),
                    i18n.t("reports.column.outages", lang),
                    i18n.t("reports.column.meets_target", lang),
                ],
                rows,
                name="availability",
            )
        ],
        lang=lang,
    )
    if not rows:
        report.notes.append(i18n.t("reports.availability.none_monitored", lang))
    else:
        chart_title = i18n.t("reports.availability.chart", lang)
        report.sections.append(
            Chart(per_service, charts.availability(names, values, targets, chart_title, lang))
        )
    return report


def _reasons(events: list[TicketEvent], ticket: Ticket, now: datetime, lang: str) -> str:
    reasons = []
    if ticket.assignee_id is None:
        reasons.append(i18n.t("reports.exception.reason.unassigned", lang))
    reassigned = sum(1 for e in events if e.kind == "assign") - 1
    if reassigned > 0:
        reasons.append(i18n.t("reports.exception.reason.reassigned", lang, n=reassigned))
    waited, since = 0.0, None
    for e in events:
        if e.kind == "state" and e.new == MENUNGGU:
            since = e.at
        elif e.kind == "state" and since is not None:
            waited += (e.at - since).total_seconds()
            since = None
    if since is not None:
        waited += (now - since).total_seconds()
    if waited:
        reasons.append(i18n.t("reports.exception.reason.waited", lang, hours=hours(waited)))
    if ticket.resolved_at is None and ticket.state not in FINAL_STATES:
        state = i18n.t(f"state.{ticket.state}", lang)
        reasons.append(i18n.t("reports.exception.reason.still_open", lang, state=state))
    return "; ".join(reasons) or i18n.t("reports.exception.reason.overdue", lang)


def exception_report(
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
    names = {s.id: s.name for s in session.exec(select(Service))}
    svc = (
        (lambda stmt: stmt.where(Ticket.service_id == service_id))
        if service_id
        else (lambda stmt: stmt)
    )
    response = session.exec(
        svc(
            select(Ticket).where(
                col(Ticket.response_due_at) >= lo,
                col(Ticket.response_due_at) < hi,
                col(Ticket.response_due_at) < now,
                sa.or_(
                    col(Ticket.acknowledged_at).is_(None),
                    col(Ticket.acknowledged_at) > col(Ticket.response_due_at),
                ),
            )
        )
    ).all()
    resolution = session.exec(
        svc(
            select(Ticket).where(
                col(Ticket.resolution_due_at) >= lo,
                col(Ticket.resolution_due_at) < hi,
                col(Ticket.resolution_due_at) < now,
                col(Ticket.state) != DIBATALKAN,
                sa.or_(
                    col(Ticket.resolved_at).is_(None),
                    col(Ticket.resolved_at) > col(Ticket.resolution_due_at),
                ),
            )
        )
    ).all()
    ids = {t.id for t in [*response, *resolution]}
    events: dict[int, list[TicketEvent]] = defaultdict(list)
    if ids:
        for e in session.exec(
            select(TicketEvent)
            .where(col(TicketEvent.ticket_id).in_(ids))
            .order_by(col(TicketEvent.id))
        ):
            events[e.ticket_id].append(e)
    breaches = []
    links = follow_up.linked_actions(session, lang)
    not_yet = i18n.t("reports.exception.not_yet", lang)
    for kind, items, due_attr, done_attr in (
        (
            i18n.t("reports.exception.response_sla", lang),
            response,
            "response_due_at",
            "acknowledged_at",
        ),
        (
            i18n.t("reports.exception.resolution_sla", lang),
            resolution,
            "resolution_due_at",
            "resolved_at",
        ),
    ):
        for t in items:
            due, done = getattr(t, due_attr), getattr(t, done_attr)
            over = ((done or now) - due).total_seconds()
            breaches.append(
                [
                    kind,
                    t.number,
                    names.get(t.service_id or "", "-"),
                    f"P{t.priority}",
                    _local(due, tz),
                    _local(done, tz) or not_yet,
                    hours(over),
                    _reasons(events[t.id or 0], t, now, lang),
                    follow_up.follow_up_cell(links, t.id, t.service_id),
                ]
            )
    breaches.sort(key=lambda r: (r[4] or "", r[1]))
    alerts_stmt = select(Alert).where(
        col(Alert.created_at) >= lo,
        col(Alert.created_at) < hi,
        col(Alert.acknowledged_at).is_(None),
    )
    if service_id:
        alerts_stmt = alerts_stmt.where(Alert.service_id == service_id)
    unacked = [
        [
            a.kind,
            names.get(a.service_id or "", "-"),
            f"P{a.priority}",
            _local(a.created_at, tz),
            a.repeats,
            a.level,
        ]
        for a in session.exec(alerts_stmt.order_by(col(Alert.created_at)))
    ]
    below = []
    for sid, f in sorted(
        availability.figures(session, lo, hi, now, tz, [service_id] if service_id else None).items()
    ):
        if f.meets_target is False:
            below.append(
                [
                    names.get(sid, sid),
                    f"{f.target:g}",
                    round(f.without_maintenance or 0, 3),
                    round(f.down_s / 60, 1),
                    follow_up.follow_up_cell(links, None, sid),
                ]
            )
    unacked_kind = i18n.t("reports.exception.unacknowledged", lang)
    below_kind = i18n.t("reports.exception.below_target", lang)
    summary = follow_up.exception_summary(
        [(r[2], r[0]) for r in breaches]
        + [(r[1], unacked_kind) for r in unacked]
        + [(r[0], below_kind) for r in below],
        lang,
    )
    return Report(
        "pengecualian",
        i18n.t("reports.exception.title", lang),
        now,
        start,
        end,
        service_id,
        intro=i18n.t("reports.exception.intro", lang),
        sections=[
            summary,
            Table(
                i18n.t("reports.exception.breaches", lang),
                [
                    i18n.t("reports.column.kind", lang),
                    i18n.t("reports.column.ticket", lang),
                    i18n.t("reports.column.service", lang),
                    i18n.t("reports.column.priority", lang),
                    i18n.t("reports.column.due", lang),
                    i18n.t("reports.column.met_at", lang),
                    i18n.t("reports.column.over_h", lang),
                    i18n.t("reports.column.reason", lang),
                    i18n.t("reports.review.column.follow_up", lang),
                ],
                breaches,
                name="breaches",
            ),
            Table(
                i18n.t("reports.exception.unacknowledged", lang),
                [
                    i18n.t("reports.column.kind", lang),
                    i18n.t("reports.column.service", lang),
                    i18n.t("reports.column.priority", lang),
                    i18n.t("reports.column.created", lang),
                    i18n.t("reports.column.repeats", lang),
                    i18n.t("reports.column.escalation_level", lang),
                ],
                unacked,
                name="unacknowledged",
            ),
            Table(
                i18n.t("reports.exception.below_target", lang),
                [
                    i18n.t("reports.column.service", lang),
                    i18n.t("reports.column.target_pct", lang),
                    i18n.t("reports.column.availability_pct", lang),
                    i18n.t("reports.column.unavailable_min", lang),
                    i18n.t("reports.review.column.follow_up", lang),
                ],
                below,
                name="below_target",
            ),
        ],
        lang=lang,
    )
