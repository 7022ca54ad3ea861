"""`helpdesk people …`: people come from the ministry's staff lists (YAML or CSV), and a
person links a chat account with a one-time code an administrator hands out (and an
administrator can unlink it again; `unlink` is listed first so that the help keeps its
older order at the end)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from bot.cli._boot import build_helpdesk, fail, load_settings

people_app = typer.Typer(help="People and roles.")


@people_app.command("unlink")
def people_unlink(
    person: str,
    channel: str | None = typer.Option(None, "--channel", help="only this channel's accounts"),
) -> None:
    """Unlink a person's chat accounts (a lost phone, a staff member who left); their
    web sessions end. Logged."""
    import logging

    from bot.core import people
    from storage.db import session_scope

    helpdesk = build_helpdesk()
    with session_scope(helpdesk.engine) as s:
        found = people.find_person(s, person)
        if found is None:
            fail(f"unknown person {person}")
        dropped = people.unlink_person(s, found, channel)
        logging.getLogger(__name__).warning(
            "cli unlinked %d chat account(s) of person %s (channel %s)",
            len(dropped),
            found.id,
            channel or "all",
        )
    names = ", ".join(f"{i.channel}:{i.external_id[:12]}" for i in dropped) or "none"
    typer.echo(f"unlinked {len(dropped)} chat account(s) of {found.name}: {names}")


@people_app.command("import")
def people_import(file: Path) -> None:
    """Import or update people from YAML or CSV (name,email,unit,roles,skills,lang,phone)."""
    from bot.core.people import PeopleError, import_people
    from storage.db import session_scope

    helpdesk = build_helpdesk()
    try:
        with session_scope(helpdesk.engine) as s:
            created, updated = import_people(s, file)
    except PeopleError as exc:
        fail(str(exc))
    typer.echo(f"people: {created} created, {updated} updated")


@people_app.command("link-code")
def people_link_code(person: str) -> None:
    """A one-time code the person sends to the bot with /tautkan CODE."""
    from bot.core import people
    from storage.db import session_scope

    settings = load_settings()
    helpdesk = build_helpdesk(settings)
    with session_scope(helpdesk.engine) as s:
        found = people.find_person(s, person)
        if found is None:
            fail(f"unknown person {person}")
        code = people.issue_link_code(
            s, found, ttl=timedelta(minutes=settings.link_code_ttl_minutes)
        )
    typer.echo(
        f"{code}  (valid {settings.link_code_ttl_minutes} minutes, once; send: /tautkan {code})"
    )
