"""Incidents users reported about a service: what is known of a service that monitoring
does not watch (or that monitoring sees up while users cannot work).

An incident (gangguan) ticket with a service counts, unless monitoring opened it for
an outage: that outage is already shown as the service being down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core.ticket_states import DIBATALKAN, GANGGUAN, OPEN_STATES
from storage.models import Outage, Ticket


@dataclass
class Reported:
    """The user-reported incidents of one service: their numbers and the first report."""

    service_id: str
    numbers: list[str] = field(default_factory=list)
    since: datetime | None = None

    @property
    def count(self) -> int:
        return len(self.numbers)


def reported_incidents(
    session: Session,
    *,
    service_ids: list[str] | None = None,
    open_only: bool = False,
    during: tuple[datetime, datetime] | None = None,
) -> dict[str, Reported]:
    """Per service, the incidents users reported, oldest first: the open ones, or those
    that were open at some time in `during` = [start, stop) (reported before its end,
    not resolved before its start; a cancelled report was no disruption)."""
    from_monitoring = select(Outage.ticket_id).where(col(Outage.ticket_id).is_not(None))
    stmt = select(Ticket).where(
        Ticket.type == GANGGUAN,
        col(Ticket.service_id).is_not(None),
        col(Ticket.id).not_in(from_monitoring),
    )
    if open_only:
        stmt = stmt.where(col(Ticket.state).in_(OPEN_STATES))
    if during is not None:
        start, stop = during
        stmt = stmt.where(
            col(Ticket.created_at) < stop,
            Ticket.state != DIBATALKAN,
            sa.or_(col(Ticket.resolved_at).is_(None), col(Ticket.resolved_at) > start),
        )
    if service_ids is not None:
        stmt = stmt.where(col(Ticket.service_id).in_(service_ids))
    out: dict[str, Reported] = {}
    for ticket in session.exec(stmt.order_by(col(Ticket.created_at), col(Ticket.id))):
        sid = ticket.service_id or ""
        item = out.setdefault(sid, Reported(sid))
        item.numbers.append(ticket.number)
        if item.since is None:
            item.since = ticket.created_at
    return out
