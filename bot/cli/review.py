"""`helpdesk review …`: the review cycle (SPBE levels 4 and 5) at a terminal, through the
same core functions as `/reviu` in chat. The terminal is an administrator's: no role is
checked, and `--by EMAIL` names who acted, for the record (else the record says the CLI)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bot.cli._boot import build_helpdesk, fail

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.runtime import Helpdesk
    from storage.models import Person

review_app = typer.Typer(
    help="Periodic reviews (reviu) and their follow-up actions.", no_args_is_help=True
)
CHANNEL = "cli"
T = TypeVar("T")

By = Annotated[str | None, typer.Option("--by", help="e-mail of who acts, for the record")]


@contextmanager
def _session() -> Iterator[tuple[Session, Helpdesk]]:
    """A transaction; a refusal of the core is printed in Indonesian, exit status 1."""
    from bot.core.errors import HelpdeskError
    from bot.i18n import t
    from storage.db import session_scope

    helpdesk = build_helpdesk()
    try:
        with session_scope(helpdesk.engine) as s:
            yield s, helpdesk
    except HelpdeskError as exc:
        fail(t(exc.key, **exc.params))


def _person(session: Session, email: str | None) -> Person | None:
    from bot.core import reviews

    return reviews.find_people(session, email)[0] if email else None


def _run(work: Callable[[Session, Helpdesk], T]) -> T:
    with _session() as (s, helpdesk):
        return work(s, helpdesk)


@review_app.command("open")
def open_(
    period: Annotated[
        list[str], typer.Argument(help="2026-11, 2026-Q4, or two dates: 2026-10-01 2026-10-31")
    ],
    by: By = None,
) -> None:
    """Open the review of a period that is over: freezes its figures, invites the
    coordinators and service managers."""
    from bot.core import reviews
    from bot.i18n import t
    from storage.models import utcnow

    def work(s: Session, helpdesk: Helpdesk) -> str:
        start, end = reviews.parse_period(" ".join(period))
        review = reviews.open_review(
            s,
            _person(s, by),
            start,
            end,
            now=utcnow(),
            tz=helpdesk.settings.timezone,
            channel=CHANNEL,
        )
        return t("review.opened", id=review.id, period=reviews.label(review))

    typer.echo(_run(work))


@review_app.command("list")
def list_reviews() -> None:
    """Every review, newest first."""
    from sqlmodel import col, select

    from bot.core import reviews
    from storage.models import Review

    def work(s: Session, _: Helpdesk) -> list[str]:
        return [
            f"#{r.id:>4}  {reviews.label(r)}  {r.state}"
            for r in s.exec(select(Review).order_by(col(Review.id).desc()))
        ]

    for line in _run(work):
        typer.echo(line)


@review_app.command("show")
def show(review_id: str) -> None:
    """A review's record: attendees, findings, decisions with their actions' states."""
    from bot.core import reviews
    from bot.i18n import fmt_dt, t
    from storage.models import Person

    def work(s: Session, helpdesk: Helpdesk) -> list[str]:
        review = reviews.find(s, None, review_id)
        rid = review.id or 0
        lines = [
            t(
                "review.header",
                id=rid,
                period=reviews.label(review),
                state=t(f"review.state.{review.state}"),
                opened=fmt_dt(review.opened_at, tz=helpdesk.settings.timezone),
            ),
            t(
                "review.attendees",
                names=", ".join(p.name for p in reviews.attendees(s, rid)) or "-",
            ),
        ]
        found = reviews.findings(s, rid)
        lines.append(t("review.findings", n=len(found)))
        lines += [f"{n}. {f.text}" for n, f in enumerate(found, start=1)]
        acts = reviews.actions(s, rid)
        lines.append(t("review.decisions", n=len(acts)))
        for a in acts:
            owner = s.get(Person, a.owner_id)
            lines.append(
                t(
                    "review.action_line",
                    id=a.id,
                    decision=a.decision,
                    owner=owner.name if owner else "-",
                    due=a.due_on.isoformat(),
                    state=t(f"review.state.{a.state}"),
                    mark="",
                )
            )
        return lines

    for line in _run(work):
        typer.echo(line)


@review_app.command("attend")
def attend(
    review_id: str,
    people: Annotated[str, typer.Argument(help="e-mails or names, comma-separated")],
    by: By = None,
) -> None:
    """Record who attended the review meeting."""
    from bot.core import reviews
    from bot.i18n import t
    from storage.models import utcnow

    def work(s: Session, _: Helpdesk) -> str:
        review = reviews.find(s, None, review_id, for_update=True)
        actor = _person(s, by)
        added = [
            p.name
            for p in reviews.find_people(s, people)
            if reviews.add_attendee(s, actor, review, p, now=utcnow(), channel=CHANNEL)
        ]
        return t("review.attendees_added", names=", ".join(added) or "-")

    typer.echo(_run(work))


@review_app.command("finding")
def finding(
    review_id: str,
    text: str,
    service: Annotated[str | None, typer.Option(help="the service it is about (id)")] = None,
    by: By = None,
) -> None:
    """Record a finding of the review."""
    from bot.core import reviews
    from bot.i18n import t
    from storage.models import utcnow

    def work(s: Session, _: Helpdesk) -> str:
        review = reviews.find(s, None, review_id, for_update=True)
        reviews.add_finding(
            s, _person(s, by), review, text, service_id=service, now=utcnow(), channel=CHANNEL
        )
        return t("review.finding_added", id=review.id)

    typer.echo(_run(work))


@review_app.command("decide")
def decide(
    review_id: str,
    text: str,
    owner: Annotated[str, typer.Option(help="e-mail of the action's owner")],
    due: Annotated[str, typer.Option(help="due date, YYYY-MM-DD")],
    target: Annotated[
        str, typer.Option(help="a service id, a ticket number or a free reference")
    ] = "-",
    by: By = None,
) -> None:
    """Record a decision: it becomes a follow-up action for its owner."""
    from bot.core import reviews
    from bot.i18n import t
    from storage.models import utcnow

    def work(s: Session, helpdesk: Helpdesk) -> str:
        due_on = reviews.parse_due(due, utcnow(), helpdesk.settings.timezone)
        review = reviews.find(s, None, review_id, for_update=True)
        person = reviews.find_people(s, owner)[0]
        action = reviews.add_decision(
            s,
            _person(s, by),
            review,
            text,
            person,
            due_on,
            target=reviews.parse_target(s, target),
            now=utcnow(),
            tz=helpdesk.settings.timezone,
            channel=CHANNEL,
        )
        return t("review.decision_added", id=action.id, owner=person.name)

    typer.echo(_run(work))


@review_app.command("action")
def action(
    action_id: str,
    state: Annotated[str, typer.Argument(help="dikerjakan, selesai or dibatalkan")],
    note: Annotated[str | None, typer.Option(help="why, for the record")] = None,
    by: By = None,
) -> None:
    """Move a follow-up action to another state."""
    from bot.core import review_actions
    from bot.i18n import t
    from storage.models import utcnow

    def work(s: Session, _: Helpdesk) -> str:
        moved = review_actions.change_state(
            s, _person(s, by), action_id, state.lower(), now=utcnow(), channel=CHANNEL, note=note
        )
        return t("review.action_moved", id=moved.id, state=t(f"review.state.{moved.state}"))

    typer.echo(_run(work))


@review_app.command("close")
def close(review_id: str, by: By = None) -> None:
    """Close a review whose record is complete (attendees, findings, decisions)."""
    from bot.core import reviews
    from bot.i18n import t
    from storage.models import utcnow

    def work(s: Session, _: Helpdesk) -> str:
        review = reviews.find(s, None, review_id, for_update=True)
        reviews.close(s, _person(s, by), review, now=utcnow(), channel=CHANNEL)
        return t("review.closed_done", id=review.id)

    typer.echo(_run(work))
