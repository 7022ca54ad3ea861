"""`helpdesk change new|list|show|approve|reject|result|review|release`: change requests
from a terminal, through the same core functions as the chat (bot.core.changes,
change_results, releases), with the same refusals.

`--as EMAIL` names the person acting; `new`, `result`, `review` and `release` without it
are the CLI itself (an admin at the server). Decisions always need a person: an approval
records who gave it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli._boot import build_helpdesk, fail

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.runtime import Helpdesk
    from storage.models import Person

change_app = typer.Typer(help="Change requests (permintaan perubahan).", no_args_is_help=True)

AsOption = Annotated[str | None, typer.Option("--as", help="e-mail of the person acting")]


def _when(text: str, tz: str) -> datetime:
    from zoneinfo import ZoneInfo

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"bad time {text!r} (use YYYY-MM-DDTHH:MM, local time)")
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))


@change_app.command("new")
def new(
    service: Annotated[str, typer.Option(help="service id, e.g. vpn")],
    kind: Annotated[str, typer.Option(help="standar, normal or darurat")],
    description: Annotated[str, typer.Option(help="what changes and why")],
    impact: Annotated[str, typer.Option(help="impact on users and other services")],
    plan: Annotated[str, typer.Option(help="implementation plan")],
    test_functional: Annotated[str, typer.Option(help="functional test evidence")],
    test_security: Annotated[str, typer.Option(help="security test evidence")],
    test_performance: Annotated[str, typer.Option(help="performance test evidence")],
    rollback: Annotated[str, typer.Option(help="rollback plan")],
    start: Annotated[str, typer.Option(help="window start, YYYY-MM-DDTHH:MM (local)")],
    end: Annotated[str, typer.Option(help="window end, YYYY-MM-DDTHH:MM (local)")],
    risk: Annotated[str, typer.Option(help="rendah, sedang or tinggi")] = "sedang",
    as_: AsOption = None,
) -> None:
    """Record a change request (refused when its window clashes); an emergency one may
    have begun already, and its review is due N working days after its window."""
    from bot.core import changes
    from bot.i18n import fmt_dt
    from storage.models import utcnow

    helpdesk = build_helpdesk()
    tz = helpdesk.settings.timezone
    form = changes.ChangeForm(
        service_id=service, kind=kind, description=description, risk=risk, impact=impact,
        plan=plan, test_functional=test_functional, test_security=test_security,
        test_performance=test_performance, rollback_plan=rollback, start=_when(start, tz),
        end=_when(end, tz),
    )  # fmt: skip
    with _session(helpdesk) as s:
        change = changes.raise_change(s, _person(s, as_), "cli", form, now=utcnow())
        typer.echo(f"{change.number}  {change.state}")
        if change.review_due_at is not None:  # an emergency change: reviewed afterwards
            typer.echo(f"review due {fmt_dt(change.review_due_at, 'id', tz)}")


@change_app.command("list")
def list_changes() -> None:
    """The latest change requests."""
    from bot.core import changes
    from bot.i18n import fmt_dt
    from storage.db import session_scope

    helpdesk = build_helpdesk()
    tz = helpdesk.settings.timezone
    with session_scope(helpdesk.engine) as s:
        for c in changes.listing(s, limit=100):
            typer.echo(
                f"{c.number}  {c.kind:8} {c.state:13} {c.service_id:12} "
                f"{fmt_dt(c.planned_start, 'id', tz)} – {fmt_dt(c.planned_end, 'id', tz)}  {c.title}"
            )


@change_app.command("show")
def show(number: str) -> None:
    """A change request with its approvals and its history."""
    from bot.core import change_posts, changes
    from bot.i18n import fmt_dt
    from storage.models import Person

    helpdesk = build_helpdesk()
    tz = helpdesk.settings.timezone
    with _session(helpdesk) as s:
        change = changes.find(s, number)
        text, _ = change_posts.render(s, change, "id", tz)
        typer.echo(text)
        for ev in changes.history(s, change):
            arrow = f"{ev.old or ''} → {ev.new or ''}" if ev.old or ev.new else ""
            actor = s.get(Person, ev.actor_id) if ev.actor_id else None
            typer.echo(
                f"  {fmt_dt(ev.at, 'id', tz)}  {ev.kind:8} {arrow}  "
                f"[{ev.channel or '-'}, {actor.name if actor else '-'}] {ev.note or ''}".rstrip()
            )


@change_app.command("approve")
def approve(number: str, as_: AsOption = None, note: Annotated[str, typer.Option()] = "") -> None:
    """Approve as a koordinator layanan or the service's pengelola layanan."""
    _decide(number, as_, "setuju", note)


@change_app.command("reject")
def reject(
    number: str,
    reason: Annotated[str, typer.Option(help="why it is rejected")],
    as_: AsOption = None,
) -> None:
    """Reject, with the reason the requester is told."""
    _decide(number, as_, "tolak", reason)


def _decide(number: str, email: str | None, decision: str, note: str) -> None:
    from bot.core import changes
    from storage.models import utcnow

    if not email:
        fail("--as EMAIL is required: a decision records who made it")
    with _session(build_helpdesk()) as s:
        person = _person(s, email)
        assert person is not None
        change = changes.find(s, number)
        change = changes.decide(s, change.id or 0, person, "cli", decision, note=note, now=utcnow())
        typer.echo(f"{change.number}  {change.state}")


#: the chat's words for a result, and the English ones an operator may type
RESULT_WORDS = {
    "berhasil": "berhasil", "success": "berhasil", "succeeded": "berhasil",
    "gagal": "gagal", "failed": "gagal",
    "dibatalkan": "dibatalkan", "cancelled": "dibatalkan", "canceled": "dibatalkan",
    "dikembalikan": "dikembalikan", "rolled_back": "dikembalikan", "rollback": "dikembalikan",
}  # fmt: skip


@change_app.command("result")
def result(
    number: str,
    result_: Annotated[
        str,
        typer.Option("--result", help="berhasil, gagal, dibatalkan or dikembalikan (rolled_back)"),
    ],
    note: Annotated[str, typer.Option(help="what happened")] = "",
    as_: AsOption = None,
) -> None:
    """Record how an approved change went (a cancelled one gives its window back)."""
    from bot.core import change_results, changes
    from storage.models import utcnow

    word = RESULT_WORDS.get(result_.strip().lower(), result_.strip().lower())
    with _session(build_helpdesk()) as s:
        change = changes.find(s, number)
        change = change_results.record_result(
            s, change, _person(s, as_), "cli", word, note=note, now=utcnow()
        )
        typer.echo(f"{change.number}  {change.state}  {change.result}")


@change_app.command("review")
def review(
    number: str,
    text: Annotated[str, typer.Option("--text", help="the post-implementation review")],
    as_: AsOption = None,
) -> None:
    """The post-implementation review (kaji ulang) of a change whose result is recorded."""
    from bot.core import change_results, changes
    from storage.models import utcnow

    with _session(build_helpdesk()) as s:
        change = changes.find(s, number)
        change = change_results.record_review(s, change, _person(s, as_), "cli", text, now=utcnow())
        typer.echo(f"{change.number}  {change.state}")


@change_app.command("release")
def release(
    number: str,
    notes: Annotated[str, typer.Option(help="release notes for users, in Indonesian")],
    sop: Annotated[str, typer.Option(help="URL of the service's SOP as it now works")],
    notes_en: Annotated[str, typer.Option(help="release notes in English")] = "",
    as_: AsOption = None,
) -> None:
    """Publish the release of a change carried out successfully (owners and subscribers
    are told through the outbox)."""
    from bot.core import changes, releases
    from storage.models import utcnow

    with _session(build_helpdesk()) as s:
        change = changes.find(s, number)
        published = releases.publish(
            s, change, _person(s, as_), "cli", notes_id=notes, notes_en=notes_en, sop_url=sop,
            now=utcnow(),
        )  # fmt: skip
        typer.echo(f"{change.number}  release #{published.id}")


def _person(session: Session, email: str | None) -> Person | None:
    from sqlmodel import select

    from storage.models import Person

    if not email:
        return None
    person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
    if person is None:
        fail(f"no person with e-mail {email}")
    return person


@contextmanager
def _session(helpdesk: Helpdesk) -> Iterator[Session]:
    """A transaction whose refusals end the command with their text and status 1."""
    from bot.core.errors import HelpdeskError
    from bot.i18n import t
    from storage.db import session_scope

    try:
        with session_scope(helpdesk.engine) as s:
            yield s
    except HelpdeskError as exc:
        typer.echo(t(exc.key, **exc.params), err=True)
        raise typer.Exit(1) from None
