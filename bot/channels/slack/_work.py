"""The synchronous database work behind Slack's modals, App Home and summaries; each
function is one transaction, called with `asyncio.to_thread`. Rules stay in the core:
these functions call `bot.core` and render its refusals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.slack._blocks import home_view
from bot.core import catalog, people, tickets, usecases
from bot.core import summary as core_summary
from bot.core.errors import HelpdeskError
from bot.core.limits import Limits
from bot.core.roles import is_operator
from bot.i18n import norm_lang, t
from storage.db import session_scope
from storage.models import Conversation, Person, utcnow

CHANNEL = "slack"


def lang_of(person: Person | None) -> str:
    """The language a Slack user's answers are in (their person's, or the default)."""
    return norm_lang(person.lang if person else None)


def services(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return [(svc.id, svc.name) for svc in catalog.list_services(s)]


def conversation(engine: Engine, chat_id: str) -> tuple[str, dict[str, Any]]:
    """State and data of a DM conversation (read only)."""
    with Session(engine) as s:
        conv = s.exec(
            select(Conversation).where(
                Conversation.channel == CHANNEL, Conversation.chat_id == chat_id
            )
        ).first()
        return (conv.state, dict(conv.data or {})) if conv else ("idle", {})


@dataclass
class Outcome:
    """What to tell the user; `error` is a refusal (shown only to them)."""

    text: str
    error: bool = False
    number: str | None = None
    priority: int | None = None
    #: the chart exists (services are monitored): Slack shows it from our public URL
    chart: bool = False


def open_report(
    engine: Engine,
    user: str,
    name: str | None,
    chat_id: str,
    form: dict[str, str],
    limits: Limits | None = None,
    anonymous_channels: frozenset[str] = frozenset(),
) -> Outcome:
    """The report modal's submission: `usecases.open_report` checks it (with the limits
    and the anonymous channels every channel's reports get) and opens the ticket."""
    with session_scope(engine) as s:
        reporter = people.ensure_person(s, CHANNEL, user, name)
        lang = lang_of(reporter)
        try:
            report = usecases.ReportForm.from_fields(s, form)
            ticket = usecases.open_report(
                s,
                reporter,
                CHANNEL,
                chat_id,
                report,
                lang=lang,
                limits=limits,
                anonymous_channels=anonymous_channels,
            )
        except HelpdeskError as exc:
            return Outcome(usecases.refusal_text(exc, lang), error=True)
        text = t("slack.report_created", lang, number=ticket.number, priority=ticket.priority)
        return Outcome(text, number=ticket.number, priority=ticket.priority)


def resolve_gate(
    engine: Engine, user: str, number: str
) -> tuple[dict[str, str] | None, Outcome | None]:
    """May this person resolve the ticket now? The modal opens only if so; `resolve`
    asks `usecases.may_resolve` again when the modal comes back."""
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = lang_of(person)
        try:
            ticket = usecases.may_resolve(s, person, number)
        except HelpdeskError as exc:
            return None, Outcome(usecases.refusal_text(exc, lang), error=True)
        return {
            "number": ticket.number,
            "title": ticket.title,
            "type": ticket.type,
            "lang": lang,
        }, None


def resolve(engine: Engine, user: str, number: str, note: str, cause: str | None) -> Outcome:
    lang = "id"
    try:
        with session_scope(engine) as s:
            person = people.identify(s, CHANNEL, user)
            lang = lang_of(person)
            ticket = usecases.resolve(s, person, CHANNEL, number, note, cause)
            return Outcome(t("ticket.resolved", lang, number=ticket.number), number=ticket.number)
    except HelpdeskError as exc:
        return Outcome(usecases.refusal_text(exc, lang), error=True)


def home(engine: Engine, user: str, tz: str) -> dict[str, Any]:
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = lang_of(person)
        own = tickets.reported_by(s, person, open_only=True, limit=20) if person else []
        queue = (
            tickets.queue(s, person, limit=15)
            if person is not None and is_operator(person)
            else None
        )
        return home_view(lang, tz, own, queue, person.id if person else None)


def summary(engine: Engine, user: str, tz: str, argument: str = "") -> Outcome:
    """The core's status summary (the same as /ringkasan in every channel), role-checked."""
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = lang_of(person)
        now = utcnow()
        try:
            result = usecases.summary_for(s, person, now, tz, argument)
        except HelpdeskError as exc:
            return Outcome(usecases.refusal_text(exc, lang), error=True)
        return Outcome(
            core_summary.render(result, lang, tz, now), chart=bool(result.week_availability)
        )
