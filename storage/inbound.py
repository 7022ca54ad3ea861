"""Platform deliveries already seen: the dedupe keys of Telegram update ids, Slack event
ids and the like. Platforms redeliver (a slow webhook, a retry after a timeout); a key
recorded in the same transaction as the turn it caused means a redelivery changes
nothing, and a turn that failed (rolled back, key with it) is served again.

The key's row also keeps what the turn answered until every reply is sent (`owe`,
`mark_sent`): a crash between the turn's commit and the send loses no reply.

Inside an inbox run the marks are only noted (`Marks`, `collecting`) and written with
the run's end, many runs in one statement (`save_marks`, the intake's done flush): a
commit per reply would cost the workers more than the turn itself. A crash then sends
again at most the replies of runs not yet flushed (at least once, never lost)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from storage.db import insert_for, session_scope, urgent_writes
from storage.models import InboundEvent, utcnow

#: dedupe keys are cut to the column's length
KEY_LENGTH = 200


def first_delivery(db: Engine | Session, channel: str, key: str) -> bool:
    """Record a platform delivery (Telegram update id, Slack event id); False when it was
    recorded before, by this replica or another. Given a session, the record is part of
    that transaction (rolled back with it); given an engine, it is its own."""
    if isinstance(db, Engine):
        with session_scope(db) as session:
            return first_delivery(session, channel, key)
    inserted = db.execute(
        insert_for(db)(InboundEvent)
        .values(channel=channel, key=key[:KEY_LENGTH], received_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(InboundEvent.id))  # rowcount is -1 here through the ORM on psycopg
    ).first()
    return inserted is not None


def owe(session: Session, channel: str, key: str, replies: list[dict[str, Any]]) -> None:
    """Keep a turn's replies with its delivery, in the turn's transaction: until they are
    marked sent, a re-run of the delivery sends them instead of running the turn again."""
    session.execute(
        sa.update(InboundEvent)
        .where(col(InboundEvent.channel) == channel, col(InboundEvent.key) == key[:KEY_LENGTH])
        .values(replies=replies or None, replies_sent=0)
    )


def owed(session: Session, channel: str, key: str) -> tuple[list[dict[str, Any]], int]:
    """A recorded delivery's replies and how many of them were sent; ([], 0) when all
    were (or the turn answered nothing)."""
    row = session.execute(
        sa.select(col(InboundEvent.replies), col(InboundEvent.replies_sent)).where(
            col(InboundEvent.channel) == channel, col(InboundEvent.key) == key[:KEY_LENGTH]
        )
    ).first()
    if row is None or not row[0]:
        return [], 0
    return list(row[0]), int(row[1])


def mark_sent(engine: Engine, channel: str, key: str, sent: int, total: int) -> None:
    """`sent` of the delivery's `total` replies are out; once all are, the replies are
    dropped (the row stays as the dedupe key). Never counts back."""
    values: dict[str, Any] = {"replies_sent": sent}
    if sent >= total:
        values["replies"] = None
    # ahead of the turns waiting for SQLite's lock: until this commits, a crash sends the
    # reply again
    with urgent_writes(), session_scope(engine) as session:
        session.execute(
            sa.update(InboundEvent)
            .where(
                col(InboundEvent.channel) == channel,
                col(InboundEvent.key) == key[:KEY_LENGTH],
                col(InboundEvent.replies_sent) < sent,
            )
            .values(**values)
        )


@dataclass
class Marks:
    """The replies one inbox run sent, by delivery, not written yet: (sent, total)."""

    sent: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def note(self, channel: str, key: str, sent: int, total: int) -> None:
        ident = (channel, key[:KEY_LENGTH])
        before = self.sent.get(ident, (0, total))[0]
        self.sent[ident] = (max(before, sent), total)


_MARKS: ContextVar[Marks | None] = ContextVar("reply_marks", default=None)


@contextmanager
def collecting(marks: Marks) -> Iterator[Marks]:
    """Marks made in this context (its tasks and threads too) are noted in `marks`
    instead of committed one by one; whoever opened it saves them (`save_marks`)."""
    token = _MARKS.set(marks)
    try:
        yield marks
    finally:
        _MARKS.reset(token)


def note_sent(engine: Engine, channel: str, key: str, sent: int, total: int) -> None:
    """`mark_sent`, or only noted when an inbox run collects its marks."""
    marks = _MARKS.get()
    if marks is None:
        mark_sent(engine, channel, key, sent, total)
    else:
        marks.note(channel, key, sent, total)


def save_marks(session: Session, marks: list[Marks]) -> None:
    """Write the marks of many runs in the caller's transaction: one UPDATE for all the
    deliveries whose replies all went out (the common case; one per reply count), one
    executemany for those partly sent (a run that failed in between)."""
    complete: dict[int, list[tuple[str, str]]] = {}  # by how many replies (a few counts)
    partial: list[dict[str, Any]] = []
    for run in marks:
        for (channel, key), (sent, total) in run.sent.items():
            if sent >= total:
                complete.setdefault(total, []).append((channel, key))
            else:
                partial.append({"c": channel, "k": key, "n": sent})
    for total, deliveries in complete.items():
        session.execute(
            sa.update(InboundEvent)
            .where(sa.tuple_(col(InboundEvent.channel), col(InboundEvent.key)).in_(deliveries))
            .values(replies=None, replies_sent=total)
        )
    if partial:
        table = InboundEvent.__table__  # type: ignore[attr-defined]
        session.execute(
            sa.update(table)
            .where(
                table.c.channel == sa.bindparam("c"),
                table.c.key == sa.bindparam("k"),
                table.c.replies_sent < sa.bindparam("n"),
            )
            .values(replies_sent=sa.bindparam("n")),
            partial,
        )
