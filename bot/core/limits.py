"""Limits on what one chat, one person or one client address may do per minute or hour.

Anonymous web visitors can invent sessions at will, so the limits that matter for them
are per client address; every chat is also limited by its own id. The counters live in
the database (`RateCounter`: one row per key and fixed window), because several replicas
serve the same visitors and a process-local counter would multiply the limit by their
number. A fixed window lets a burst of up to twice the limit straddle its edge; that is
the price of one row per key instead of one per hit, and still bounds abuse.

Ticket creation per person counts the person's tickets of the last hour instead (exact,
and rolled back with a ticket that fails); per address it needs a counter, since tickets
do not record addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col

from bot.core.errors import HelpdeskError
from storage.db import insert_for
from storage.models import RateCounter, Ticket

if TYPE_CHECKING:
    from bot.config import Settings

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class LimitExceeded(HelpdeskError):
    """A refusal the person can act on: the text says what was limited and when to retry."""


@dataclass(frozen=True)
class Limits:
    """0 turns a limit off. The defaults sit far above what a person typing does."""

    turns_per_minute_per_chat: int = 30
    turns_per_minute_per_address: int = 120
    tickets_per_hour_per_person: int = 10
    tickets_per_hour_per_address: int = 20
    link_attempts_per_hour: int = 5
    sessions_per_hour_per_address: int = 60

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            turns_per_minute_per_chat=settings.limit_turns_per_minute_chat,
            turns_per_minute_per_address=settings.limit_turns_per_minute_address,
            tickets_per_hour_per_person=settings.limit_tickets_per_hour_person,
            tickets_per_hour_per_address=settings.limit_tickets_per_hour_address,
            link_attempts_per_hour=settings.limit_link_attempts_per_hour,
            sessions_per_hour_per_address=settings.limit_web_sessions_per_hour_address,
        )


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window `now` falls in (a function of `now` alone)."""
    steps = (now - _EPOCH) // window
    return _EPOCH + steps * window


def hit(session: Session, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one hit on `key`; False when it is over `limit` in this window. The row's
    update lock makes concurrent hits on one key count one after another."""
    if limit <= 0:
        return True
    start = window_start(now, window)
    insert = insert_for(session)
    session.execute(
        insert(RateCounter)
        .values(key=key[:240], window_start=start, count=0)
        .on_conflict_do_nothing()
    )
    count = session.execute(
        sa.update(RateCounter)
        .where(col(RateCounter.key) == key[:240], col(RateCounter.window_start) == start)
        .values(count=RateCounter.count + 1)
        .returning(col(RateCounter.count))
    ).scalar_one()
    return int(count) <= limit


def check_turn(
    session: Session, limits: Limits, chat_key: str, address: str | None, now: datetime
) -> None:
    """One conversation turn of `chat_key` ("channel:chat id") from `address`."""
    if not hit(session, f"turn:chat:{chat_key}", limits.turns_per_minute_per_chat, MINUTE, now):
        raise LimitExceeded("limit.turns")
    if address and not hit(
        session, f"turn:addr:{address}", limits.turns_per_minute_per_address, MINUTE, now
    ):
        raise LimitExceeded("limit.turns")


def check_ticket(
    session: Session,
    limits: Limits,
    reporter_id: int | None,
    address: str | None,
    now: datetime,
) -> None:
    """One new ticket by this reporter from this address (None: not known)."""
    cap = limits.tickets_per_hour_per_person
    if reporter_id is not None and cap > 0:
        recent = session.execute(
            sa.select(sa.func.count())
            .select_from(Ticket)
            .where(col(Ticket.reporter_id) == reporter_id, col(Ticket.created_at) > now - HOUR)
        ).scalar_one()
        if recent >= cap:
            raise LimitExceeded("limit.tickets", n=cap)
    if address and not hit(
        session, f"ticket:addr:{address}", limits.tickets_per_hour_per_address, HOUR, now
    ):
        raise LimitExceeded("limit.tickets", n=limits.tickets_per_hour_per_address)


def check_link_attempt(
    session: Session, limits: Limits, account: str, address: str | None, now: datetime
) -> bool:
    """One /tautkan attempt of `account` ("channel:user id"); False when throttled. Both
    counters are hit, so an address trying codes through many sessions is throttled too."""
    cap = limits.link_attempts_per_hour
    ok = hit(session, f"link:acct:{account}", cap, HOUR, now)
    if address:
        ok = hit(session, f"link:addr:{address}", cap * 4, HOUR, now) and ok
    return ok


def check_new_session(session: Session, limits: Limits, address: str, now: datetime) -> bool:
    """A new web session for `address`: without this, each page load is a fresh chat with
    fresh per-chat limits and a new row."""
    return hit(session, f"session:addr:{address}", limits.sessions_per_hour_per_address, HOUR, now)
