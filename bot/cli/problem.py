"""`helpdesk problem …`: the problem records (masalah) for whoever administers the server —
the open ones (or all), and one with its trail. Changes are made in chat, where roles
are checked and every change names its operator."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli._boot import build_helpdesk, fail

problem_app = typer.Typer(help="Problem records (masalah).")


@problem_app.command("list")
def list_problems(
    all_: Annotated[bool, typer.Option("--all", help="Verified and closed ones too")] = False,
    service: Annotated[str | None, typer.Option(help="Only this service id")] = None,
) -> None:
    """Open problems, newest first."""
    from sqlmodel import Session, col, select

    from bot.core import problem_text, problems
    from bot.i18n import t
    from storage.models import Problem

    helpdesk = build_helpdesk()
    with Session(helpdesk.engine) as s:
        stmt = select(Problem).order_by(col(Problem.created_at).desc(), col(Problem.id).desc())
        if not all_:
            stmt = stmt.where(col(Problem.state).in_(problems.OPEN_STATES))
        if service:
            stmt = stmt.where(Problem.service_id == service)
        rows = list(s.exec(stmt))
        if not rows:
            typer.echo(t("problem.none_open"))
        for row in rows:
            typer.echo(problem_text.line(row, "id"))


@problem_app.command("show")
def show_problem(number: str) -> None:
    """One problem: its record, then every change (who, when, channel, old → new)."""
    from sqlmodel import Session

    from bot.core import problem_text, problems
    from bot.core.errors import HelpdeskError
    from bot.i18n import fmt_dt, t
    from storage.models import Person

    helpdesk = build_helpdesk()
    tz = helpdesk.settings.timezone
    with Session(helpdesk.engine) as s:
        try:
            problem = problems.get(s, number)
        except HelpdeskError as exc:
            fail(t(exc.key, **exc.params))
        typer.echo(problem_text.detail(s, problem, "id", tz))
        for event in problems.history(s, problem):
            who = s.get(Person, event.actor_id) if event.actor_id else None
            change = " → ".join(v for v in (event.old, event.new) if v)
            typer.echo(
                f"{fmt_dt(event.at, 'id', tz)}  {event.kind:10} {who.name if who else '-'}"
                f" ({event.channel or '-'})  {change}  {event.note or ''}".rstrip()
            )
