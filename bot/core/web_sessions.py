"""Web chat sessions: issued by the server, checked on every request, ended on demand.

The browser holds a random token (the cookie); the database holds only its SHA-256, and
that hash is the chat's id everywhere else (conversation, identity, notices), so neither
a copy of the database nor a log line gives anybody a usable cookie. A token the server
did not issue, or one that expired or was ended, is never adopted: the page gets a new
one. Sessions linked to an operator expire after a shorter idle time, since they can
act on every ticket of their services.

A session whose link to a person changes (a successful `/tautkan`) gets a new token at
once (`rotate`): a token somebody planted in the browser before the link never speaks
for the person. Requests that only read (the notices poll, every few seconds) write the
idle clock at most once a minute (`touch`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import web_history
from bot.core.roles import is_operator
from storage.models import Conversation, Identity, Notice, Person, Ticket, WebSession

#: the channel name web sessions speak as (identities, conversations, notices)
CHANNEL = "web"


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(days=30)
    operator_idle: timedelta = timedelta(hours=2)

    def touch_interval(self, idle: timedelta) -> timedelta:
        """How stale the idle clock may get before a request writes it: a minute, or 1 % of
        the idle time when that is shorter."""
        return min(timedelta(minutes=1), idle / 100)


def chat_key(token: str) -> str:
    """The chat id of the session that `token` opens."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    session: Session, policy: SessionPolicy, now: datetime, address: str | None = None
) -> str:
    """A new session; returns the token for the cookie (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id_hash=chat_key(token),
            address=(address or None) and address[:64],
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.idle,
        )
    )
    session.flush()
    return token


def person_of(session: Session, key: str) -> Person | None:
    """The person the web chat `key` speaks for, or None."""
    return session.exec(
        select(Person)
        .join(Identity, col(Identity.person_id) == col(Person.id))
        .where(Identity.channel == CHANNEL, Identity.external_id == key)
    ).first()


def is_live(session: Session, key: str, now: datetime) -> bool:
    row = session.get(WebSession, key)
    return row is not None and row.ended_at is None and row.expires_at > now


def touch(session: Session, token: str, policy: SessionPolicy, now: datetime) -> str | None:
    """The chat id of a live session, its idle clock restarted; None if the server never
    issued `token`, or it expired or was ended. The clock is written only when it is
    older than `policy.touch_interval`: most polls only read."""
    if not token or len(token) > 128:
        return None
    row = session.get(WebSession, chat_key(token))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    person = person_of(session, row.id_hash)
    idle = policy.operator_idle if is_operator(person) else policy.idle
    if is_operator(person) and row.last_seen_at + idle <= now:
        end(session, row.id_hash, now)  # linked since the last request: the shorter clock
        return None
    person_id = person.id if person else None
    if now - row.last_seen_at <= policy.touch_interval(idle) and row.person_id == person_id:
        return row.id_hash
    row.person_id = person_id
    row.last_seen_at = now
    row.expires_at = now + idle
    session.add(row)
    return row.id_hash


def rotate(
    session: Session, key: str, policy: SessionPolicy, now: datetime, address: str | None = None
) -> str | None:
    """Replace the live session `key` by a new one and return its token: what belongs to
    the chat (its identity, conversation, pending notices, reported tickets and person)
    moves to the new chat id, and the old session ends. None when `key` is no live
    session. Run in one transaction, so the chat is never split between the two."""
    old = session.get(WebSession, key, with_for_update=True)
    if old is None or old.ended_at is not None or old.expires_at <= now:
        return None
    person = person_of(session, key)
    token = secrets.token_urlsafe(32)
    new = chat_key(token)
    where = address or old.address
    session.add(
        WebSession(
            id_hash=new,
            address=where[:64] if where else None,
            created_at=now,
            last_seen_at=now,
            expires_at=now + (policy.operator_idle if is_operator(person) else policy.idle),
            person_id=person.id if person else None,
        )
    )
    session.flush()
    moves = [
        sa.update(Identity)
        .where(col(Identity.channel) == CHANNEL, col(Identity.external_id) == key)
        .values(external_id=new),
        sa.update(Conversation)
        .where(col(Conversation.channel) == CHANNEL, col(Conversation.chat_id) == key)
        .values(chat_id=new),
        sa.update(Notice)
        .where(
            col(Notice.channel) == CHANNEL,
            col(Notice.target) == key,
            col(Notice.status) == "pending",
        )
        .values(target=new),
        sa.update(Ticket)
        .where(col(Ticket.reporter_channel) == CHANNEL, col(Ticket.reporter_chat_id) == key)
        .values(reporter_chat_id=new),
        sa.update(WebSession)
        .where(col(WebSession.id_hash) == key)
        .values(ended_at=now, person_id=None),
    ]
    for stmt in moves:
        session.execute(stmt, execution_options={"synchronize_session": False})
    web_history.move(session, key, new)
    return token


def end(session: Session, key: str, now: datetime) -> bool:
    """End the session with chat id `key` and drop its link to a person; False when `key`
    is no live web session (another channel's chat, or ended already)."""
    ended = session.execute(
        sa.update(WebSession)
        .where(col(WebSession.id_hash) == key, col(WebSession.ended_at).is_(None))
        .values(ended_at=now, person_id=None)
    )
    session.execute(
        sa.delete(Identity).where(
            col(Identity.channel) == CHANNEL, col(Identity.external_id) == key
        )
    )
    web_history.forget(session, [key])
    return bool(getattr(ended, "rowcount", 0))


def end_for_keys(session: Session, keys: list[str], now: datetime) -> int:
    """End the live sessions among these chat ids (an admin unlinked their person)."""
    if not keys:
        return 0
    ended = session.execute(
        sa.update(WebSession)
        .where(col(WebSession.id_hash).in_(keys), col(WebSession.ended_at).is_(None))
        .values(ended_at=now, person_id=None)
    )
    web_history.forget(session, keys)
    return int(getattr(ended, "rowcount", 0) or 0)
