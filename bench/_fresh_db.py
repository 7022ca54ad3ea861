"""A migrated, empty database for one benchmark run, removed afterwards: a SQLite file
in a temporary folder, or `bench_<random>` created on the PostgreSQL server of the URL."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from storage import migrate
from storage.db import make_engine


@contextmanager
def fresh_database(url: str | None) -> Iterator[tuple[Engine, str]]:
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            own = f"sqlite:///{tmp}/bench.db"
            engine = make_engine(own)
            try:
                migrate.upgrade(engine)
                yield engine, own
            finally:
                engine.dispose()
        return
    base = make_url(url)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    own = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(own)
    try:
        migrate.upgrade(engine)
        yield engine, own
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
