"""Engine and sessions. SQLite gets WAL, foreign keys, a busy timeout and full syncs on
every connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
        # a read followed by a write in one transaction does not deadlock under WAL.
        sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return sa.create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


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
