"""When each chat last wrote to us. WhatsApp lets a business send free-form messages
only within 24 hours of the person's last message (the customer-service window); after
that, only approved templates. The channel records each inbound message here and its
transport asks before a notice goes out. Platform-neutral: a chat is (channel, id)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col

from storage.db import insert_for
from storage.models import ChatContact


def touch(session: Session, channel: str, chat_id: str, at: datetime) -> None:
    """The chat wrote at `at`; an older time (a message redelivered late) keeps the newer."""
    stmt = insert_for(session)(ChatContact).values(
        channel=channel, chat_id=chat_id, last_inbound_at=at
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["channel", "chat_id"],
            set_={"last_inbound_at": stmt.excluded.last_inbound_at},
            where=col(ChatContact.last_inbound_at) < stmt.excluded.last_inbound_at,
        )
    )


def last_inbound(session: Session, channel: str, chat_id: str) -> datetime | None:
    row = session.get(ChatContact, (channel, chat_id))
    return row.last_inbound_at if row else None


def within(session: Session, channel: str, chat_id: str, window: timedelta, now: datetime) -> bool:
    """Whether the chat wrote less than `window` before `now`."""
    last = last_inbound(session, channel, chat_id)
    if last is None:
        return False
    if last.tzinfo is None:  # SQLite returns naive UTC
        last = last.replace(tzinfo=now.tzinfo)
    return now - last < window
