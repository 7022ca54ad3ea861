"""`helpdesk db …`: the schema, for deployments that migrate before starting replicas."""

from __future__ import annotations

import typer

from bot.cli._boot import load_settings

db_app = typer.Typer(help="Database schema.")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations (also done at every start)."""
    from storage import migrate
    from storage.db import make_engine

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(make_engine(settings.resolved_database_url), revision)
    typer.echo("database at " + revision)
