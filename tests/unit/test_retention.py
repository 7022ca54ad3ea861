"""Retention on both backends, at chosen times: old plumbing rows go, recent ones stay,
ticket history is never touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.channels import registry
from bot.core import retention, tickets
from bot.core.retention import EXPIRED, Policy
from bot.delivery import Deliverer
from bot.jobs import Jobs
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import (
    Alert,
    Conversation,
    InboundEvent,
    Notice,
    Outage,
    Person,
    Ticket,
    TicketEvent,
    utcnow,
)

PULL = registry.pull_channels()
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
HISTORY = (Ticket, TicketEvent, Alert, Outage, Person)


def days_ago(n: float, now: datetime = NOW) -> datetime:
    return now - timedelta(days=n)


def notice(key: str, channel: str, status: str, age: float, now: datetime = NOW) -> Notice:
    at = days_ago(age, now)
    return Notice(
        dedupe_key=f"test:{key}",
        channel=channel,
        target="t-1",
        kind="ticket.state",
        payload={"text": key},
        status=status,
        created_at=at,
        next_attempt_at=at,
    )


def seed(helpdesk: Helpdesk, now: datetime = NOW) -> None:
    """Two of each kind past its default limit, one within it; and old ticket history."""
    with session_scope(helpdesk.engine) as s:
        user = next(p for p in s.exec(select(Person)) if "pengguna" in p.roles)
        for n, title in enumerate(["VPN putus total", "Surel tidak terkirim"]):
            ticket = tickets.open_ticket(
                s,
                type_="gangguan",
                title=title,
                service_id="vpn",
                impact=1,
                urgency=1,
                reporter=user,
                now=days_ago(400 + n, now),
            )
            s.add(Outage(service_id="vpn", started_at=ticket.created_at, ticket_id=ticket.id))
        s.add_all(
            [
                Conversation(channel="web", chat_id="old-idle", updated_at=days_ago(91, now)),
                Conversation(
                    channel="telegram",
                    chat_id="old-half-way",
                    state="report.describe",
                    data={"service": "vpn"},
                    updated_at=days_ago(200, now),
                ),
                Conversation(channel="web", chat_id="recent", updated_at=days_ago(89, now)),
                InboundEvent(channel="telegram", key="bot:1", received_at=days_ago(8, now)),
                InboundEvent(channel="slack", key="Ev01", received_at=days_ago(30, now)),
                InboundEvent(channel="slack", key="Ev02", received_at=days_ago(6, now)),
                notice("web-unread", "web", "pending", 15, now),
                notice("console-unread", "console", "pending", 60, now),
                notice("web-waiting", "web", "pending", 13, now),
                notice("telegram-waiting", "telegram", "pending", 100, now),
                notice("sent-old", "telegram", "sent", 91, now),
                notice("failed-old", "slack", "failed", 300, now),
                notice("sent-recent", "web", "sent", 89, now),
                notice("sending-old", "telegram", "sending", 100, now),
            ]
        )


def history(helpdesk: Helpdesk) -> dict[str, list[Any]]:
    with Session(helpdesk.engine) as s:
        return {m.__name__: [r.model_dump() for r in s.exec(select(m))] for m in HISTORY}


def test_old_rows_go_recent_stay_history_untouched(helpdesk: Helpdesk) -> None:
    seed(helpdesk)
    before = history(helpdesk)
    assert len(before["Alert"]) == 2 and len(before["TicketEvent"]) >= 2

    counts = retention.prune(helpdesk.engine, NOW, Policy(batch=1, pull_channels=PULL))

    assert counts == {
        "conversations": 2,
        "inbound_events": 2,
        "notices_expired": 2,
        "notices_deleted": 2,
    }
    assert history(helpdesk) == before
    with Session(helpdesk.engine) as s:
        assert [c.chat_id for c in s.exec(select(Conversation))] == ["recent"]
        assert [e.key for e in s.exec(select(InboundEvent))] == ["Ev02"]
        left = {
            n.dedupe_key[5:]: (n.status, n.last_error)
            for n in s.exec(select(Notice))
            if n.dedupe_key.startswith("test:")
        }
    assert left == {
        "web-unread": ("failed", EXPIRED),
        "console-unread": ("failed", EXPIRED),
        "web-waiting": ("pending", None),
        # a push channel's notice is the deliverer's to settle, whatever its age
        "telegram-waiting": ("pending", None),
        "sent-recent": ("sent", None),
        "sending-old": ("sending", None),
    }
    assert (
        retention.prune(helpdesk.engine, NOW, Policy(pull_channels=PULL)) == {}
    )  # nothing left to do


def test_expired_notices_go_with_the_other_failed_ones(helpdesk: Helpdesk) -> None:
    seed(helpdesk)
    retention.prune(helpdesk.engine, NOW, Policy(pull_channels=PULL))
    later = NOW + timedelta(days=80)
    counts = retention.prune(helpdesk.engine, later, Policy(pull_channels=PULL))
    assert counts["notices_deleted"] == 4  # web-unread, console-unread, sent-recent, web-waiting
    with Session(helpdesk.engine) as s:
        keys = {n.dedupe_key for n in s.exec(select(Notice))}
    assert "test:console-unread" not in keys and "test:telegram-waiting" in keys


def test_zero_days_keeps_a_kind_and_a_session_holds_the_work(helpdesk: Helpdesk) -> None:
    seed(helpdesk)
    keep = Policy(
        conversation_days=0,
        inbound_event_days=0,
        pull_notice_days=0,
        notice_days=0,
        pull_channels=PULL,
    )
    with Session(helpdesk.engine) as s:
        assert retention.prune(s, NOW, keep) == {}
        assert (
            retention.prune(s, NOW, Policy(notice_days=0, pull_channels=PULL))["conversations"] == 2
        )
        s.rollback()  # the caller's transaction: nothing happened
    with Session(helpdesk.engine) as s:
        assert len(s.exec(select(Conversation)).all()) == 3


def test_policy_from_settings(helpdesk: Helpdesk) -> None:
    settings = helpdesk.settings.model_copy(
        update={"retention_conversation_days": 30, "retention_notice_days": 0}
    )
    policy = Policy.from_settings(settings)
    assert (policy.conversation_days, policy.inbound_event_days) == (30, 7)
    assert (policy.pull_notice_days, policy.notice_days) == (14, 0)
    with pytest.raises(ValueError, match="retention_inbound_event_days"):
        type(settings)(_env_file=None, retention_inbound_event_days=1)


async def test_the_daily_job_prunes(helpdesk: Helpdesk) -> None:
    now = utcnow()
    seed(helpdesk, now)
    jobs = Jobs(helpdesk, Deliverer(helpdesk.engine))
    jobs.start()
    try:
        job = jobs.scheduler.get_job("retention")
        assert job is not None and str(job.trigger).startswith("cron[")
        assert "hour='2'" in str(job.trigger) and "minute='15'" in str(job.trigger)
        await job.func()
    finally:
        jobs.shutdown()
    with Session(helpdesk.engine) as s:
        assert [c.chat_id for c in s.exec(select(Conversation))] == ["recent"]


def test_counters_and_ended_web_sessions_go(helpdesk: Helpdesk) -> None:
    """Abuse counters a day past their window, web sessions long ended or expired."""
    from storage.models import RateCounter, WebSession

    with session_scope(helpdesk.engine) as s:
        s.add(RateCounter(key="turn:chat:web:old", window_start=NOW - timedelta(days=2), count=3))
        s.add(RateCounter(key="turn:chat:web:now", window_start=NOW - timedelta(minutes=1)))
        s.add(WebSession(id_hash="a" * 64, expires_at=NOW - timedelta(days=200)))
        s.add(
            WebSession(
                id_hash="b" * 64,
                expires_at=NOW + timedelta(days=1),
                ended_at=NOW - timedelta(days=100),
            )
        )
        s.add(WebSession(id_hash="c" * 64, expires_at=NOW + timedelta(days=30)))
        s.add(WebSession(id_hash="d" * 64, expires_at=NOW - timedelta(days=1)))
    counts = retention.prune(helpdesk.engine, NOW, Policy(pull_channels=PULL))
    assert counts["rate_counters"] == 1 and counts["web_sessions"] == 2
    with Session(helpdesk.engine) as s:
        assert [r.key for r in s.exec(select(RateCounter))] == ["turn:chat:web:now"]
        assert sorted(w.id_hash[0] for w in s.exec(select(WebSession))) == ["c", "d"]
