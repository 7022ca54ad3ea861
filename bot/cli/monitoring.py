"""`helpdesk maintenance …` and `helpdesk availability`: the same core functions the chat
uses, for coordinators at a terminal and for scripts."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli._boot import build_helpdesk

maintenance_app = typer.Typer(help="Maintenance windows (pemeliharaan).", no_args_is_help=True)


@maintenance_app.command("schedule")
def schedule(
    services: Annotated[str, typer.Argument(help="service ids, comma-separated: vpn,email")],
    when: Annotated[str, typer.Argument(help='as people write it: "Sabtu 14 Des 22.00–02.00"')],
    impact: Annotated[str, typer.Option(help="what users should expect")] = "",
) -> None:
    """Schedule a window; refused when it overlaps another window of the same service."""
    from bot.core import maintenance
    from bot.core.errors import HelpdeskError
    from bot.core.when import parse_span
    from bot.i18n import t
    from storage.db import session_scope
    from storage.models import utcnow

    helpdesk = build_helpdesk()
    tz = helpdesk.settings.timezone
    now = utcnow()
    try:
        span = parse_span(when, now, tz)
        with session_scope(helpdesk.engine) as s:
            window = maintenance.schedule(
                s,
                None,
                [x.strip() for x in services.split(",") if x.strip()],
                span.start,
                span.end,
                impact or span.rest,
                now=now,
                tz=tz,
            )
            typer.echo(t("maintenance.scheduled", **maintenance.describe(s, window, "id", tz)))
    except HelpdeskError as exc:
        typer.echo(t(exc.key, **exc.params), err=True)
        raise typer.Exit(1) from None


@maintenance_app.command("list")
def list_windows() -> None:
    """Windows not over yet."""
    from bot.core import maintenance
    from storage.db import session_scope
    from storage.models import utcnow

    helpdesk = build_helpdesk()
    with session_scope(helpdesk.engine) as s:
        for w in maintenance.upcoming(s, utcnow(), limit=100):
            d = maintenance.describe(s, w, "id", helpdesk.settings.timezone)
            typer.echo(
                f"#{d['id']:>4}  {d['start']} – {d['end']}  {d['services']}  ({d['impact']})"
            )


# No docstring: it would become the command's help text, which stays as it was.
@maintenance_app.command("cancel")
def cancel(window_id: int) -> None:
    from bot.core import maintenance
    from bot.core.errors import HelpdeskError
    from bot.i18n import t
    from storage.db import session_scope
    from storage.models import utcnow

    helpdesk = build_helpdesk()
    try:
        with session_scope(helpdesk.engine) as s:
            maintenance.cancel(s, None, window_id, now=utcnow(), tz=helpdesk.settings.timezone)
    except HelpdeskError as exc:
        typer.echo(t(exc.key, **exc.params), err=True)
        raise typer.Exit(1) from None
    typer.echo(t("maintenance.cancelled_done", id=window_id))


def availability_report() -> None:
    """Availability of each monitored service today, this week and this month (tanpa / dengan pemeliharaan)."""
    from sqlmodel import Session

    from bot.core import availability
    from storage.models import utcnow

    helpdesk = build_helpdesk()
    tz = helpdesk.settings.timezone
    now = utcnow()
    with Session(helpdesk.engine) as s:
        for period in availability.periods(now, tz):
            figs = availability.figures(s, period.start, period.end, now, tz)
            for sid, f in sorted(figs.items()):
                without = "-" if f.without_maintenance is None else f"{f.without_maintenance:.3f}"
                with_ = "-" if f.with_maintenance is None else f"{f.with_maintenance:.3f}"
                flag = "" if f.meets_target is not False else "  BELOW TARGET"
                typer.echo(
                    f"{period.name:5} {sid:16} {without:>8}% {with_:>8}%  target {f.target:g}%{flag}"
                )
