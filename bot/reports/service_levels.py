"""The availability report and the exception report (SLA breaches, unacknowledged
alerts, availability below target), from tickets, alerts and outages. Texts come from
the catalogues (`reports.availability.*`, `reports.exception.*`), in the language asked for."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import i18n  # i18n.t: in this module `t` is a ticket
from bot.core import availability, disruptions
from bot.core.catalog import list_services
from bot.core.ticket_states import DIBATALKAN, FINAL_STATES, MENUNGGU
from bot.i18n import DEFAULT_LANG, fmt_dt, fmt_number
from bot.reports import charts, follow_up
from bot.reports.labels import alert_kind_label
from bot.reports.model import Chart, Report, Table
from bot.reports.numbers import fixed
from bot.reports.period import bounds, hours
from storage.models import Alert, Outage, Service, Ticket, TicketEvent


def _local(value: datetime | None, tz: str, lang: str) -> str | None:
    """A time in the agency's zone as the reader writes it: "2 Mar 2026 10.00 WIB"."""
    return fmt_dt(value, lang, tz) if value else None


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
    """Every active service of the catalogue (or the one asked for): the monitored ones
    with their figures, the others marked "tidak dipantau" rather than left out, and a
    note for each service users reported incidents about in the period."""
    lo, hi = bounds(start, end, tz)
    met = {
        True: i18n.t("reports.availability.met", lang),
        False: i18n.t("reports.availability.not_met", lang),
    }
    not_monitored = i18n.t("reports.availability.not_monitored", lang)
    ids = [service_id] if service_id else None
    figures = availability.figures(session, lo, hi, now, tz, ids)
    services = [s for s in list_services(session) if service_id in (None, s.id)]
    outages = session.exec(
        select(Outage).where(
            col(Outage.started_at) < hi,
            sa.or_(col(Outage.ended_at).is_(None), col(Outage.ended_at) > lo),
            col(Outage.state) == "down",  # a degraded (warning) period is no outage
        )
    ).all()
    count: dict[str, int] = defaultdict(int)
    for o in outages:
        if not o.planned:
            count[o.service_id] += 1
    rows: list[list[object]] = []
    names: list[str] = []
    values: list[float | None] = []
    targets: list[float] = []
    for svc in services:
        f = figures.get(svc.id)
        if f is None:
            rows.append([svc.name, fixed(svc.availability_target, 1), *[None] * 5, not_monitored])
            continue
        value = f.without_maintenance
        rows.append(
            [
                svc.name,
                fixed(f.target, 1),
                fixed(value, 3),
                fixed(f.with_maintenance, 3),
                fixed(f.down_s / 60, 1),
                fixed(f.maintenance_s / 60, 1),
                count.get(svc.id, 0),
                "-" if f.meets_target is None else met[f.meets_target],
            ]
        )
        names.append(svc.name)
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
    report.notes += _monitoring_notes(session, services, figures, lo, hi, lang)
    if names:
        chart_title = i18n.t("reports.availability.chart", lang)
        report.sections.append(
            Chart(per_service, charts.availability(names, values, targets, chart_title, lang))
        )
    return report


def _monitoring_notes(
    session: Session,
    services: list[Service],
    figures: dict[str, availability.Figures],
    lo: datetime,
    hi: datetime,
    lang: str,
) -> list[str]:
    """What the figures cannot say: which services nobody monitors, and the incidents
    users reported — for an unmonitored service the only sign of a disruption."""
    notes = []
    unmonitored = [s.name for s in services if s.id not in figures]
    if not figures:
        notes.append(i18n.t("reports.availability.none_monitored", lang))
    elif unmonitored:
        notes.append(
            i18n.t(
                "reports.availability.unmonitored_note",
                lang,
                n=fmt_number(len(unmonitored), lang),
                services=", ".join(unmonitored),
            )
        )
    reported = disruptions.reported_incidents(
        session, service_ids=[s.id for s in services], during=(lo, hi)
    )
    for svc in services:
        item = reported.get(svc.id)
        if item is None:
            continue
        key = (
            "reports.availability.reported_note"
            if svc.id in figures
            else "reports.availability.reported_unmonitored_note"
        )
        notes.append(
            i18n.t(
                key,
                lang,
                service=svc.name,
                n=fmt_number(item.count, lang),
                numbers=", ".join(item.numbers[:10]) + (" …" if item.count > 10 else ""),
            )
        )
    return notes


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
        waited_h = fmt_number(waited / 3600, lang, 1)
        reasons.append(i18n.t("reports.exception.reason.waited", lang, hours=waited_h))
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
    dated: list[tuple[datetime, str, list[Any]]] = []
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
            row = [
                kind,
                t.number,
                names.get(t.service_id or "", "-"),
                f"P{t.priority}",
                _local(due, tz, lang),
                _local(done, tz, lang) or not_yet,
                hours(over),
                _reasons(events[t.id or 0], t, now, lang),
                follow_up.follow_up_cell(links, t.id, t.service_id),
            ]
            dated.append((due, t.number, row))
    dated.sort(key=lambda b: (b[0], b[1]))
    breaches = [row for _, _, row in dated]
    alerts_stmt = select(Alert).where(
        col(Alert.created_at) >= lo,
        col(Alert.created_at) < hi,
        col(Alert.acknowledged_at).is_(None),
    )
    if service_id:
        alerts_stmt = alerts_stmt.where(Alert.service_id == service_id)
    unacked = [
        [
            alert_kind_label(a.kind, lang),
            names.get(a.service_id or "", "-"),
            f"P{a.priority}",
            _local(a.created_at, tz, lang),
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
                    fixed(f.target, 1),
                    fixed(f.without_maintenance or 0, 3),
                    fixed(f.down_s / 60, 1),
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
