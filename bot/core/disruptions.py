"""Incidents users reported about a service: what is known of a service that monitoring
does not watch (or that monitoring sees up while users cannot work).

An incident (gangguan) ticket with a service counts, unless monitoring opened it for
an outage: that outage is already shown as the service being down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from bot.core.ticket_states import GANGGUAN, OPEN_STATES
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
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> dict[str, Reported]:
    """Per service, the incidents users reported (open ones only, or those reported in
    [created_from, created_before)), oldest first."""
    from_monitoring = select(Outage.ticket_id).where(col(Outage.ticket_id).is_not(None))
    stmt = select(Ticket).where(
        Ticket.type == GANGGUAN,
        col(Ticket.service_id).is_not(None),
        col(Ticket.id).not_in(from_monitoring),
    )
    if open_only:
        stmt = stmt.where(col(Ticket.state).in_(OPEN_STATES))
    if created_from is not None:
        stmt = stmt.where(col(Ticket.created_at) >= created_from)
    if created_before is not None:
        stmt = stmt.where(col(Ticket.created_at) < created_before)
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
