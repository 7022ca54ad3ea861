"""`helpdesk db …`: the schema, for deployments that migrate before starting replicas, and
the helpdesk's own backups: take one, restore one (checked against its manifest), test
the newest in a scratch database, and move everything between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli._boot import fail, load_settings

if TYPE_CHECKING:
    from bot.config import Settings

db_app = typer.Typer(help="Database schema, backups, restores and copies.")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations (also done at every start)."""
    from storage import migrate
    from storage.db import make_engine

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(make_engine(settings.resolved_database_url), revision)
    typer.echo("database at " + revision)


@contextmanager
def _refusals() -> Iterator[None]:
    """Our refusals as their text and exit status 1, never a traceback."""
    from bot.i18n import t
    from storage.backup import BackupError

    try:
        yield
    except BackupError as exc:
        fail(t(exc.key, **exc.params))


def _settings() -> Settings:
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


@db_app.command("backup")
def db_backup(
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default: BACKUP_DIR).")] = None,
) -> None:
    """A backup of the configured database with its manifest (.json beside it), the
    off-site copy and the folder kept to BACKUP_KEEP, recorded like a scheduled one."""
    from dataclasses import replace

    from bot.core import backups
    from bot.i18n import fmt_number, t
    from storage import migrate
    from storage.db import make_engine
    from storage.models import utcnow

    settings = _settings()
    policy = backups.Policy.from_settings(settings)
    if out is not None:
        policy = replace(policy, folder=out)
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
        run = backups.run_backup(engine, settings.resolved_database_url, policy, utcnow())
        assert run is not None  # only a scheduled run (with a slot) can find it claimed
    finally:
        engine.dispose()
    if not run.ok:
        if run.path:
            typer.echo(run.path)
        fail(t("backup.cli.failed", error=run.error or "-"))
    typer.echo(
        t(
            "backup.cli.done",
            path=run.path or "-",
            rows=fmt_number(run.rows, "id"),
            bytes=fmt_number(run.bytes, "id"),
            seconds=fmt_number(run.seconds, "id", 2),
        )
    )


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A backup file (its manifest beside it).")],
    to: str | None = typer.Option(None, "--to", help="Target URL (default: the configured one)."),
    force: bool = typer.Option(False, "--force", help="Overwrite a target that holds data."),
) -> None:
    """Restores a backup into an empty database, after checking its SHA-256 and schema,
    and counts the rows against the manifest."""
    from bot.i18n import fmt_number, t
    from storage import backup

    settings = _settings()
    with _refusals():
        result = backup.restore(file, to or settings.resolved_database_url, force=force)
    typer.echo(
        t(
            "backup.cli.restored",
            target=result.target,
            rows=fmt_number(sum(result.tables.values()), "id"),
            revision=result.revision or "-",
            seconds=fmt_number(result.seconds, "id", 2),
        )
    )


@db_app.command("copy")
def db_copy(
    to: str = typer.Option(..., "--to", help="Target URL (an empty database)."),
    force: bool = typer.Option(False, "--force", help="Replace the target's rows."),
    batch: int = typer.Option(5000, min=1, help="Rows per insert batch."),
) -> None:
    """Moves all data from the configured database to another (SQLite → PostgreSQL or
    back): the target is migrated, filled table by table and its rows counted."""
    from sqlalchemy.engine import make_url

    from bot.i18n import fmt_number, t
    from storage import backup, migrate
    from storage.db import make_engine

    settings = _settings()
    source_url = settings.resolved_database_url
    if make_url(source_url) == make_url(to):
        fail(t("backup.same_database"))
    source, target = make_engine(source_url), make_engine(to)
    try:
        migrate.upgrade(source)
        with _refusals():
            counts = backup.copy_database(source, target, batch=batch, force=force)
    finally:
        source.dispose()
        target.dispose()
    typer.echo(
        t(
            "backup.cli.copied",
            tables=fmt_number(len(counts), "id"),
            rows=fmt_number(sum(counts.values()), "id"),
        )
    )


@db_app.command("restore-test")
def db_restore_test() -> None:
    """Restores the newest backup into a scratch database and checks it (what the
    scheduled restore test does); recorded, and a failure alerts the admins."""
    from bot.core import backups
    from bot.i18n import fmt_number, t
    from storage import migrate
    from storage.db import make_engine
    from storage.models import utcnow

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    migrate.upgrade(engine)
    test = backups.restore_test(
        engine, settings.resolved_database_url, backups.Policy.from_settings(settings), utcnow()
    )
    assert test is not None  # only a scheduled test (with a slot) can find it claimed
    engine.dispose()
    if not test.ok:
        fail(t("backup.cli.failed", error=test.error or "-"))
    typer.echo(
        t(
            "backup.cli.test_ok",
            path=test.backup_path or "-",
            rows=fmt_number(test.rows, "id"),
            seconds=fmt_number(test.restore_seconds, "id", 2),
        )
    )


@db_app.command("backups")
def db_backups(limit: int = typer.Option(10, min=1, help="How many, newest first.")) -> None:
    """The recorded backups and restore tests: when, result, size, seconds."""
    from sqlmodel import Session

    from bot.core import backups
    from bot.i18n import fmt_dt, fmt_number, t
    from storage import migrate
    from storage.db import make_engine

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    migrate.upgrade(engine)
    with Session(engine) as s:
        runs, tests = backups.last_runs(s, limit)
    engine.dispose()
    if not runs and not tests:
        typer.echo(t("backup.cli.none"))
    tz = settings.timezone
    for run in runs:
        typer.echo(
            f"backup  {fmt_dt(run.started_at, 'id', tz)}  {t('backup.cli.ok' if run.ok else 'backup.cli.bad')}  "
            f"{fmt_number(run.bytes, 'id')}  {fmt_number(run.seconds, 'id', 2)}  "
            f"{run.path or run.error or '-'}"
        )
    for test in tests:
        typer.echo(
            f"restore {fmt_dt(test.started_at, 'id', tz)}  {t('backup.cli.ok' if test.ok else 'backup.cli.bad')}  "
            f"{fmt_number(test.rows, 'id')}  {fmt_number(test.restore_seconds, 'id', 2)}  "
            f"{test.backup_path or '-'}  {test.error or ''}"
        )
