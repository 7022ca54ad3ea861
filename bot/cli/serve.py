"""`helpdesk run` and `helpdesk chat`: the product itself, served to every configured
channel or held in this terminal."""

from __future__ import annotations

import getpass
import logging
from typing import Annotated, Any

import typer

from bot.cli._boot import build_helpdesk, fail, load_settings
from bot.config import Settings

# The product's modules are imported inside the commands: `helpdesk --help` and the
# data commands should not pay for the web app and the channel libraries.


def uvicorn_options(settings: Settings, host: str | None, port: int | None) -> dict[str, Any]:
    """What `helpdesk run` passes to uvicorn besides the app: X-Forwarded-For is read, from
    the proxies HELPDESK_FORWARDED_ALLOW_IPS lists only."""
    return {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": settings.log_level.lower(),
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def run(
    host: Annotated[str | None, typer.Option(help="Bind address (HELPDESK_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (HELPDESK_PORT)")] = None,
) -> None:
    """Start the web app, the scheduler and every channel whose settings are present,
    with HELPDESK_WORKER_PROCESSES worker processes (`helpdesk worker`) beside it."""
    import uvicorn

    from bot.channels.registry import enabled_specs
    from bot.cli import workers
    from bot.web.app import create_app

    settings = load_settings()
    helpdesk = build_helpdesk(settings)
    count = settings.resolved_worker_processes
    if count == 0:
        web = create_app(helpdesk, channels=enabled_specs(settings))
        uvicorn.run(web, **uvicorn_options(settings, host, port))
        return
    web = create_app(helpdesk, channels=enabled_specs(settings), run_jobs=False, work=False)
    workers.exit_on_sigterm()
    with workers.kept_running(count):
        uvicorn.run(web, **uvicorn_options(settings, host, port))


def worker(
    niceness: Annotated[
        int, typer.Option(help="Lower this process's CPU priority by this much (nice)")
    ] = 0,
    parent: Annotated[
        int | None, typer.Option(help="Stop when this process (`helpdesk run`) is gone")
    ] = None,
) -> None:
    """Work on the inbox, send the outbox and run the scheduled jobs, without serving
    HTTP: what `helpdesk run` starts beside its web process (HELPDESK_WORKER_PROCESSES);
    more of them, here or on other machines on one PostgreSQL database, share the work."""
    import asyncio
    import os

    from bot.channels.registry import enabled_specs
    from bot.cli import workers
    from bot.web.app import create_app

    if niceness:
        os.nice(niceness)
    settings = load_settings()
    helpdesk = build_helpdesk(settings)
    asyncio.run(workers.hold(create_app(helpdesk, channels=enabled_specs(settings)), parent))


def chat(
    as_person: Annotated[
        str | None, typer.Option("--as", help="E-mail of a known person to chat as")
    ] = None,
) -> None:
    """Hold the conversation in the terminal."""
    from bot.channels import console
    from bot.core import people
    from storage.db import saved_id, session_scope
    from storage.models import Identity

    settings = load_settings()
    logging.getLogger().setLevel(logging.WARNING)
    helpdesk = build_helpdesk(settings)
    user_id = f"local-{getpass.getuser()}"
    if as_person:
        with session_scope(helpdesk.engine) as s:
            person = people.find_person(s, as_person)
            if person is None:
                fail(f"unknown person {as_person}")
            user_id = f"as-{as_person.lower()}"
            if people.identify(s, console.CHANNEL, user_id) is None:
                s.add(
                    Identity(
                        person_id=saved_id(person), channel=console.CHANNEL, external_id=user_id
                    )
                )
    console.run(helpdesk.conversations, user_id, documents=settings.documents_dir)
