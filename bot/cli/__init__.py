"""`helpdesk` command line: run the product, chat in the terminal, manage data.

This module only assembles `app` (the `helpdesk` entry point in pyproject) from the
command modules, one per command group. They share `bot.cli._boot` and import neither
each other nor this package, so the CLI has no import cycle. Registration order is the
order of `helpdesk --help`.
"""

from __future__ import annotations

import typer

from bot.cli import (
    catalog,
    db,
    inbox,
    kb,
    monitoring,
    people,
    report,
    review,
    serve,
    telegram,
)

__all__ = ["app"]

app = typer.Typer(help="SPBE helpdesk: chat-ops service management.", no_args_is_help=True)

app.command()(serve.run)
app.command()(serve.chat)
app.command()(serve.worker)
app.command()(report.report)
app.command("availability")(monitoring.availability_report)

app.add_typer(db.db_app, name="db")
app.add_typer(catalog.catalog_app, name="catalog")
app.add_typer(people.people_app, name="people")
app.add_typer(kb.kb_app, name="kb")
app.add_typer(telegram.telegram_app, name="telegram")
app.add_typer(monitoring.maintenance_app, name="maintenance")
app.add_typer(inbox.inbox_app, name="inbox")
app.add_typer(review.review_app, name="review")
