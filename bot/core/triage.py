"""Triage of reports whose priority nobody can vouch for.

An anonymous web visitor can claim any impact and urgency; taken at their word, every
such report would page every operator group and escalate. So a P1/P2 made on a channel
anyone can use without an account (the channels whose spec says `anonymous`; the registry
names them, runtime.build hands them to the conversation engine, which passes them to
`usecases.open_report`) by a reporter who is not linked to a known person opens at `tickets.TRIAGE_PRIORITY`, flagged with the
priority it asked for (`Ticket.triage_priority`), and pages nobody. An operator sees the
flag in the queue and confirms that priority or sets another; only then does a P1/P2
raise its alert, through the same `alerts.raise_ticket_alert` that a verified report
raises when it is opened, so there is one paging path.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Final

from sqlmodel import Session, col, select

from bot.core import alerts, people, tickets
from bot.core.errors import InvalidTransition, NotAllowed
from bot.core.roles import is_operator
from bot.core.ticket_states import OPEN_STATES
from bot.core.tickets import Actor
from storage.models import Person, Ticket, utcnow

#: impact × urgency that an operator's chosen priority stands for (the matrix's first).
_LEVELS: Final = {1: (1, 1), 2: (1, 2), 3: (1, 3), 4: (2, 3)}


def needed(
    reporter: Person | None, channel: str | None, anonymous_channels: Collection[str]
) -> bool:
    """Whether a report's priority waits for an operator: it was made on a channel whose
    users can be anyone (`anonymous_channels`) by somebody not linked to a known person."""
    return channel in anonymous_channels and not people.is_linked(reporter)


def confirm(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    priority: int | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """An operator settles a ticket held for triage: the priority the reporter asked for
    (`None`) or another one (1–4). Recorded as a "triage" event; returns the priority."""
    if not is_operator(actor.person):
        raise NotAllowed("auth.operator_only")
    asked = ticket.triage_priority
    if asked is None:
        raise InvalidTransition("triage.not_pending", number=ticket.number)
    if ticket.state not in OPEN_STATES:
        raise InvalidTransition("ticket.not_open", number=ticket.number, state=ticket.state)
    chosen = asked if priority is None else priority
    if chosen not in _LEVELS:
        raise InvalidTransition("triage.bad_priority")
    now = now or utcnow()
    impact, urgency = (ticket.impact, ticket.urgency) if chosen == asked else _LEVELS[chosen]
    ticket.triage_priority = None
    tickets.set_impact_urgency(session, ticket, actor, impact, urgency, now=now)
    tickets.record(session, ticket, actor, "triage", old=f"P{asked}", new=f"P{chosen}", now=now)
    alerts.raise_ticket_alert(session, ticket, now=now)
    return chosen


def waiting(session: Session, limit: int = 30) -> list[Ticket]:
    """Open tickets held for triage, oldest first."""
    return list(
        session.exec(
            select(Ticket)
            .where(col(Ticket.triage_priority).is_not(None))
            .where(col(Ticket.state).in_(OPEN_STATES))
            .order_by(col(Ticket.created_at))
            .limit(limit)
        )
    )
