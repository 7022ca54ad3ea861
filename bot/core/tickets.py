"""Tickets: numbering, life cycle, assignment and the audit trail.

Every change goes through this module, appends a `TicketEvent` and, where the reporter
or assignee should hear of it, a `Notice` in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import alerts, notices, recovery_offers, satisfaction, sla
from bot.core.errors import InvalidTransition, NotAllowed, NotFound
from bot.core.priority import priority_for
from bot.core.reporter_contact import ReporterContact
from bot.core.roles import OVERSEER_ROLES, has_any, is_operator
from bot.core.ticket_states import (
    BARU,
    DIBATALKAN,
    DIKERJAKAN,
    DITUGASKAN,
    DITUTUP,
    MENUNGGU,
    MIN_NOTE,
    OPEN_STATES,
    SELESAI,
    TRANSITIONS,
    TYPES,
    requires_root_cause,
)
from bot.core.ticket_states import (
    STATES as STATES,
)
from storage.db import insert_for
from storage.models import (
    Person,
    Service,
    ServiceTechnician,
    Ticket,
    TicketCounter,
    TicketEvent,
    utcnow,
)

# The states, types and transitions live in `bot.core.ticket_states`; the names imported
# above stay reachable as `tickets.BARU`, `tickets.OPEN_STATES`, ... for existing callers.


@dataclass(frozen=True)
class Actor:
    """Who does something, and through which channel. `person=None` is the system."""

    person: Person | None
    channel: str | None = None

    @property
    def person_id(self) -> int | None:
        return self.person.id if self.person else None


SYSTEM = Actor(None, "system")


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def next_number(session: Session, type_: str, year: int) -> str:
    """Allocate the next number atomically; the row lock serialises concurrent writers."""
    return allocate_number(session, f"{TYPES[type_]}-{year}")


def allocate_number(session: Session, key: str) -> str:
    """The next number of the counter `key`, as KEY-000001: tickets, problems and changes
    share the counters' table, one row per prefix and year."""
    bump = (
        sa.update(TicketCounter)
        .where(col(TicketCounter.key) == key)
        .values(value=TicketCounter.value + 1)
        .returning(col(TicketCounter.value))
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is None:
        insert = insert_for(session)
        session.execute(insert(TicketCounter).values(key=key, value=0).on_conflict_do_nothing())
        value = session.execute(bump).scalar_one()
    return f"{key}-{value:06d}"


def record(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    kind: str,
    *,
    old: str | None = None,
    new: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> TicketEvent:
    assert ticket.id is not None, "events belong to a flushed ticket"
    event = TicketEvent(
        ticket_id=ticket.id,
        at=_now(now),
        actor_id=actor.person_id,
        channel=actor.channel,
        kind=kind,
        old=old,
        new=new,
        note=note,
    )
    session.add(event)
    session.flush()
    if kind in ("ack", "assign", "state"):
        alerts.ticket_changed(session, ticket, event)
    return event


def open_ticket(
    session: Session,
    *,
    type_: str,
    title: str,
    description: str = "",
    service_id: str | None = None,
    impact: int = 3,
    urgency: int = 3,
    reporter: Person | None = None,
    channel: str | None = None,
    chat_id: str | None = None,
    category: str | None = None,
    external_ref: str | None = None,
    auto_assign: bool = True,
    alert: bool = True,
    triage: bool = False,
    contact: ReporterContact | None = None,
    now: datetime | None = None,
) -> Ticket:
    """`alert=False` when the caller raises its own alert for the ticket (a service down)
    and offers its recovery plan (bot.core.recovery_offers).
    `triage=True`: the reporter is unverified, so a P1/P2 opens at `TRIAGE_PRIORITY`,
    pages nobody and waits for an operator (`confirm_priority`). `contact`: how to reach
    a reporter whose chat reaches nobody (bot.core.reporter_contact), set before the
    notices are written so the operators' texts carry it."""
    if type_ not in TYPES:
        raise ValueError(f"unknown ticket type {type_!r}")
    now = _now(now)
    asked = priority_for(impact, urgency)
    held = triage and asked in alerts.ALERT_PRIORITIES
    ticket = Ticket(
        number=next_number(session, type_, now.year),
        type=type_,
        service_id=service_id,
        title=title[:200],
        description=description,
        category=category,
        impact=impact,
        urgency=urgency,
        priority=TRIAGE_PRIORITY if held else asked,
        triage_priority=asked if held else None,
        reporter_id=reporter.id if reporter else None,
        reporter_channel=channel,
        reporter_chat_id=chat_id,
        created_at=now,
        updated_at=now,
        external_ref=external_ref,
        reporter_name=contact.name if contact else None,
        reporter_contact=contact.contact if contact else None,
    )
    sla.start(session, ticket)
    session.add(ticket)
    session.flush()
    actor = Actor(reporter, channel)
    record(session, ticket, actor, "created", new=BARU, note=f"P{ticket.priority}", now=now)
    if contact is not None:
        record(
            session, ticket, actor, "contact", new=contact.name[:200], note=contact.contact, now=now
        )
    if held:
        record(session, ticket, actor, "triage", new=f"P{asked}", now=now)
    if auto_assign:
        assignee = pick_assignee(session, ticket)
        if assignee is not None:
            assign(session, ticket, assignee, SYSTEM, now=now)
    if alert:
        alerts.raise_ticket_alert(session, ticket, now=now)
        recovery_offers.offer_for_ticket(session, ticket, now=now)
    return ticket


#: where a held-back P1/P2 waits for triage (bot.core.triage): answered within the day,
#: pages nobody.
TRIAGE_PRIORITY = 3


def pick_assignee(
    session: Session, ticket: Ticket, exclude: set[int] | None = None
) -> Person | None:
    """A technical manager of the service with the needed skill and the fewest open tickets."""
    if ticket.service_id is None:
        return None
    service = session.get(Service, ticket.service_id)
    people = list(
        session.exec(
            select(Person)
            .join(ServiceTechnician, col(ServiceTechnician.person_id) == col(Person.id))
            .where(col(ServiceTechnician.service_id) == ticket.service_id)
        )
    )
    people = [p for p in people if not exclude or p.id not in exclude]
    if not people:
        return None
    needed = {ticket.service_id, service.category if service else "", ticket.category or ""} - {""}
    skilled = [p for p in people if needed & set(p.skills or [])]
    pool = skilled or people
    counts: dict[int | None, int] = dict(
        session.execute(
            sa.select(col(Ticket.assignee_id), sa.func.count())
            .where(col(Ticket.assignee_id).in_([p.id for p in pool]))
            .where(col(Ticket.state).in_(OPEN_STATES))
            .group_by(col(Ticket.assignee_id))
        ).all()
    )
    return min(pool, key=lambda p: (counts.get(p.id, 0), p.id))


def _change_state(
    session: Session, ticket: Ticket, new: str, actor: Actor, *, note: str | None, now: datetime
) -> None:
    old = ticket.state
    if new not in TRANSITIONS[old]:
        raise InvalidTransition("ticket.invalid_transition", number=ticket.number, old=old, new=new)
    ticket.state = new
    ticket.updated_at = now
    sla.state_changed(session, ticket, new, now)
    session.add(ticket)
    event = record(session, ticket, actor, "state", old=old, new=new, note=note, now=now)
    notices.tell_reporter(session, ticket, event)
    if new not in OPEN_STATES and ticket.triage_priority is not None:
        # left the open states untriaged: nothing waits for triage any more. The priority
        # it asked for stays in the record ("triage" P<asked> → none), not on the ticket.
        asked, ticket.triage_priority = ticket.triage_priority, None
        record(session, ticket, actor, "triage", old=f"P{asked}", new=None, now=now)


def assign(
    session: Session, ticket: Ticket, person: Person, actor: Actor, *, now: datetime | None = None
) -> None:
    now = _now(now)
    if not is_operator(person):
        raise NotAllowed("ticket.assignee_not_operator", name=person.name)
    if ticket.state not in OPEN_STATES:
        raise InvalidTransition("ticket.not_open", number=ticket.number, state=ticket.state)
    old = ticket.assignee_id
    if old == person.id:
        return
    ticket.assignee_id = person.id
    ticket.updated_at = now
    session.add(ticket)
    record(
        session,
        ticket,
        actor,
        "assign",
        old=str(old) if old else None,
        new=str(person.id),
        note=person.name,
        now=now,
    )
    notices.tell_assignee(session, ticket, person)
    if ticket.state == BARU:
        _change_state(session, ticket, DITUGASKAN, actor, note=None, now=now)


def _is_reporter(actor: Actor, ticket: Ticket) -> bool:
    return actor.person_id is not None and actor.person_id == ticket.reporter_id


def _require_operator(actor: Actor) -> None:
    if actor is not SYSTEM and not is_operator(actor.person):
        raise NotAllowed("auth.operator_only")


def can_view(person: Person | None, ticket: Ticket) -> bool:
    if person is not None and ticket.reporter_id == person.id:
        return True
    return has_any(person, OVERSEER_ROLES)


def find(
    session: Session, number: str, viewer: Person | None, *, for_update: bool = False
) -> Ticket:
    """The ticket with this number, if the viewer may see it; otherwise NotFound —
    the same answer for "absent" and "not yours", so numbers cannot be probed."""
    stmt = select(Ticket).where(Ticket.number == number.strip().upper())
    if for_update and session.get_bind().dialect.name == "postgresql":
        # two operators pressing at once: the second waits and sees the first one's change
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    ticket = session.exec(stmt).first()
    if ticket is None or not can_view(viewer, ticket):
        raise NotFound("ticket.not_found", number=number.strip().upper())
    return ticket


def assigned_elsewhere(session: Session, ticket: Ticket, person: Person | None) -> Person | None:
    """The operator who holds the ticket, when it is not `person`: taking it from them
    is asked first, and they are told."""
    if ticket.assignee_id is None or (person is not None and ticket.assignee_id == person.id):
        return None
    return session.get(Person, ticket.assignee_id)


def take(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    *,
    now: datetime | None = None,
    takeover: bool = True,
) -> Person | None:
    """The operator works on the ticket now. A ticket another operator holds is taken
    over, and that operator hears who took it (the previous assignee is returned then);
    `takeover=False` refuses instead, for a caller that asks first (the typed /ambil)."""
    _require_operator(actor)
    now = _now(now)
    if ticket.state not in OPEN_STATES:
        raise InvalidTransition("ticket.not_open", number=ticket.number, state=ticket.state)
    assert actor.person is not None
    previous = assigned_elsewhere(session, ticket, actor.person)
    if previous is not None and not takeover:
        raise NotAllowed("ticket.take_held", number=ticket.number, name=previous.name)
    assign(session, ticket, actor.person, actor, now=now)
    if previous is not None:
        notices.tell_taken_over(session, ticket, previous, actor.person)
    acknowledge(session, ticket, actor, now=now)
    if ticket.state in (BARU, DITUGASKAN, MENUNGGU):
        _change_state(session, ticket, DIKERJAKAN, actor, note=None, now=now)
    return previous


def acknowledge(
    session: Session, ticket: Ticket, actor: Actor, *, now: datetime | None = None
) -> bool:
    """First response by an operator; stops the response SLA clock. True if it was the first."""
    _require_operator(actor)
    if ticket.acknowledged_at is not None:
        return False
    now = _now(now)
    ticket.acknowledged_at = now
    sla.acknowledged(ticket)
    session.add(ticket)
    record(session, ticket, actor, "ack", now=now)
    return True


def start_work(
    session: Session, ticket: Ticket, actor: Actor, *, now: datetime | None = None
) -> None:
    _require_operator(actor)
    _change_state(session, ticket, DIKERJAKAN, actor, note=None, now=_now(now))


def comment(
    session: Session, ticket: Ticket, actor: Actor, text: str, *, now: datetime | None = None
) -> None:
    if actor is not SYSTEM and not (is_operator(actor.person) or can_view(actor.person, ticket)):
        raise NotAllowed("auth.operator_only")
    now = _now(now)
    event = record(session, ticket, actor, "comment", note=text, now=now)
    ticket.updated_at = now
    session.add(ticket)
    if actor.person_id != ticket.reporter_id:
        notices.tell_reporter(session, ticket, event)
    elif actor is not SYSTEM and actor.person_id is not None and ticket.state == MENUNGGU:
        # The user answered what we waited for: the work (and the SLA clock) resumes.
        _change_state(session, ticket, DIKERJAKAN, actor, note=None, now=now)


def hold_for_user(
    session: Session, ticket: Ticket, actor: Actor, question: str, *, now: datetime | None = None
) -> None:
    _require_operator(actor)
    _change_state(session, ticket, MENUNGGU, actor, note=question, now=_now(now))


def resolve(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    *,
    resolution: str,
    root_cause: str | None = None,
    now: datetime | None = None,
) -> None:
    """Incidents need a root cause as well as a resolution note (guideline ch. 7.1.2).

    Checked here, not only in the chat and modal prompts, so every caller (a flow, Slack,
    the CLI, a script) is held to the same rule: a note of at least `MIN_NOTE` characters
    and, for an incident, a root cause."""
    _require_operator(actor)
    if len(resolution.strip()) < MIN_NOTE:
        raise InvalidTransition("ticket.resolution_required", n=MIN_NOTE)
    if requires_root_cause(ticket.type) and not (root_cause or "").strip():
        raise InvalidTransition("ticket.root_cause_required")
    now = _now(now)
    if ticket.state in (BARU, DITUGASKAN):
        if actor.person is not None and ticket.assignee_id is None:
            assign(session, ticket, actor.person, actor, now=now)
        _change_state(session, ticket, DIKERJAKAN, actor, note=None, now=now)
    if ticket.acknowledged_at is None:
        ticket.acknowledged_at = now
    ticket.resolution = resolution.strip()
    ticket.root_cause = (root_cause or "").strip() or None
    ticket.resolved_at = now
    record(
        session, ticket, actor, "resolution", note=ticket.resolution, new=ticket.root_cause, now=now
    )
    _change_state(session, ticket, SELESAI, actor, note=ticket.resolution, now=now)
    # the reporter is asked for a rating once per ticket; closing never waits for it
    satisfaction.ask(session, ticket, actor.person_id, now=now)


def close(session: Session, ticket: Ticket, actor: Actor, *, now: datetime | None = None) -> None:
    """Operators close; the reporter may close a resolved ticket to confirm it."""
    if not (
        actor is SYSTEM
        or is_operator(actor.person)
        or (_is_reporter(actor, ticket) and ticket.state == SELESAI)
    ):
        raise NotAllowed("auth.operator_only")
    now = _now(now)
    _change_state(session, ticket, DITUTUP, actor, note=None, now=now)
    ticket.closed_at = now


def reopen(
    session: Session, ticket: Ticket, actor: Actor, reason: str, *, now: datetime | None = None
) -> None:
    if not (is_operator(actor.person) or _is_reporter(actor, ticket)):
        raise NotAllowed("auth.operator_only")
    now = _now(now)
    _change_state(session, ticket, DIKERJAKAN, actor, note=reason, now=now)
    ticket.resolved_at = None


def cancel(
    session: Session, ticket: Ticket, actor: Actor, reason: str = "", *, now: datetime | None = None
) -> None:
    """The reporter may withdraw a ticket nobody works on yet; operators may cancel any open one."""
    own_early = _is_reporter(actor, ticket) and ticket.state in (BARU, DITUGASKAN)
    if not (actor is SYSTEM or is_operator(actor.person) or own_early):
        raise NotAllowed("auth.operator_only")
    _change_state(session, ticket, DIBATALKAN, actor, note=reason or None, now=_now(now))


def set_impact_urgency(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    impact: int,
    urgency: int,
    *,
    now: datetime | None = None,
) -> None:
    _require_operator(actor)
    new = priority_for(impact, urgency)
    old = ticket.priority
    ticket.impact, ticket.urgency, ticket.priority = impact, urgency, new
    ticket.updated_at = _now(now)
    session.add(ticket)
    if new != old:
        sla.retarget(session, ticket, ticket.updated_at)
        record(session, ticket, actor, "priority", old=str(old), new=str(new), now=now)
        recovery_offers.offer_for_ticket(session, ticket, now=now)


def reported_by(
    session: Session, person: Person, *, open_only: bool = False, limit: int = 20
) -> list[Ticket]:
    stmt = select(Ticket).where(Ticket.reporter_id == person.id)
    if open_only:
        stmt = stmt.where(col(Ticket.state).in_(OPEN_STATES))
    return list(session.exec(stmt.order_by(col(Ticket.created_at).desc()).limit(limit)))


def queue(session: Session, person: Person, *, limit: int = 30) -> list[Ticket]:
    """An operator's own open tickets first, then unassigned ones of services they manage."""
    mine = (
        select(Ticket)
        .where(Ticket.assignee_id == person.id)
        .where(col(Ticket.state).in_(OPEN_STATES))
    )
    services = select(ServiceTechnician.service_id).where(ServiceTechnician.person_id == person.id)
    free = (
        select(Ticket)
        .where(col(Ticket.assignee_id).is_(None))
        .where(col(Ticket.state).in_(OPEN_STATES))
        .where(sa.or_(col(Ticket.service_id).in_(services), col(Ticket.service_id).is_(None)))
    )
    order = (col(Ticket.priority), col(Ticket.created_at))
    return list(session.exec(mine.order_by(*order).limit(limit))) + list(
        session.exec(free.order_by(*order).limit(limit))
    )


def history(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(
        session.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(col(TicketEvent.id))
        )
    )
