"""storage.db helpers that the domain code relies on for its types."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from storage.db import make_engine, read_session, saved_id, session_scope
from storage.models import Person, Service


def test_saved_id_is_the_key_once_the_row_is_flushed(engine: Engine) -> None:
    with session_scope(engine) as s:
        person = Person(name="Dewi")
        s.add(person)
        with pytest.raises(ValueError, match="flush"):
            saved_id(person)
        s.flush()
        assert person.id is not None and saved_id(person) == person.id


def test_sqlite_commits_are_synced_to_disk(tmp_path: Path) -> None:
    """synchronous=FULL (2): with WAL, NORMAL may lose a confirmed ticket on power loss."""
    engine = make_engine(f"sqlite:///{tmp_path / 'helpdesk.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        engine.dispose()


def test_a_read_session_reads_beside_a_writer_and_cannot_write(engine: Engine) -> None:
    """The status page and reports read while a turn holds SQLite's write lock: they see
    what was committed, without waiting for the writer."""
    with session_scope(engine) as s:
        s.add(Service(id="rd1", name="Read one", provider_unit="Pusdatin"))
    writing, release = threading.Event(), threading.Event()

    def writer() -> None:
        with session_scope(engine) as s:
            s.add(Service(id="rd2", name="Read two", provider_unit="Pusdatin"))
            s.flush()  # the write lock is held from here to the commit
            writing.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(30)
        seen: list[set[str]] = []

        def reader() -> None:
            with read_session(engine) as s:
                seen.append(set(s.exec(select(Service.id)).all()))

        reading = threading.Thread(target=reader)
        reading.start()
        reading.join(10)  # a reader queued behind the writer would still be waiting
        assert not reading.is_alive()
        assert "rd1" in seen[0] and "rd2" not in seen[0]  # committed rows only
    finally:
        release.set()
        thread.join(30)
    with read_session(engine) as s:
        assert s.get(Service, "rd2") is not None
    if engine.dialect.name == "sqlite":  # on PostgreSQL a read session is a plain one
        with read_session(engine) as s:
            s.add(Service(id="rd3", name="Read three", provider_unit="Pusdatin"))
            with pytest.raises(sa.exc.OperationalError, match="readonly"):
                s.flush()
    with session_scope(engine) as s:  # the connection went back to the pool writable
        s.add(Service(id="rd4", name="Read four", provider_unit="Pusdatin"))
    with read_session(engine) as s:
        assert s.get(Service, "rd3") is None and s.get(Service, "rd4") is not None
