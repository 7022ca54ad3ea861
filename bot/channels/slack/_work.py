"""The synchronous database work behind Slack's modals, App Home and summaries; each
function is one transaction, called with `asyncio.to_thread`. Rules stay in the core:
these functions call `bot.core` and render its refusals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.slack._blocks import home_view
from bot.core import catalog, people, tickets
from bot.core import summary as core_summary
from bot.core.errors import HelpdeskError
from bot.core.roles import is_operator
from bot.core.tickets import Actor
from bot.i18n import norm_lang, t
from storage.db import session_scope
from storage.models import Conversation, Person, Service, utcnow

CHANNEL = "slack"


def _lang(person: Person | None) -> str:
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
    engine: Engine, user: str, name: str | None, chat_id: str, form: dict[str, str]
) -> Outcome:
    with session_scope(engine) as s:
        reporter = people.ensure_person(s, CHANNEL, user, name)
        lang = _lang(reporter)
        service_id = form.get("service") or None
        if service_id and s.get(Service, service_id) is None:
            service_id = None
        type_ = form.get("type") if form.get("type") in tickets.TYPES else "gangguan"
        description = form.get("description", "").strip()
        ticket = tickets.open_ticket(
            s,
            type_=type_,
            title=description.splitlines()[0][:80] if description else t(f"type.{type_}", lang),
            description=description,
            service_id=service_id,
            impact=int(form.get("impact") or 3),
            urgency=int(form.get("urgency") or 3),
            reporter=reporter,
            channel=CHANNEL,
            chat_id=chat_id,
        )
        text = t("slack.report_created", lang, number=ticket.number, priority=ticket.priority)
        return Outcome(text, number=ticket.number, priority=ticket.priority)


def resolve_gate(
    engine: Engine, user: str, number: str
) -> tuple[dict[str, str] | None, Outcome | None]:
    """May this person resolve the ticket now? The modal opens only if so; the resolve
    itself checks again in `tickets.resolve`."""
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = _lang(person)
        if not is_operator(person):
            return None, Outcome(t("auth.operator_only", lang), error=True)
        try:
            ticket = tickets.find(s, number, person)
        except HelpdeskError as exc:
            return None, Outcome(t(exc.key, lang, **exc.params), error=True)
        if ticket.state not in tickets.OPEN_STATES:
            state = t(f"state.{ticket.state}", lang)
            return None, Outcome(
                t("ticket.not_open", lang, number=ticket.number, state=state), error=True
            )
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
            lang = _lang(person)
            ticket = tickets.find(s, number, person, for_update=True)
            tickets.resolve(
                s, ticket, Actor(person, CHANNEL), resolution=note, root_cause=cause or None
            )
            return Outcome(t("ticket.resolved", lang, number=ticket.number), number=ticket.number)
    except HelpdeskError as exc:
        return Outcome(t(exc.key, lang, **exc.params), error=True)


def home(engine: Engine, user: str, tz: str) -> dict[str, Any]:
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = _lang(person)
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
        lang = _lang(person)
        if not core_summary.may_ask(person):
            return Outcome(t("summary.not_allowed", lang), error=True)
        now = utcnow()
        result = core_summary.build(s, now, tz, argument)
        return Outcome(
            core_summary.render(result, lang, tz, now), chart=bool(result.week_availability)
        )
