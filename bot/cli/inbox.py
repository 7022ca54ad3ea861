"""`helpdesk inbox …`: what the inbox holds, and the events set aside after failing too
often (their error, and putting them back in line once the cause is fixed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from bot.cli._boot import fail, load_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.config import Settings

inbox_app = typer.Typer(help="Inbound events (Telegram, Slack, Alertmanager) and failures.")


def _engine() -> tuple[Settings, Engine]:
    from storage import migrate
    from storage.db import make_engine

    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    migrate.upgrade(engine)
    return settings, engine


@inbox_app.command("status")
def status() -> None:
    """Events by state: pending, processing, done, dead."""
    from sqlmodel import Session

    from storage import inbox

    _, engine = _engine()
    with Session(engine) as s:
        counts = inbox.counts(s)
    for state in ("pending", "processing", "done", "dead"):
        typer.echo(f"{state:<11} {counts.get(state, 0)}")


@inbox_app.command("dead")
def dead(limit: int = typer.Option(50, min=1, help="How many, newest first.")) -> None:
    """The events set aside: id, source, when it came, attempts, last error."""
    from sqlmodel import Session

    from storage import inbox

    settings, engine = _engine()
    tz = ZoneInfo(settings.timezone)
    with Session(engine) as s:
        rows = inbox.dead(s, limit)
    if not rows:
        typer.echo("no events set aside")
        return
    for row in rows:
        at = row.received_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        error = (row.last_error or "").splitlines()[0][:200] if row.last_error else ""
        typer.echo(f"{row.id}\t{row.source}\t{row.key}\t{at}\t{row.attempts}×\t{error}")


@inbox_app.command("retry")
def retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Event ids (from `helpdesk inbox dead`).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every event set aside.")] = False,
) -> None:
    """Put events set aside back in line, with fresh attempts."""
    from storage import inbox

    if not ids and not all_:
        fail("give event ids, or --all")
    _, engine = _engine()
    n = inbox.retry(engine, None if all_ else ids)
    if ids and n < len(ids):
        typer.echo(f"{len(ids) - n} of the ids given are not set aside (unknown or done)")
    typer.echo(f"{n} event(s) back in line")
