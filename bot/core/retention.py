"""What the product forgets, and when: rows that only serve the plumbing grow with every
visitor and every update, so a daily job prunes them. Ticket history (tickets, their
events, alerts, outages, availability figures) is evidence and is never touched here.

- conversations nobody has spoken in for `conversation_days`, whatever their state:
  a flow left half-way that long is abandoned, the next message starts afresh (the
  chat's language, kept on the conversation, falls back to the person's or Indonesian);
- platform dedupe keys (InboundEvent: Telegram update ids, Slack event ids) older than
  `inbound_event_days`, well past any redelivery by the platform;
- notices of pull channels (web chat, console) still pending after `pull_notice_days`:
  nobody polls for them (a web session that never came back). They are marked failed
  with a reason rather than deleted, so that what was never shown stays visible for a
  while like any failed notice, and then goes with them;
- sent and failed notices older than `notice_days`;
- abuse-limit counters (RateCounter) whose window ended more than a day ago (no limit
  looks back further than an hour);
- web chat sessions that ended or expired more than `conversation_days` ago, and the
  web chat page's lines (bot.core.web_history) older than that.

A day count of 0 keeps that kind for ever. Deletes go in batches, each in its own
transaction when given an engine, so that a first run on a large database holds no
long lock. Replicas run the job at the same time: each batch takes its rows in id
order, so a second replica waits for the first one's batch and then finds it done.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult, Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from storage.db import session_scope
from storage.models import (
    Conversation,
    InboundEvent,
    InboxEvent,
    Notice,
    RateCounter,
    WebChatLine,
    WebSession,
)

EXPIRED = "expired: never collected (the chat did not poll for it)"


@dataclass(frozen=True)
class Policy:
    conversation_days: int = 90
    inbound_event_days: int = 7
    #: processed inbox events; dead ones wait for an admin and are never pruned here
    inbox_days: int = 7
    pull_notice_days: int = 14
    notice_days: int = 90
    #: channels that collect their notices themselves (the registry's pull channels):
    #: the deliverer never sends these, so a pending one waits until its chat polls.
    pull_channels: frozenset[str] = frozenset()
    batch: int = 1000

    @classmethod
    def from_settings(
        cls, settings: Settings, pull_channels: frozenset[str] = frozenset()
    ) -> Policy:
        return cls(
            pull_channels=pull_channels,
            conversation_days=settings.retention_conversation_days,
            inbound_event_days=settings.retention_inbound_event_days,
            inbox_days=settings.retention_inbox_days,
            pull_notice_days=settings.retention_pull_notice_days,
            notice_days=settings.retention_notice_days,
        )


#: one batch of one kind: (limit) → the statement that prunes at most that many rows.
Step = Callable[[int], Any]


def prune(target: Session | Engine, now: datetime, policy: Policy) -> Counter[str]:
    """Prune every kind the policy keeps for a limited time; how many rows of each.

    Given a session, everything runs in its transaction (the caller commits); given an
    engine, each batch commits on its own."""
    now = now.astimezone(UTC)  # stored times are UTC; SQLite compares them as text
    counts: Counter[str] = Counter()
    for kind, step in _steps(now, policy):
        while True:
            done = _run(target, step(policy.batch))
            counts[kind] += done
            if done < policy.batch:
                break
    return +counts  # kinds with nothing pruned are left out


def _run(target: Session | Engine, statement: Any) -> int:
    if isinstance(target, Session):
        return _rowcount(target, statement)
    with session_scope(target) as session:
        return _rowcount(session, statement)


def _rowcount(session: Session, statement: Any) -> int:
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(cast(CursorResult[Any], result).rowcount)


def _steps(now: datetime, policy: Policy) -> list[tuple[str, Step]]:
    """In this order: expired pull notices are failed notices, deleted with the rest once
    they are old enough."""
    steps: list[tuple[str, Step]] = []

    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    if policy.conversation_days:
        quiet = col(Conversation.updated_at) < before(policy.conversation_days)
        steps.append(("conversations", partial(_delete, Conversation, quiet)))
    if policy.inbound_event_days:
        old = col(InboundEvent.received_at) < before(policy.inbound_event_days)
        steps.append(("inbound_events", partial(_delete, InboundEvent, old)))
    if policy.inbox_days:
        processed = sa.and_(
            col(InboxEvent.state) == "done",
            col(InboxEvent.received_at) < before(policy.inbox_days),
        )
        steps.append(("inbox_events", partial(_delete, InboxEvent, processed)))
    if policy.pull_notice_days and policy.pull_channels:
        unread = sa.and_(
            col(Notice.status) == "pending",
            col(Notice.channel).in_(sorted(policy.pull_channels)),
            col(Notice.created_at) < before(policy.pull_notice_days),
        )
        steps.append(("notices_expired", partial(_expire, unread)))
    if policy.notice_days:
        done = sa.and_(
            col(Notice.status).in_(["sent", "failed"]),
            col(Notice.created_at) < before(policy.notice_days),
        )
        steps.append(("notices_deleted", partial(_delete, Notice, done)))
    stale = col(RateCounter.window_start) < before(1)
    steps.append(("rate_counters", lambda _limit: sa.delete(RateCounter).where(stale)))
    if policy.conversation_days:
        cutoff = before(policy.conversation_days)
        over = sa.or_(col(WebSession.ended_at) < cutoff, col(WebSession.expires_at) < cutoff)
        steps.append(("web_sessions", partial(_delete_sessions, over)))
        shown = col(WebChatLine.at) < cutoff
        steps.append(("webchat_lines", partial(_delete, WebChatLine, shown)))
    return steps


def _delete_sessions(condition: Any, limit: int) -> Any:
    keys = select(WebSession.id_hash).where(condition).order_by(col(WebSession.id_hash))
    return sa.delete(WebSession).where(
        col(WebSession.id_hash).in_(keys.limit(limit).scalar_subquery()), condition
    )


def _delete(model: Any, condition: Any, limit: int) -> Any:
    """The condition is checked again on the rows themselves: on PostgreSQL a row another
    transaction changed while we waited for its lock is re-read, so a conversation its
    user just came back to, or a notice a poll just took, is not pruned."""
    ids = select(model.id).where(condition).order_by(model.id).limit(limit)
    return sa.delete(model).where(col(model.id).in_(ids.scalar_subquery()), condition)


def _expire(condition: Any, limit: int) -> Any:
    ids = select(Notice.id).where(condition).order_by(col(Notice.id)).limit(limit)
    return (
        sa.update(Notice)
        .where(col(Notice.id).in_(ids.scalar_subquery()), condition)
        .values(status="failed", last_error=EXPIRED, locked_until=None)
    )
