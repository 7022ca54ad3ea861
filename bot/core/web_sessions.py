"""Web chat sessions: issued by the server, checked on every request, ended on demand.

The browser holds a random token (the cookie); the database holds only its SHA-256, and
that hash is the chat's id everywhere else (conversation, identity, notices), so neither
a copy of the database nor a log line gives anybody a usable cookie. A token the server
did not issue, or one that expired or was ended, is never adopted: the page gets a new
one. Sessions linked to an operator expire after a shorter idle time, since they can
act on every ticket of their services.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core.roles import is_operator
from storage.models import Identity, Person, WebSession

#: the channel name web sessions speak as (identities, conversations, notices)
CHANNEL = "web"


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(days=30)
    operator_idle: timedelta = timedelta(hours=2)


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


def touch(session: Session, token: str, policy: SessionPolicy, now: datetime) -> str | None:
    """The chat id of a live session, its idle clock restarted; None if the server never
    issued `token`, or it expired or was ended."""
    if not token or len(token) > 128:
        return None
    row = session.get(WebSession, chat_key(token))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    person = session.exec(
        select(Person)
        .join(Identity, col(Identity.person_id) == col(Person.id))
        .where(Identity.channel == CHANNEL, Identity.external_id == row.id_hash)
    ).first()
    idle = policy.operator_idle if is_operator(person) else policy.idle
    if is_operator(person) and row.last_seen_at + idle <= now:
        end(session, row.id_hash, now)  # linked since the last request: the shorter clock
        return None
    row.person_id = person.id if person else None
    row.last_seen_at = now
    row.expires_at = now + idle
    session.add(row)
    return row.id_hash


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
    return int(getattr(ended, "rowcount", 0) or 0)
