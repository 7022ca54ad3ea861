"""Escalation of SLA clocks and repeats of unacknowledged alerts.

Two ticks, each a plain function of `now`, called by the scheduler and by tests:

- `sla_tick`: tickets whose `sla_next_at` has come (one indexed range query). At risk →
  a notice to the assigned technical manager; not yet answered → functional reassignment
  to the next technical manager with the skill; response breached → an alert to the
  service's operator groups and the service manager (hierarchical); resolution breached →
  an alert to the koordinator layanan. Which steps apply is configured per priority.
- `alert_tick`: alerts nobody acknowledged are posted again every N minutes (per
  priority); after M repeats they also go to the service manager, after M more to the
  koordinator layanan. One acknowledgement stops them everywhere (bot.core.alerts).

Every message is an outbox notice with a dedupe key written in the same transaction as
the step, so running a tick twice, or on two replicas, sends nothing twice. On PostgreSQL
rows are claimed with FOR UPDATE SKIP LOCKED; on SQLite the write lock serialises ticks.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.core import alerts, notices, sla, tickets
from bot.core.roles import Role
from bot.core.ticket_states import OPEN_STATES
from bot.i18n import fmt_dt, t
from storage.db import session_scope
from storage.models import Alert, Identity, Outage, Person, Service, Ticket

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

STEPS = frozenset({"at_risk", "reassign", "response_breach", "resolution_breach"})
ESCALATOR = tickets.Actor(None, "sla")
#: alert levels: 0 = where it was first posted, 1 = + service manager, 2 = + koordinator layanan
TOP_LEVEL = 2


@dataclass(frozen=True)
class EscalationPolicy:
    rules: dict[int, frozenset[str]] = field(
        default_factory=lambda: {p: STEPS for p in (1, 2, 3, 4)}
    )
    repeat_minutes: tuple[int, ...] = (10, 20, 60, 120)
    escalate_after: tuple[int, ...] = (3, 3, 3, 3)
    timezone: str = "Asia/Jakarta"

    @classmethod
    def from_settings(cls, settings: Settings) -> EscalationPolicy:
        unknown = {s for steps in settings.sla_escalation_rules.values() for s in steps} - STEPS
        if unknown:
            raise ValueError(
                f"SLA_ESCALATION_RULES: unknown steps {sorted(unknown)}; known: {sorted(STEPS)}"
            )
        return cls(
            rules={int(p): frozenset(steps) for p, steps in settings.sla_escalation_rules.items()},
            repeat_minutes=tuple(settings.alert_repeat_minutes),
            escalate_after=tuple(settings.alert_escalate_after),
            timezone=settings.timezone,
        )

    def allows(self, priority: int, step: str) -> bool:
        return step in self.rules.get(priority, frozenset())

    def _per_priority(self, values: tuple[int, ...], priority: int) -> int:
        return values[min(max(priority, 1), len(values)) - 1]

    def repeat_every(self, priority: int) -> timedelta:
        return timedelta(minutes=max(self._per_priority(self.repeat_minutes, priority), 1))

    def level_after(self, priority: int, repeats: int) -> int:
        return min(TOP_LEVEL, repeats // max(self._per_priority(self.escalate_after, priority), 1))


_Row = TypeVar("_Row")


def _claim(session: Session, stmt: SelectOfScalar[_Row]) -> list[_Row]:
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.exec(stmt))


# --- people to tell ---------------------------------------------------------------------


def people_with_role(session: Session, role: str) -> list[Person]:
    """Roles are a JSON list: the text match narrows it down on both backends."""
    rows = session.exec(
        select(Person).where(sa.cast(col(Person.roles), sa.String).like(f'%"{role}"%'))
    )
    return [p for p in rows if role in (p.roles or [])]


def chats_of(session: Session, people: list[Person]) -> list[tuple[str, str]]:
    ids = [p.id for p in people if p.id is not None]
    if not ids:
        return []
    rows = session.exec(
        select(Identity).where(col(Identity.person_id).in_(ids)).order_by(col(Identity.id))
    )
    return [(i.channel, i.external_id) for i in rows]


class Lookups:
    """Who and where, asked once per tick batch: many tickets of one service share them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._memo: dict[tuple[str, str | None], list[tuple[str, str]]] = {}

    def _get(
        self, key: tuple[str, str | None], make: Callable[[], list[tuple[str, str]]]
    ) -> list[tuple[str, str]]:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def operator_groups(self, service_id: str | None) -> list[tuple[str, str]]:
        return self._get(
            ("groups", service_id),
            lambda: [
                (c.channel, c.target) for c in alerts.operator_channels(self.session, service_id)
            ],
        )

    def service_manager(self, service_id: str | None) -> list[tuple[str, str]]:
        def make() -> list[tuple[str, str]]:
            service = self.session.get(Service, service_id) if service_id else None
            manager = (
                self.session.get(Person, service.service_manager_id)
                if service and service.service_manager_id
                else None
            )
            return chats_of(self.session, [manager] if manager else [])

        return self._get(("manager", service_id), make)

    def role(self, role: str) -> list[tuple[str, str]]:
        return self._get(
            ("role", role), lambda: chats_of(self.session, people_with_role(self.session, role))
        )

    def person(self, person: Person) -> list[tuple[str, str]]:
        return self._get(("person", str(person.id)), lambda: chats_of(self.session, [person]))


def destinations(
    session: Session, alert: Alert, level: int, lookups: Lookups | None = None
) -> list[tuple[str, str]]:
    """Where an alert goes at a level, first posts first, without duplicates."""
    look = lookups or Lookups(session)
    if alert.kind == "sla.resolution_breach":
        found = look.role(Role.KOORDINATOR_LAYANAN)
    else:
        found = look.operator_groups(alert.service_id)
        if alert.kind == "sla.response_breach":
            found = found + look.service_manager(alert.service_id)
    if level >= 1:
        found = found + look.service_manager(alert.service_id)
    if level >= 2:
        found = found + look.role(Role.KOORDINATOR_LAYANAN)
    return list(dict.fromkeys(found))


# --- the SLA scan -----------------------------------------------------------------------


def sla_tick(
    engine: Engine, now: datetime, policy: EscalationPolicy | None = None, *, batch: int = 500
) -> Counter[str]:
    """Take every escalation step that came due by `now`; returns what was done."""
    policy = policy or EscalationPolicy()
    done: Counter[str] = Counter()
    while True:
        with session_scope(engine) as s:
            stmt = (
                select(Ticket)
                .where(col(Ticket.sla_next_at) <= now)
                .order_by(col(Ticket.sla_next_at), col(Ticket.id))
                .limit(batch)
            )
            rows = _claim(s, stmt)
            look = Lookups(s)
            for ticket in rows:
                escalate(s, ticket, now, policy, done, look)
        done["tickets"] += len(rows)
        if len(rows) < batch:
            return done


def escalate(
    session: Session,
    ticket: Ticket,
    now: datetime,
    policy: EscalationPolicy,
    done: Counter[str],
    look: Lookups | None = None,
) -> None:
    look = look or Lookups(session)
    for bit, at in sla.pending_events(ticket):
        if at > now:
            break
        ticket.sla_notified = (ticket.sla_notified or 0) | bit
        if bit == sla.RESPONSE_RISK:
            _response_risk(session, ticket, at, now, policy, done, look)
        elif bit == sla.RESOLUTION_RISK:
            _resolution_risk(session, ticket, at, now, policy, done, look)
        elif bit == sla.RESPONSE_BREACH and policy.allows(ticket.priority, "response_breach"):
            _breach(session, ticket, "sla.response_breach", at, now, done, look)
        elif bit == sla.RESOLUTION_BREACH and policy.allows(ticket.priority, "resolution_breach"):
            _breach(session, ticket, "sla.resolution_breach", at, now, done, look)
    ticket.sla_next_at = sla.next_event_at(ticket)
    if ticket.sla_next_at is not None and ticket.sla_next_at <= now:
        ticket.sla_next_at = None  # cannot happen; never let one row hold the scan in a loop
    session.add(ticket)


def _reassign(session: Session, ticket: Ticket, now: datetime, done: Counter[str]) -> None:
    """Functional escalation: the next technical manager with the skill (not the silent one)."""
    exclude = {ticket.assignee_id} if ticket.assignee_id else None
    person = tickets.pick_assignee(session, ticket, exclude=exclude)
    if person is not None and person.id != ticket.assignee_id:
        tickets.assign(session, ticket, person, ESCALATOR, now=now)
        done["reassigned"] += 1


def _response_risk(
    session: Session,
    ticket: Ticket,
    at: datetime,
    now: datetime,
    policy: EscalationPolicy,
    done: Counter[str],
    look: Lookups,
) -> None:
    if policy.allows(ticket.priority, "reassign"):
        _reassign(session, ticket, now, done)
    if policy.allows(ticket.priority, "at_risk"):
        _tell_assignee(
            session, ticket, "response_risk", ticket.response_due_at, at, now, policy, done, look
        )


def _resolution_risk(
    session: Session,
    ticket: Ticket,
    at: datetime,
    now: datetime,
    policy: EscalationPolicy,
    done: Counter[str],
    look: Lookups,
) -> None:
    if ticket.assignee_id is None and policy.allows(ticket.priority, "reassign"):
        _reassign(session, ticket, now, done)
    if policy.allows(ticket.priority, "at_risk"):
        _tell_assignee(
            session,
            ticket,
            "resolution_risk",
            ticket.resolution_due_at,
            at,
            now,
            policy,
            done,
            look,
        )


def _tell_assignee(
    session: Session,
    ticket: Ticket,
    event: str,
    due: datetime | None,
    at: datetime,
    now: datetime,
    policy: EscalationPolicy,
    done: Counter[str],
    look: Lookups,
) -> None:
    person = session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
    if person is None:
        log.warning("ticket %s is at risk and has nobody to tell", ticket.number)
        return
    lang = person.lang or "id"
    text = t(
        f"sla.notice.{event}",
        lang,
        number=ticket.number,
        priority=ticket.priority,
        title=notices.short_title(ticket.title),
        due=fmt_dt(due, lang, policy.timezone),
    )
    choices = [{"label": t("button.take", lang), "action": f"t:take:{ticket.number}"}]
    if ticket.acknowledged_at is None:
        choices.insert(0, {"label": t("button.ack", lang), "action": f"t:ack:{ticket.number}"})
    for channel, target in look.person(person):
        if notices.enqueue(
            session,
            channel=channel,
            target=target,
            kind=f"sla.{event}",
            payload={"text": text, "choices": choices, "ticket": ticket.number},
            dedupe_key=f"sla:{ticket.id}:{event}:{at.timestamp():.0f}:{person.id}:{channel}:{target}",
            now=now,
        ):
            done[f"notice.{event}"] += 1


def _breach(
    session: Session,
    ticket: Ticket,
    kind: str,
    at: datetime,
    now: datetime,
    done: Counter[str],
    look: Lookups,
) -> None:
    alert = alerts.raise_alert(
        session,
        key=f"sla:{ticket.id}:{kind}:{at.timestamp():.0f}",
        kind=kind,
        ticket=ticket,
        priority=ticket.priority,
        now=now,
        post_to_operators=False,
    )
    if alert is None:
        return
    rendered = alerts.render(session, alert)
    for channel, target in destinations(session, alert, 0, look):
        alerts.post(session, alert, channel, target, now=now, rendered=rendered)
    done[kind] += 1


# --- repeats of unacknowledged alerts ---------------------------------------------------


def alert_tick(
    engine: Engine, now: datetime, policy: EscalationPolicy | None = None, *, batch: int = 200
) -> Counter[str]:
    """Start the repeat clock of new alerts; post again (and one level up) the ones due."""
    policy = policy or EscalationPolicy()
    done: Counter[str] = Counter()
    fresh = select(Alert).where(
        col(Alert.acknowledged_at).is_(None), col(Alert.next_repeat_at).is_(None)
    )
    while True:
        with session_scope(engine) as s:
            rows = _claim(s, fresh.order_by(col(Alert.id)).limit(batch))
            for alert in rows:
                if not _settled(s, alert, now):
                    alert.next_repeat_at = alert.created_at + policy.repeat_every(alert.priority)
                s.add(alert)
        if len(rows) < batch:
            break
    while True:
        with session_scope(engine) as s:
            due = (
                select(Alert)
                .where(col(Alert.acknowledged_at).is_(None), col(Alert.next_repeat_at) <= now)
                .order_by(col(Alert.next_repeat_at), col(Alert.id))
                .limit(batch)
            )
            rows = _claim(s, due)
            look = Lookups(s)
            for alert in rows:
                if _settled(s, alert, now):
                    done["settled"] += 1
                else:
                    repeat(s, alert, now, policy, done, look)
                s.add(alert)
        if len(rows) < batch:
            return done


def repeat(
    session: Session,
    alert: Alert,
    now: datetime,
    policy: EscalationPolicy,
    done: Counter[str],
    look: Lookups | None = None,
) -> None:
    alert.repeats += 1
    level = policy.level_after(alert.priority, alert.repeats)
    if level > alert.level:
        done["escalated"] += 1
    alert.level = max(alert.level, level)
    rendered = alerts.render(session, alert)
    for channel, target in destinations(session, alert, alert.level, look):
        alerts.post(session, alert, channel, target, now=now, rendered=rendered)
    alert.next_repeat_at = now + policy.repeat_every(alert.priority)
    done["repeated"] += 1


#: repeat time of an alert that must never repeat again but was never acknowledged
#: (so reports still list it as such): a service that came back needs nobody paged.
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


def _settled(session: Session, alert: Alert, now: datetime) -> bool:
    """A ticket alert whose ticket was answered (or is no longer open) needs nobody any more,
    even when it was resolved without anyone pressing Akui; neither does a "service down"
    alert once the service is back (its incident stays open for the root cause)."""
    if alert.kind == "service.down":
        outage = session.exec(select(Outage).where(Outage.alert_id == alert.id)).first()
        if outage is not None and outage.ended_at is not None:
            alert.next_repeat_at = NEVER
            return True
    ticket = session.get(Ticket, alert.ticket_id) if alert.ticket_id else None
    if ticket is None:
        return False
    answered = alert.kind in alerts.TICKET_ACK_KINDS and ticket.acknowledged_at is not None
    if not answered and ticket.state in OPEN_STATES:
        return False
    alert.acknowledged_at = ticket.acknowledged_at if answered and ticket.acknowledged_at else now
    alert.next_repeat_at = None
    return True
