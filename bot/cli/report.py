"""`helpdesk report KIND --out FILE`: the reports of the web app, written to a file for
the SPBE evaluation without opening a browser."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from bot.cli._boot import build_helpdesk, fail, load_settings


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
    from storage.db import session_scope
    from storage.models import utcnow

    settings = load_settings()
    now = utcnow()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    try:
        end = date.fromisoformat(date_to) if date_to else today
        start = date.fromisoformat(date_from) if date_from else end - timedelta(days=29)
    except ValueError as exc:
        fail(f"bad date: {exc} (use YYYY-MM-DD)")
    if start > end:
        fail("--from is after --to")
    helpdesk = build_helpdesk(settings)
    with session_scope(helpdesk.engine) as s:
        if kind == "spbe-evidence":
            out.write_bytes(
                build_pack(
                    s, start=start, end=end, tz=settings.timezone, now=now, settings=settings
                )
            )
            typer.echo(f"wrote {out}")
            return
        name = resolve_kind(kind)
        if name is None:
            fail(f"unknown report {kind!r}")
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
