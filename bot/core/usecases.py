"""What a person does with the service desk, the same way from every interface.

The chat flows (Telegram, web chat, console), Slack's modals, App Home and commands, and
the CLI call these functions instead of re-checking roles, ticket states, the minimum
note length or building ticket titles themselves: a rule changed here changes for every
interface at once, and no interface can forget one.

Each function takes the caller's open `Session` (the caller owns the transaction), the
person acting (`None` is an unknown user, a pengguna) and, where it matters, the channel
and the time; it returns plain results (a `Ticket`, a `Summary`) or raises the core's
`HelpdeskError` (`NotAllowed`, `NotFound`, `InvalidTransition`) with the same text keys
the interfaces showed before. `refusal_text` renders such a refusal for the person.
Prompting, buttons and layout stay in the interfaces.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlmodel import Session

from bot.core import reporter_contact, summary, tickets, triage
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed, NotFound
from bot.core.limits import Limits, check_ticket
from bot.core.reporter_contact import ReporterContact
from bot.core.roles import is_operator
from bot.core.ticket_states import GANGGUAN, MIN_NOTE, OPEN_STATES, STATES, TYPES
from bot.core.tickets import Actor
from bot.i18n import t
from storage.models import Person, Service, Ticket, utcnow

__all__ = [
    "LEVELS",
    "MIN_DESCRIPTION",
    "MIN_NOTE",
    "TITLE_LENGTH",
    "ReportForm",
    "description_ok",
    "may_resolve",
    "may_summarise",
    "note_ok",
    "open_report",
    "refusal_text",
    "resolve",
    "summary_for",
    "ticket_title",
]

#: shortest description of a report: fewer characters tell the operator nothing.
MIN_DESCRIPTION: Final = 5
#: a ticket's title is the first line of its description, cut to this length.
TITLE_LENGTH: Final = 80
#: impact and urgency: 1 (high) to 3 (low), as the priority matrix takes them.
LEVELS: Final = (1, 2, 3)


def description_ok(text: str | None) -> bool:
    """Long enough for a report (the prompts ask again, the modal marks the field)."""
    return len((text or "").strip()) >= MIN_DESCRIPTION


def note_ok(text: str | None) -> bool:
    """Long enough for a resolution note or a root cause (`tickets.resolve` insists on the
    note; the prompts ask the same of the root cause)."""
    return len((text or "").strip()) >= MIN_NOTE


def ticket_title(description: str, type_: str, lang: str | None = None) -> str:
    """The first line of the description, so lists and alerts read like the report;
    without a description, the type's name in the reporter's language."""
    text = description.strip()
    return text.splitlines()[0][:TITLE_LENGTH] if text else t(f"type.{type_}", lang)


# --- reporting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportForm:
    """A report as an interface collected it: the guided chat step by step, a Slack modal
    at once. `service_id=None` is "no particular service"."""

    type: str
    description: str
    service_id: str | None = None
    impact: int = 3
    urgency: int = 3
    #: how to reach a reporter whose chat reaches nobody (bot.core.reporter_contact)
    contact: ReporterContact | None = None

    @classmethod
    def from_fields(cls, session: Session, fields: Mapping[str, str]) -> ReportForm:
        """A submitted form's text values (Slack's report modal). A blank or stale choice
        falls back to the form's initial one, as the modal showed it: an incident, no
        service (one removed from the catalogue since the form opened), level 3."""
        type_ = fields.get("type") or ""
        service_id = fields.get("service") or None
        if service_id and session.get(Service, service_id) is None:
            service_id = None
        return cls(
            type=type_ if type_ in TYPES else GANGGUAN,
            description=fields.get("description") or "",
            service_id=service_id,
            impact=_level(fields.get("impact")),
            urgency=_level(fields.get("urgency")),
        )


def _level(value: str | None) -> int:
    """A level typed into a form; garbage becomes 0, which `open_report` refuses."""
    try:
        return int(value or 3)
    except ValueError:
        return 0


def open_report(
    session: Session,
    reporter: Person | None,
    channel: str,
    chat_id: str | None,
    form: ReportForm,
    *,
    lang: str | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
    address: str | None = None,
    anonymous_channels: Collection[str] = frozenset(),
) -> Ticket:
    """Open the ticket a person reported, after checking the form as a whole (the guided
    chat checks each answer as it comes; this is the last word for every interface).
    The title is built here, in `lang` (default: the reporter's), so a report reads the
    same wherever it was made.

    Reports are limited per reporter and per client `address` (`limits`, default
    `Limits()`; operators, who file on others' behalf, are not limited per person), and a
    P1/P2 of a reporter not linked to a known person, made on one of the
    `anonymous_channels` (anyone may chat there without an account: the web chat), waits
    for an operator's triage instead of paging."""
    if form.type not in TYPES or form.impact not in LEVELS or form.urgency not in LEVELS:
        raise HelpdeskError("report.incomplete")
    description = form.description.strip()
    if len(description) < MIN_DESCRIPTION:
        raise HelpdeskError("report.description_short", n=MIN_DESCRIPTION)
    if form.service_id is not None and session.get(Service, form.service_id) is None:
        raise NotFound("report.service_not_found", text=form.service_id)
    now = now or utcnow()
    check_ticket(
        session,
        limits or Limits(),
        None if reporter is None or is_operator(reporter) else reporter.id,
        address,
        now,
    )
    if lang is None and reporter is not None:
        lang = reporter.lang
    return tickets.open_ticket(
        session,
        type_=form.type,
        title=ticket_title(description, form.type, lang),
        description=description,
        service_id=form.service_id,
        impact=form.impact,
        urgency=form.urgency,
        reporter=reporter,
        channel=channel,
        chat_id=chat_id,
        triage=triage.needed(reporter, channel, anonymous_channels),
        contact=form.contact if reporter_contact.needed(channel, reporter) else None,
        now=now,
    )


# --- resolving ----------------------------------------------------------------------------


def may_resolve(
    session: Session, person: Person | None, number: str, *, for_update: bool = False
) -> Ticket:
    """The ticket `person` may resolve now, or the refusal: no number
    (`usage.number_needed`), not an operator (`auth.operator_only`, asked before the
    ticket is looked up, so numbers cannot be probed), no such ticket
    (`ticket.not_found`), no longer open (`ticket.not_open` with its number and state).

    Interfaces ask before they prompt for the note (chat) or open the modal (Slack);
    `resolve` asks again, since the ticket may have changed in between.
    `for_update` locks the ticket's row for the change that follows."""
    if not number.strip():
        raise HelpdeskError("usage.number_needed")
    if not is_operator(person):
        raise NotAllowed("auth.operator_only")
    ticket = tickets.find(session, number, person, for_update=for_update)
    if ticket.state not in OPEN_STATES:
        raise InvalidTransition("ticket.not_open", number=ticket.number, state=ticket.state)
    return ticket


def resolve(
    session: Session,
    person: Person | None,
    channel: str | None,
    number: str,
    note: str,
    cause: str | None = None,
    *,
    now: datetime | None = None,
) -> Ticket:
    """Resolve ticket `number` with the note (and, for an incident, its root cause);
    `tickets.resolve` enforces the note's minimum and the root cause. Returns the ticket."""
    ticket = may_resolve(session, person, number, for_update=True)
    tickets.resolve(
        session, ticket, Actor(person, channel), resolution=note, root_cause=cause, now=now
    )
    return ticket


# --- the status summary -------------------------------------------------------------------


def may_summarise(person: Person | None) -> bool:
    """Coordinators, service managers and admins (interfaces use it to offer the command)."""
    return summary.may_ask(person)


def summary_for(
    session: Session, person: Person | None, now: datetime, tz: str, scope: str = ""
) -> summary.Summary:
    """The status summary (`/ringkasan`), narrowed to `scope` (a service or provider unit,
    empty for everything); refused with `summary.not_allowed` to anyone else."""
    if not may_summarise(person):
        raise NotAllowed("summary.not_allowed")
    return summary.build(session, now, tz, scope)


# --- refusals -----------------------------------------------------------------------------


def refusal_text(exc: HelpdeskError, lang: str | None) -> str:
    """A refusal in the person's language. A ticket state in it (`ticket.not_open`) is
    shown by its name in that language, not by its stored value."""
    params = dict(exc.params)
    if params.get("state") in STATES:
        params["state"] = t(f"state.{params['state']}", lang)
    return t(exc.key, lang, **params)
