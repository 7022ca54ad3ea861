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

    from bot.core import availability, catalog
    from bot.i18n import fmt_number, t
    from storage.models import utcnow

    helpdesk = build_helpdesk()
    tz = helpdesk.settings.timezone
    now = utcnow()
    with Session(helpdesk.engine) as s:
        services = catalog.list_services(s)
        monitored: set[str] = set()
        for period in availability.periods(now, tz):
            figs = availability.figures(s, period.start, period.end, now, tz)
            monitored |= set(figs)
            for sid, f in sorted(figs.items()):
                mark = t("cli.availability.below_target") if f.meets_target is False else ""
                typer.echo(
                    t(
                        "cli.availability.line",
                        period=f"{period.name:5}",
                        service=f"{sid:16}",
                        without=f"{fmt_number(f.without_maintenance, None, 3):>8}",
                        with_maint=f"{fmt_number(f.with_maintenance, None, 3):>8}",
                        target=fmt_number(f.target, None, 1),
                        mark=mark,
                    )
                )
    if not monitored:
        typer.echo(t("cli.availability.none_monitored"))
        return
    rest = [svc.id for svc in services if svc.id not in monitored]
    if rest:
        typer.echo(t("cli.availability.unmonitored", services=", ".join(rest)))
