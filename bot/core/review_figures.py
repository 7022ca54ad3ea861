"""The evaluation figures of one service over a period, as a review freezes them and as
the next period's evaluation report compares them: tickets received and resolved, SLA
compliance (response, resolution), availability without maintenance, mean times to
respond and to resolve.

They follow the rules of the evaluation report (bot.reports.tickets): a ticket counts in
the period it was created in; an outcome still open (not acknowledged, not yet due)
counts neither way; a cancelled ticket has no resolution outcome. Kept in the core
because the review (core) freezes them, and the core imports no report module.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.core import availability
from bot.core.sla import resolution_met, response_met
from storage.models import Service, Ticket

#: the measures in the order reports list them; each is an attribute of `Figures`
MEASURES = (
    "tickets",
    "resolved",
    "response_sla_pct",
    "resolution_sla_pct",
    "availability_pct",
    "mean_response_h",
    "mean_resolution_h",
)


@dataclass
class Figures:
    service_id: str
    tickets: int = 0
    resolved: int = 0
    response_sla_pct: float | None = None
    resolution_sla_pct: float | None = None
    availability_pct: float | None = None
    mean_response_h: float | None = None
    mean_resolution_h: float | None = None


def _pct(flags: list[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return 100.0 * sum(known) / len(known) if known else None


def _mean_hours(seconds: list[float]) -> float | None:
    return sum(seconds) / len(seconds) / 3600 if seconds else None


def of_tickets(service_id: str, items: list[Ticket], now: datetime) -> Figures:
    acks = [(t.acknowledged_at - t.created_at).total_seconds() for t in items if t.acknowledged_at]
    fixes = [(t.resolved_at - t.created_at).total_seconds() for t in items if t.resolved_at]
    return Figures(
        service_id,
        tickets=len(items),
        resolved=len(fixes),
        response_sla_pct=_pct([response_met(t, now) for t in items]),
        resolution_sla_pct=_pct([resolution_met(t, now) for t in items]),
        mean_response_h=_mean_hours(acks),
        mean_resolution_h=_mean_hours(fixes),
    )


def per_service(
    session: Session,
    start: datetime,
    end: datetime,
    now: datetime,
    tz: str,
    service_ids: list[str] | None = None,
) -> dict[str, Figures]:
    """Figures over [start, end) of every active service (or of `service_ids`), with
    or without tickets: a service nobody reported about has zero tickets, not no row."""
    services = select(Service.id).where(col(Service.active))
    if service_ids is not None:
        services = select(Service.id).where(col(Service.id).in_(service_ids))
    ids = list(session.exec(services))
    stmt = select(Ticket).where(
        col(Ticket.created_at) >= start,
        col(Ticket.created_at) < end,
        col(Ticket.service_id).in_(ids),
    )
    grouped: dict[str, list[Ticket]] = defaultdict(list)
    for ticket in session.exec(stmt):
        grouped[ticket.service_id or ""].append(ticket)
    uptime = availability.figures(session, start, end, now, tz, ids)
    out = {}
    for sid in ids:
        figures = of_tickets(sid, grouped.get(sid, []), now)
        if sid in uptime:
            figures.availability_pct = uptime[sid].without_maintenance
        out[sid] = figures
    return out
