"""Shared fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

PostgreSQL: each pytest run creates its own database next to HELPDESK_TEST_PG_URL's
(default postgresql+psycopg://postgres@127.0.0.1:5432/test) and drops it at the end, so
parallel runs do not meet. Without a reachable server the PostgreSQL half is skipped,
except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from bot.channels import registry
from bot.config import Settings
from bot.runtime import Helpdesk, build, load_samples
from storage import migrate
from storage.db import make_engine
from tests.helpers import Chat

PG_URL = os.environ.get("HELPDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [
    b for b in os.environ.get("HELPDESK_TEST_BACKENDS", "sqlite,postgresql").split(",") if b
]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    base = make_url(PG_URL)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"hd_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}")
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate_all(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
            )
        ]
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "helpdesk.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # the status page is read anew for every request: tests change the data and look again
    # (tests/unit/test_status_cache.py tests the cache itself)
    return Settings(
        data_dir=tmp_path / "var", database_url=db_url, _env_file=None, status_cache_seconds=0
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.resolved_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def helpdesk(settings: Settings, engine: Engine) -> Helpdesk:
    """The product on embedded defaults: sample people, catalog and knowledge base."""
    load_samples(settings, engine)
    return build(
        settings, upgrade=False, engine=engine, anonymous_channels=registry.anonymous_channels()
    )


@pytest.fixture
def chat(helpdesk: Helpdesk) -> Chat:
    """An unknown web-chat user (a pengguna)."""
    return Chat(helpdesk, "web", "visitor-1")


@pytest.fixture
def operator(helpdesk: Helpdesk) -> Chat:
    """A technical manager of the VPN service, linked through the console channel."""
    return Chat.as_person(helpdesk, "console", Chat.technician_of(helpdesk, "vpn"))
