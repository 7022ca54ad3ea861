"""The migrations are one chain whose end is exactly the tables the code declares:
branches merged side by side (each with its own migration) must be chained again, and a
model changed without its migration is caught here, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (the tables register on SQLModel.metadata)
from storage.migrate import alembic_config


def test_the_migrations_have_one_head_and_no_gaps() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, script.get_heads()
    chain = [rev.revision for rev in script.walk_revisions()]
    assert len(chain) == len(set(chain))
    assert script.get_base() == chain[-1]


def test_the_migrated_schema_is_the_models_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], diff
