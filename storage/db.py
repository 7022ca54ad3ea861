"""Engine and sessions. SQLite gets WAL, foreign keys, a busy timeout and full syncs on
every connection, and one write transaction at a time per process, taken in turn."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        gate = WriteGate(timeout=SQLITE_BUSY_SECONDS)

        def begin(conn: sa.Connection) -> None:
            # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
            # a read followed by a write in one transaction does not deadlock under WAL.
            if _READING.active:
                # a read-only transaction reads its WAL snapshot beside any writer: it
                # neither takes the write lock nor waits for it (query_only refuses a
                # write that would otherwise need it)
                conn.exec_driver_sql("PRAGMA query_only=1")
                conn.exec_driver_sql("BEGIN DEFERRED")
                return
            gate.acquire(conn.connection.dbapi_connection, urgent=_URGENT.active)
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        def read_done(dbapi_conn: Any, *_: object) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA query_only=0")
            cur.close()

        def release(dbapi_conn: Any, *_: object) -> None:
            gate.release(dbapi_conn)

        sa.event.listen(engine, "begin", begin)
        sa.event.listen(engine.pool, "checkin", read_done)
        for name in ("checkin", "invalidate", "soft_invalidate", "close", "close_detached"):
            sa.event.listen(engine.pool, name, release)
        return engine
    return sa.create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


SQLITE_BUSY_SECONDS = 30


class _Urgent(threading.local):
    active = False


_URGENT = _Urgent()
_READING = _Urgent()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session that only reads (pages, feeds, reports): on SQLite it does not wait for
    the one writer (the status page answered in seconds behind a burst of turns); a write
    in it fails. On PostgreSQL it is a plain session."""
    before, _READING.active = _READING.active, True
    try:
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()  # ends the transaction while the flag still holds
    finally:
        _READING.active = before


@contextmanager
def urgent_writes() -> Iterator[None]:
    """Transactions begun in this block go before the others waiting on SQLite's lock:
    the inbox's acknowledgements, which a platform waits for, do not queue behind turns."""
    before, _URGENT.active = _URGENT.active, True
    try:
        yield
    finally:
        _URGENT.active = before


@dataclass
class WriteGate:
    """SQLite lets one transaction write at a time (every transaction here begins
    IMMEDIATE) and makes the others poll with growing sleeps, which under load serves
    them in no order and lets a burst wait seconds. Inside one process the gate hands
    the lock on in turn instead, urgent ones first; other processes still meet SQLite's
    busy timeout. Held per connection, from BEGIN until the connection goes back to the
    pool, and re-entered by the same connection (commit-as-you-go)."""

    timeout: float
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _holder: object | None = None
    _urgent_waiting: int = 0

    def acquire(self, owner: object, *, urgent: bool = False) -> None:
        with self._cond:
            if self._holder is owner:
                return
            if urgent:
                self._urgent_waiting += 1
            try:
                free = self._cond.wait_for(
                    lambda: self._holder is None and (urgent or self._urgent_waiting == 0),
                    self.timeout,
                )
            finally:
                if urgent:
                    self._urgent_waiting -= 1
            if not free:
                self._cond.notify_all()  # an urgent waiter that gave up may unblock others
                raise sqlite3.OperationalError("database is locked")
            self._holder = owner

    def release(self, owner: object) -> None:
        with self._cond:
            if self._holder is owner:
                self._holder = None
                self._cond.notify_all()


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" listener control transactions
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # FULL syncs the WAL at every commit: a ticket the bot confirmed survives a power cut.
    # NORMAL syncs only at checkpoints and may lose the last commits on power loss.
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class _Keyed(Protocol):
    id: int | None


def saved_id(row: _Keyed) -> int:
    """The primary key of a row that is in the database (loaded, or added and flushed).

    SQLModel types `id` as `int | None` because it is None until the INSERT; a None
    here is a row used before `session.flush()`, a bug that should fail loudly rather
    than be written as a NULL foreign key."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush the session first")
    return row.id


def insert_for(session: Session) -> Callable[[type[SQLModel]], Any]:
    """The dialect's INSERT construct, which has ON CONFLICT on both SQLite and PostgreSQL.

    The statement is typed `Any` on purpose: the two dialects' `Insert` classes are
    unrelated types with the same ON CONFLICT methods, and their union would reject the
    callers' `.returning(Model.id)` (SQLModel types `id` as `int | None`)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
