"""The inbox's rows: put at arrival (deduped on the platform's id), claimed by workers
lane by lane, done, retried with backoff, or set aside with their error.

A lane is one chat (or one source where order is global, like Alertmanager): only the
oldest unfinished event of a lane can be claimed, so a chat's messages are handled in
the order they came, by whichever worker or replica claims them. On PostgreSQL
replicas claim with FOR UPDATE SKIP LOCKED; SQLite has one writer at a time and claims
with a plain conditional UPDATE.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.db import insert_for, read_session, session_scope, urgent_writes
from storage.models import InboxEvent, utcnow

PENDING, PROCESSING, DONE, DEAD = "pending", "processing", "done", "dead"
KEY_LENGTH, LANE_LENGTH, ERROR_LENGTH = 200, 200, 4000


@dataclass(frozen=True)
class Arrival:
    """One event as its route received it."""

    source: str
    key: str
    lane: str
    payload: str


@dataclass(frozen=True)
class Claimed:
    id: int
    source: str
    key: str
    lane: str
    payload: str
    attempts: int


def put_many(
    engine: Engine, arrivals: Sequence[Arrival], now: datetime | None = None
) -> list[bool]:
    """Write the arrivals in one transaction (one commit for a whole burst); an event
    already in the inbox (a platform's redelivery) is left as it is. Returns, for each,
    whether it was new."""
    if not arrivals:
        return []
    now = now or utcnow()
    rows = [
        {
            "source": a.source,
            "key": a.key[:KEY_LENGTH],
            "lane": a.lane[:LANE_LENGTH],
            "payload": a.payload,
            "state": PENDING,
            "attempts": 0,
            "received_at": now,
            "next_attempt_at": now,
        }
        for a in arrivals
    ]
    table = InboxEvent.__table__  # type: ignore[attr-defined]
    with urgent_writes(), session_scope(engine) as s:
        # one compiled statement for the whole burst, sent as multi-row INSERTs
        # (SQLAlchemy's insertmanyvalues); the rows a conflict skipped are not returned
        stmt = (
            insert_for(s)(table)
            .on_conflict_do_nothing(index_elements=["source", "key"])
            .returning(table.c.source, table.c.key)
        )
        inserted = {(source, key) for source, key in s.execute(stmt, rows)}
    new: list[bool] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:  # the same event twice in one burst: its first copy is the new one
        ident = (str(row["source"]), str(row["key"]))
        new.append(ident in inserted and ident not in seen)
        seen.add(ident)
    return new


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Due and not held by a live worker, and the oldest unfinished event of its lane."""
    earlier = sa.orm.aliased(InboxEvent)
    head = ~sa.exists().where(
        col(earlier.lane) == col(InboxEvent.lane),
        col(earlier.state).in_((PENDING, PROCESSING)),
        col(earlier.id) < InboxEvent.id,
    )
    free = sa.or_(
        sa.and_(col(InboxEvent.state) == PENDING, col(InboxEvent.next_attempt_at) <= now),
        sa.and_(col(InboxEvent.state) == PROCESSING, col(InboxEvent.locked_until) < now),
    )
    return sa.and_(free, head)


def claim(
    engine: Engine,
    worker: str,
    *,
    limit: int,
    lease: timedelta,
    sources: Sequence[str],
    now: datetime | None = None,
) -> list[Claimed]:
    """Up to `limit` events, at most one per lane, leased to `worker` until now + lease
    (a worker that dies leaves them to be claimed again after the lease). An event
    whose lease ran out counts as an attempt."""
    now = now or utcnow()
    wanted = select(InboxEvent.id).where(col(InboxEvent.source).in_(sources), _claimable(now))
    # an idle poll (every HELPDESK_INBOX_POLL, in every process) only reads: on SQLite it
    # must not take the one write lock from the turns just to find nothing
    with read_session(engine) as s:
        if s.exec(wanted.limit(1)).first() is None:
            return []
    with session_scope(engine) as s:
        ids = wanted.order_by(col(InboxEvent.id))
        if s.get_bind().dialect.name == "postgresql":
            ids = ids.with_for_update(skip_locked=True)
        picked = list(s.exec(ids.limit(limit)).all())
        if not picked:
            return []
        rows = s.exec(
            select(InboxEvent).where(col(InboxEvent.id).in_(picked)).order_by(col(InboxEvent.id))
        ).all()
        out: list[Claimed] = []
        for row in rows:  # one per lane: a lane's later events are not its head
            row.state, row.worker = PROCESSING, worker[:80]
            row.locked_until = now + lease
            row.attempts += 1
            s.add(row)
            assert row.id is not None
            out.append(Claimed(row.id, row.source, row.key, row.lane, row.payload, row.attempts))
        return out


def extend(db: Engine | Session, ids: Iterable[int], worker: str, until: datetime) -> set[int]:
    """Renew the lease of events still being worked on (a long turn is not taken away).
    Returns the events renewed: one missing was taken over by another worker. Given a
    session, part of that transaction (the intake writes reply marks with it)."""
    ids = list(ids)
    if not ids:
        return set()
    if isinstance(db, Engine):
        with urgent_writes(), session_scope(db) as s:
            return extend(s, ids, worker, until)
    renewed = db.execute(
        sa.update(InboxEvent)
        .where(
            col(InboxEvent.id).in_(ids),
            col(InboxEvent.state) == PROCESSING,
            col(InboxEvent.worker) == worker[:80],
        )
        .values(locked_until=until)
        .returning(col(InboxEvent.id))
    )
    return {int(event_id) for (event_id,) in renewed}


def done(db: Engine | Session, ids: Iterable[int], now: datetime | None = None) -> None:
    """Given a session, part of that transaction (the intake writes the runs' reply
    marks in the same commit); given an engine, its own."""
    ids = list(ids)
    if not ids:
        return
    if isinstance(db, Engine):
        with session_scope(db) as s:
            done(s, ids, now)
        return
    db.execute(
        sa.update(InboxEvent)
        .where(col(InboxEvent.id).in_(ids))
        .values(state=DONE, done_at=now or utcnow(), locked_until=None, last_error=None)
    )


def failed(
    engine: Engine,
    event_id: int,
    error: str,
    *,
    retry_at: datetime | None,
    now: datetime | None = None,
) -> None:
    """A handler failed: try again at `retry_at`, or (None) set the event aside as dead,
    where it waits for an admin (`helpdesk inbox`)."""
    values: dict[str, object] = {"last_error": error[:ERROR_LENGTH], "locked_until": None}
    if retry_at is None:
        values.update(state=DEAD, done_at=now or utcnow())
    else:
        values.update(state=PENDING, next_attempt_at=retry_at)
    with session_scope(engine) as s:
        s.execute(sa.update(InboxEvent).where(col(InboxEvent.id) == event_id).values(**values))


def retry(
    engine: Engine, event_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Put dead events back in line (all of them, or those given), with fresh attempts."""
    now = now or utcnow()
    with session_scope(engine) as s:
        stmt = sa.update(InboxEvent).where(col(InboxEvent.state) == DEAD)
        if event_ids is not None:
            stmt = stmt.where(col(InboxEvent.id).in_(list(event_ids)))
        result = s.execute(
            stmt.values(state=PENDING, attempts=0, next_attempt_at=now, done_at=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def dead(session: Session, limit: int = 50) -> list[InboxEvent]:
    return list(
        session.exec(
            select(InboxEvent)
            .where(col(InboxEvent.state) == DEAD)
            .order_by(col(InboxEvent.id).desc())
            .limit(limit)
        ).all()
    )


def counts(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(InboxEvent.state, sa.func.count()).group_by(col(InboxEvent.state))
    ).all()
    return {state: int(n) for state, n in rows}


def unfinished_count(engine: Engine, sources: Sequence[str]) -> int:
    """Events of these sources not finished yet (pending, retrying or in hand)."""
    with Session(engine) as s:
        return int(
            s.exec(
                select(sa.func.count()).where(
                    col(InboxEvent.source).in_(sources),
                    col(InboxEvent.state).in_((PENDING, PROCESSING)),
                )
            ).one()
        )
