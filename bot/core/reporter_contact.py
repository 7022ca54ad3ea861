"""How operators reach a web chat visitor who reports without an account.

A Telegram, Slack or WhatsApp reporter can be answered where they wrote: the platform's
identity is the contact. A web chat session is a random cookie; once the browser is
closed nobody can call the reporter back. So an unlinked web reporter gives a name and an
e-mail address or a phone number, checked by `email-validator` and `phonenumbers` (region
ID: 0812…, +62 812… and 62812… are one number), and the ticket keeps them
(`Ticket.reporter_name`, `Ticket.reporter_contact`), as a ServiceNow caller's or a Zammad
customer's contact sits with the ticket's reporter.

The contact is unverified, so it never touches `Person.email` or `Person.phone` (those
link chat accounts to staff and make a reporter "linked"). It is shown to operators only
(`operator_line`), and the same session is not asked twice (`remembered`).
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from bot.core import people, web_sessions
from bot.core.errors import HelpdeskError
from bot.i18n import t
from storage.models import Person, Ticket

#: channels whose chat identity reaches nobody, so an unlinked reporter is asked
ASKING_CHANNELS = frozenset({web_sessions.CHANNEL})
#: numbers written without a country code are Indonesian
PHONE_REGION = "ID"
MIN_NAME = 2
MAX_NAME = 100


@dataclass(frozen=True)
class ReporterContact:
    """A name and one way back: an e-mail address (normalised) or a phone number (E.164)."""

    name: str
    contact: str

    @property
    def is_email(self) -> bool:
        return "@" in self.contact

    def shown(self) -> str:
        """The contact as people read it: a number grouped as +62 812-3456-7890."""
        return self.contact if self.is_email else phone_shown(self.contact)


def needed(channel: str | None, person: Person | None) -> bool:
    """Whether a report from this chat must say how to reach its reporter."""
    return channel in ASKING_CHANNELS and not people.is_linked(person)


def parse_name(raw: str) -> str:
    """The name with its spaces tidied; refused when empty, too long or without a letter."""
    name = " ".join(raw.split())
    if not (MIN_NAME <= len(name) <= MAX_NAME) or not any(c.isalpha() for c in name):
        raise HelpdeskError("reporter_contact.name_invalid", min=MIN_NAME, max=MAX_NAME)
    return name


def parse_contact(raw: str) -> str:
    """An e-mail address (when it has an @) or a phone number, normalised; a refusal that
    says which of the two was wrong."""
    text = raw.strip()
    if "@" in text:
        try:  # no DNS look-up: the syntax and the domain's form only, no waiting on the net
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError:
            raise HelpdeskError("reporter_contact.email_invalid", text=text[:80]) from None
    try:
        number = phonenumbers.parse(text, PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise HelpdeskError("reporter_contact.invalid", text=text[:80]) from None
    if not phonenumbers.is_valid_number(number):
        raise HelpdeskError("reporter_contact.phone_invalid", text=text[:80])
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_shown(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def remembered(session: Session, channel: str, chat_id: str) -> ReporterContact | None:
    """What this chat gave with its last report (the session's own tickets), if anything."""
    row = session.exec(
        select(Ticket)
        .where(Ticket.reporter_channel == channel, Ticket.reporter_chat_id == chat_id)
        .where(col(Ticket.reporter_contact).is_not(None))
        .order_by(col(Ticket.id).desc())
        .limit(1)
    ).first()
    return of_ticket(row) if row is not None else None


def of_ticket(ticket: Ticket) -> ReporterContact | None:
    if not ticket.reporter_contact:
        return None
    return ReporterContact(ticket.reporter_name or "", ticket.reporter_contact)


def operator_line(ticket: Ticket, lang: str) -> str | None:
    """The reporter's name and contact for a text only operators get (an alert, the
    assignee's notice, the ticket's detail shown to an operator); None when there is none."""
    given = of_ticket(ticket)
    if given is None:
        return None
    return t("reporter_contact.operator_line", lang, name=given.name or "-", contact=given.shown())
