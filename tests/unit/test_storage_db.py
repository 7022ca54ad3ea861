"""storage.db helpers that the domain code relies on for its types."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from storage.db import make_engine, saved_id, session_scope
from storage.models import Person


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
