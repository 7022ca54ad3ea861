"""`helpdesk report KIND --out FILE`: the reports of the web app, written to a file for
the SPBE evaluation without opening a browser.

The default period is the last full calendar month (an SPBE report covers a month, a
quarter or a year, not the 30 days before today). Bad input is one line on stderr:
exit status 2 for what the command line cannot mean (an unknown service, a file type
nobody writes), 1 for what went wrong doing it (a file that cannot be written)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from bot.cli._boot import build_helpdesk, fail, load_settings

#: what each file type gets: the document and, for .html, its printable PDF beside it
WRITERS = (".html", ".pdf", ".csv")


def _refuse(message: str) -> NoReturn:
    """A command line that cannot mean anything: a usage error, exit status 2."""
    typer.echo(message, err=True)
    raise typer.Exit(2)


def _period(
    today: date, period: str | None, date_from: str | None, date_to: str | None
) -> tuple[date, date]:
    from bot.i18n import t
    from bot.reports.period import PERIOD_WORDS, containing, last_full

    if period is not None:
        name = PERIOD_WORDS.get(period.lower())
        if name is None:
            _refuse(t("cli.report.bad_period_word", word=period))
        if date_to:
            _refuse(t("cli.report.period_and_to"))
        try:
            return (
                containing(name, date.fromisoformat(date_from))
                if date_from
                else last_full(name, today)
            )
        except ValueError as exc:
            fail(f"bad date: {exc} (use YYYY-MM-DD)")
    try:
        if not (date_from or date_to):
            return last_full("month", today)
        end = date.fromisoformat(date_to) if date_to else today
        start = date.fromisoformat(date_from) if date_from else end.replace(day=1)
    except ValueError as exc:
        fail(f"bad date: {exc} (use YYYY-MM-DD)")
    return start, end


def _write(path: Path, data: bytes) -> None:
    """One line, not a traceback, when the file cannot be written (no such directory,
    no permission, a directory of that name)."""
    from bot.i18n import t

    try:
        path.write_bytes(data)
    except OSError as exc:
        fail(t("cli.report.unwritable", path=str(path), reason=exc.strerror or str(exc)))


def report(
    kind: Annotated[
        str,
        typer.Argument(
            help="availability, evaluation, exception, catalogue, priority, sla, continuity, incidents, requests, complaints, review, problems, changes, or spbe-evidence"
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
        str | None,
        typer.Option(
            "--from", help="First day, YYYY-MM-DD (default: the first day of the last full month)"
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        typer.Option("--to", help="Last day, YYYY-MM-DD (default: today when --from is given)"),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="month, quarter or year: the last full one, or the one --from lies in",
        ),
    ] = None,
    service: Annotated[str | None, typer.Option(help="Only this service id")] = None,
) -> None:
    """Write a report (SPBE evidence) built from the records."""
    from zoneinfo import ZoneInfo

    from bot.i18n import t
    from bot.reports import build_report, to_csv, to_html, to_pdf
    from bot.reports.evidence import build_pack
    from bot.reports.registry import resolve_kind
    from storage.db import session_scope
    from storage.models import Service, utcnow

    settings = load_settings()
    now = utcnow()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    start, end = _period(today, period, date_from, date_to)
    if start > end:
        fail("--from is after --to")
    suffix = out.suffix.lower()
    evidence = kind == "spbe-evidence"
    name = None if evidence else resolve_kind(kind)
    if not evidence and name is None:
        fail(f"unknown report {kind!r}")
    allowed = (".zip",) if evidence else WRITERS
    if suffix not in allowed:
        _refuse(t("cli.report.bad_extension", suffix=suffix or "-", allowed=", ".join(allowed)))
    helpdesk = build_helpdesk(settings)
    with session_scope(helpdesk.engine) as s:
        if service is not None and s.get(Service, service) is None:
            _refuse(t("cli.report.unknown_service", service=service))
        if evidence:
            data = build_pack(
                s, start=start, end=end, tz=settings.timezone, now=now, settings=settings
            )
            _write(out, data)
            typer.echo(f"wrote {out}")
            return
        assert name is not None
        result = build_report(
            name, s, start=start, end=end, tz=settings.timezone, now=now, service_id=service
        )
    if suffix == ".csv":
        _write(out, to_csv(result).encode("utf-8"))
    elif suffix == ".pdf":
        _write(out, to_pdf(result))
    else:
        _write(out, to_html(result).encode("utf-8"))
        _write(out.with_suffix(".pdf"), to_pdf(result))
    typer.echo(f"wrote {out}")
