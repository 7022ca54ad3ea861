"""The handling trail of one real incident of the period (the one with the most recorded
changes) as a swimlane by role: the guideline (ch. 3.6, level 3 e) asks for the
cross-functional links between reporter, service desk, technical and service managers,
"salah satunya terlihat melalui swimlane diagram"."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import i18n
from bot.core.roles import Role, roles_of
from bot.core.ticket_states import GANGGUAN
from bot.i18n import DEFAULT_LANG, fmt_dt
from bot.reports import charts
from bot.reports.model import Chart, Report, Table
from bot.reports.period import bounds
from bot.reports.usage import channel_label
from storage.models import Person, Service, ServiceTechnician, Ticket, TicketEvent

#: the lanes, top to bottom, and their names; the first four are always drawn
LANES = {
    "reporter": "reports.trail.lane.reporter",
    "service_desk": "reports.trail.lane.service_desk",
    "technical": "reports.trail.lane.technical",
    "manager": "reports.trail.lane.manager",
    "provider": "reports.trail.lane.provider",
    "coordinator": "reports.trail.lane.coordinator",
    "recovery": "reports.trail.lane.recovery",
    "admin": "reports.trail.lane.admin",
}
_ALWAYS = ("reporter", "service_desk", "technical", "manager")
#: a person's lane when their link to this ticket's service does not say it
_BY_ROLE = (
    (Role.KOORDINATOR_LAYANAN, "coordinator"),
    (Role.KOORDINATOR_PEMULIHAN, "recovery"),
    (Role.PENGELOLA_LAYANAN, "manager"),
    (Role.PENGELOLA_TEKNIS, "technical"),
    (Role.PENYEDIA_LAYANAN, "provider"),
    (Role.ADMIN, "admin"),
)
_EVENTS = {
    "created": "reports.trail.event.created",
    "triage": "reports.trail.event.triage",
    "assign": "reports.trail.event.assign",
    "ack": "reports.trail.event.ack",
    "comment": "reports.trail.event.comment",
    "priority": "reports.trail.event.priority",
    "resolution": "reports.trail.event.resolution",
}


def busiest_incident(
    session: Session, lo: datetime, hi: datetime, service_id: str | None = None
) -> Ticket | None:
    """The incident opened in [lo, hi) with the most events (the lowest id among equals):
    one grouped query, whatever the number of tickets."""
    n = sa.func.count(col(TicketEvent.id))
    stmt = sa.select(col(Ticket.id))
    if service_id:
        stmt = stmt.where(col(Ticket.service_id) == service_id)
    found = session.execute(
        stmt.join(TicketEvent, col(TicketEvent.ticket_id) == col(Ticket.id))
        .where(
            col(Ticket.type) == GANGGUAN,
            col(Ticket.created_at) >= lo,
            col(Ticket.created_at) < hi,
        )
        .group_by(col(Ticket.id))
        .order_by(n.desc(), col(Ticket.id))
        .limit(1)
    ).scalar_one_or_none()
    return session.get(Ticket, found) if found is not None else None


def _lane(person: Person | None, ticket: Ticket, service: Service | None, techs: set[int]) -> str:
    if person is None:
        return "service_desk"  # the application itself: intake, assignment, escalation
    if person.id == ticket.reporter_id:
        return "reporter"
    if person.id in techs:
        return "technical"
    if service is not None and person.id == service.service_manager_id:
        return "manager"
    held = roles_of(person)
    return next((lane for role, lane in _BY_ROLE if role in held), "reporter")


def _what(event: TicketEvent, lang: str) -> str:
    if event.kind == "state" and event.new:
        return i18n.t(f"state.{event.new}", lang)
    key = _EVENTS.get(event.kind)
    return i18n.t(key, lang) if key else event.kind


def _detail(event: TicketEvent, lang: str) -> str:
    if event.kind == "assign":
        return event.note or ""
    if event.kind in ("priority", "triage"):
        return " → ".join(v for v in (event.old, event.new) if v)
    if event.kind == "state" and event.old:
        return f"{i18n.t(f'state.{event.old}', lang)} → {i18n.t(f'state.{event.new}', lang)}"
    return event.note or ""


def trail_report(
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
    ticket = busiest_incident(session, lo, hi, service_id)
    report = Report(
        "jejak-insiden",
        i18n.t("reports.trail.title", lang),
        now,
        start,
        end,
        service_id,
        intro=i18n.t("reports.trail.intro", lang),
        lang=lang,
    )
    headers = [
        i18n.t("reports.trail.time", lang),
        i18n.t("reports.trail.lane_column", lang),
        i18n.t("reports.trail.actor", lang),
        i18n.t("reports.trail.what", lang),
        i18n.t("reports.trail.detail", lang),
        i18n.t("reports.usage.channel_column", lang),
    ]
    if ticket is None:
        report.sections.append(
            Table(i18n.t("reports.trail.steps", lang), headers, [], name="steps")
        )
        report.notes.append(i18n.t("reports.trail.none", lang))
        return report
    events = list(
        session.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            # a web reporter's contact is personal data for operators, not a handling step
            .where(col(TicketEvent.kind) != "contact")
            .order_by(col(TicketEvent.at), col(TicketEvent.id))
        )
    )
    ids = {e.actor_id for e in events if e.actor_id}
    people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(ids)))}
    service = session.get(Service, ticket.service_id) if ticket.service_id else None
    techs = {
        link.person_id
        for link in session.exec(
            select(ServiceTechnician).where(ServiceTechnician.service_id == ticket.service_id)
        )
    }
    lanes = [_lane(people.get(e.actor_id or 0), ticket, service, techs) for e in events]
    shown = [k for k in LANES if k in _ALWAYS or k in lanes]
    system = i18n.t("reports.trail.system", lang)
    rows = [
        [
            fmt_dt(e.at, lang, tz),
            i18n.t(LANES[lane], lang),
            people[e.actor_id].name if e.actor_id in people else system,
            _what(e, lang),
            _detail(e, lang),
            channel_label(e.channel, lang),
        ]
        for e, lane in zip(events, lanes, strict=True)
    ]
    title = i18n.t("reports.trail.ticket", lang, number=ticket.number, title=ticket.title)
    steps = [
        charts.Step(e.at, shown.index(lane), _what(e, lang))
        for e, lane in zip(events, lanes, strict=True)
    ]
    report.sections += [
        Table(title, headers, rows, name="steps"),
        Chart(
            i18n.t("reports.trail.swimlane", lang),
            charts.swimlane([i18n.t(LANES[k], lang) for k in shown], steps, title, tz, lang),
        ),
    ]
    return report
