"""A "service down" alert repeats while the service is down and stops once it is back,
even though its incident stays open for the root cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.core import alerts, escalation, tickets
from bot.core.escalation import EscalationPolicy
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Alert, Notice, Outage, Ticket

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
POLICY = EscalationPolicy(repeat_minutes=(10, 10, 10, 10), escalate_after=(5, 5, 5, 5))


def reposts(helpdesk: Helpdesk) -> int:
    with Session(helpdesk.engine) as s:
        return sum(
            1
            for n in s.exec(select(Notice).where(Notice.kind == "alert.post"))
            if n.payload.get("seq")
        )


def test_repeats_stop_when_the_service_is_back(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        alerts.register_operator_channel(s, "telegram", "-100555", None)
        ticket = tickets.open_ticket(
            s,
            type_="gangguan",
            title="VPN tidak tersedia",
            service_id="vpn",
            impact=2,
            urgency=1,
            alert=False,
            now=T0,
        )
        alert = alerts.raise_alert(
            s, key="outage:1", kind="service.down", ticket=ticket, priority=2, now=T0
        )
        assert alert is not None
        outage = Outage(service_id="vpn", started_at=T0, ticket_id=ticket.id, alert_id=alert.id)
        s.add(outage)
    escalation.alert_tick(helpdesk.engine, T0 + timedelta(minutes=1), POLICY)
    escalation.alert_tick(helpdesk.engine, T0 + timedelta(minutes=10), POLICY)
    assert reposts(helpdesk) == 1  # still down: posted again
    with session_scope(helpdesk.engine) as s:
        row = s.exec(select(Outage)).one()
        row.ended_at = T0 + timedelta(minutes=15)
        s.add(row)
    for minutes in (20, 30, 60):
        escalation.alert_tick(helpdesk.engine, T0 + timedelta(minutes=minutes), POLICY)
    assert reposts(helpdesk) == 1  # back up: nobody paged again
    with Session(helpdesk.engine) as s:
        alert = s.exec(select(Alert)).one()
        assert alert.acknowledged_at is None  # never acknowledged: reports still say so
        t = s.get(Ticket, ticket.id)
        assert t is not None and t.state in tickets.OPEN_STATES
