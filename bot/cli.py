"""`helpdesk` command line: run the product, chat in the terminal, manage data."""

from __future__ import annotations

import getpass
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from bot.config import Settings

app = typer.Typer(help="SPBE helpdesk: chat-ops service management.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.")
catalog_app = typer.Typer(help="Service catalog (Katalog layanan).")
people_app = typer.Typer(help="People and roles.")
kb_app = typer.Typer(help="Knowledge base (FAQ).")
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(people_app, name="people")
app.add_typer(kb_app, name="kb")


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return settings


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Bind address (HELPDESK_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (HELPDESK_PORT)")] = None,
) -> None:
    """Start the web app, the scheduler and every channel whose settings are present."""
    import uvicorn

    from bot.channels.registry import enabled_specs
    from bot.runtime import build
    from bot.web.app import create_app

    settings = _settings()
    helpdesk = build(settings)
    web = create_app(helpdesk, channels=enabled_specs(settings))
    uvicorn.run(
        web,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def chat(
    as_person: Annotated[
        str | None, typer.Option("--as", help="E-mail of a known person to chat as")
    ] = None,
) -> None:
    """Hold the conversation in the terminal."""
    from bot.channels import console
    from bot.core import people
    from bot.runtime import build
    from storage.db import session_scope
    from storage.models import Identity

    settings = _settings()
    logging.getLogger().setLevel(logging.WARNING)
    helpdesk = build(settings)
    user_id = f"local-{getpass.getuser()}"
    if as_person:
        with session_scope(helpdesk.engine) as s:
            person = people.find_person(s, as_person)
            if person is None:
                _fail(f"unknown person {as_person}")
            user_id = f"as-{as_person.lower()}"
            if people.identify(s, console.CHANNEL, user_id) is None:
                s.add(Identity(person_id=person.id, channel=console.CHANNEL, external_id=user_id))
    console.run(helpdesk.conversations, user_id)


@app.command()
def report(
    kind: Annotated[
        str,
        typer.Argument(
            help="availability, evaluation, exception, catalogue, priority, sla, continuity, incidents, requests, complaints, or spbe-evidence"
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="File to write: .html (a .pdf is written beside it), .pdf, .csv; .zip for spbe-evidence",
        ),
    ],
    date_from: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: 30 days ago)")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today)")
    ] = None,
    service: Annotated[str | None, typer.Option(help="Only this service id")] = None,
) -> None:
    """Write a report (SPBE evidence) built from the records."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from bot.reports import build_report, to_csv, to_html, to_pdf
    from bot.reports.evidence import build_pack
    from bot.reports.registry import resolve_kind
    from bot.runtime import build
    from storage.db import session_scope
    from storage.models import utcnow

    settings = _settings()
    now = utcnow()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    try:
        end = date.fromisoformat(date_to) if date_to else today
        start = date.fromisoformat(date_from) if date_from else end - timedelta(days=29)
    except ValueError as exc:
        _fail(f"bad date: {exc} (use YYYY-MM-DD)")
    if start > end:
        _fail("--from is after --to")
    helpdesk = build(settings)
    with session_scope(helpdesk.engine) as s:
        if kind == "spbe-evidence":
            out.write_bytes(build_pack(s, start=start, end=end, tz=settings.timezone, now=now))
            typer.echo(f"wrote {out}")
            return
        name = resolve_kind(kind)
        if name is None:
            _fail(f"unknown report {kind!r}")
        result = build_report(
            name, s, start=start, end=end, tz=settings.timezone, now=now, service_id=service
        )
    suffix = out.suffix.lower()
    if suffix == ".csv":
        out.write_text(to_csv(result), encoding="utf-8")
    elif suffix == ".pdf":
        out.write_bytes(to_pdf(result))
    else:
        out.write_text(to_html(result), encoding="utf-8")
        out.with_suffix(".pdf").write_bytes(to_pdf(result))
    typer.echo(f"wrote {out}")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations (also done at every start)."""
    from storage import migrate
    from storage.db import make_engine

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(make_engine(settings.resolved_database_url), revision)
    typer.echo("database at " + revision)


@catalog_app.command("import")
def catalog_import(file: Path) -> None:
    """Import or update services from YAML; running it twice changes nothing."""
    from bot.core.catalog import CatalogError, import_catalog
    from bot.runtime import build
    from storage.db import session_scope

    helpdesk = build(_settings())
    try:
        with session_scope(helpdesk.engine) as s:
            created, updated = import_catalog(s, file)
    except CatalogError as exc:
        _fail(str(exc))
    typer.echo(f"services: {created} created, {updated} updated")


@catalog_app.command("list")
def catalog_list() -> None:
    from bot.core.catalog import list_services
    from bot.runtime import build
    from storage.db import session_scope

    helpdesk = build(_settings())
    with session_scope(helpdesk.engine) as s:
        for svc in list_services(s):
            typer.echo(f"{svc.id:16} {svc.availability_target:6g}%  {svc.criticality:7} {svc.name}")


@people_app.command("import")
def people_import(file: Path) -> None:
    """Import or update people from YAML or CSV (name,email,unit,roles,skills,lang)."""
    from bot.core.people import PeopleError, import_people
    from bot.runtime import build
    from storage.db import session_scope

    helpdesk = build(_settings())
    try:
        with session_scope(helpdesk.engine) as s:
            created, updated = import_people(s, file)
    except PeopleError as exc:
        _fail(str(exc))
    typer.echo(f"people: {created} created, {updated} updated")


@people_app.command("link-code")
def people_link_code(person: str) -> None:
    """A one-time code the person sends to the bot with /tautkan CODE."""
    from bot.core import people
    from bot.runtime import build
    from storage.db import session_scope

    settings = _settings()
    helpdesk = build(settings)
    with session_scope(helpdesk.engine) as s:
        found = people.find_person(s, person)
        if found is None:
            _fail(f"unknown person {person}")
        code = people.issue_link_code(
            s, found, ttl=timedelta(minutes=settings.link_code_ttl_minutes)
        )
    typer.echo(
        f"{code}  (valid {settings.link_code_ttl_minutes} minutes, once; send: /tautkan {code})"
    )


@kb_app.command("check")
def kb_check(directory: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Validate the article files; messages name file and line."""
    from knowledge import check_knowledge
    from knowledge.articles import load_articles  # noqa: F401  (fail early if the package is broken)

    settings = _settings()
    known = None
    try:
        from bot.core.catalog import parse_catalog

        known = {s.id for s in parse_catalog(settings.catalog_file)}
    except Exception:  # the catalog is checked by `catalog import`
        known = None
    problems = check_knowledge(directory or settings.knowledge_dir, known_services=known)
    for line in problems:
        typer.echo(line)
    if problems:
        raise typer.Exit(1)
    typer.echo("ok")


@kb_app.command("eval")
def kb_eval(articles: Path, queries: Path) -> None:
    """Evaluate the matcher on a knowledge base in the FAQ interchange format."""
    from knowledge import evaluate

    settings = Settings()
    result = evaluate(
        articles,
        queries,
        answer_threshold=settings.faq_answer_threshold,
        suggest_threshold=settings.faq_suggest_threshold,
    )
    typer.echo(json.dumps(result))


@kb_app.command("candidates")
def kb_candidates(
    approve: Annotated[list[int] | None, typer.Option(help="Approve candidate ID")] = None,
    reject: Annotated[list[int] | None, typer.Option(help="Reject candidate ID")] = None,
) -> None:
    """List learned phrasings waiting for approval, or decide on them."""
    from bot.core import learning
    from bot.core.errors import HelpdeskError
    from bot.runtime import build
    from storage.db import session_scope

    helpdesk = build(_settings())
    with session_scope(helpdesk.engine) as s:
        try:
            for cid in approve or []:
                learning.decide(s, cid, True, None, cli=True)
                typer.echo(f"approved {cid}")
            for cid in reject or []:
                learning.decide(s, cid, False, None, cli=True)
                typer.echo(f"rejected {cid}")
        except HelpdeskError as exc:
            _fail(f"{exc.key} {exc.params}")
        if not approve and not reject:
            for c in learning.pending(s, limit=100):
                typer.echo(f"{c.id:5}  {c.article_id:24} seen {c.seen:3}  {c.phrasing}")
            for article_id, no, total in learning.failing_articles(s):
                typer.echo(f"review: {article_id} — 'Tidak' {no} of {total}")


telegram_app = typer.Typer(help="Telegram channel.")
app.add_typer(telegram_app, name="telegram")


@telegram_app.command("set-webhook")
def telegram_set_webhook(
    drop_pending: Annotated[
        bool, typer.Option("--drop-pending", help="Discard updates waiting at Telegram")
    ] = False,
) -> None:
    """Register TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET with the Bot API (once, after changing them)."""
    import asyncio

    from telegram.error import TelegramError

    from bot.channels.telegram import set_webhook

    settings = _settings()
    if settings.telegram_bot_token is None:
        _fail("TELEGRAM_BOT_TOKEN is not set")
    try:
        url = asyncio.run(set_webhook(settings, drop_pending_updates=drop_pending))
    except (ValueError, TelegramError) as exc:
        _fail(f"set-webhook failed: {exc}")
    typer.echo(f"webhook set: {url}")


from bot.cli_monitoring import availability_report, maintenance_app  # noqa: E402

app.add_typer(maintenance_app, name="maintenance")
app.command("availability")(availability_report)
