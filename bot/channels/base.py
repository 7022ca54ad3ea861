"""The pieces every chat channel adapter shares, because every platform needs them the
same way: platforms redeliver (first-delivery dedupe in the database), cap message
lengths in their own units (`split_text` with a length measure), and know users by their
own ids (language, choices from outbox payloads, linking a platform account to a known
person by e-mail).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import people
from bot.dialogue.messages import Choice
from bot.i18n import norm_lang
from storage.db import insert_for, session_scope
from storage.models import Identity, InboundEvent, Person, utcnow

log = logging.getLogger(__name__)

#: the length of a text in a platform's own units (characters, UTF-16 code units, …)
Measure = Callable[[str], int]
#: dedupe keys are cut to the column's length
KEY_LENGTH = 200


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def first_delivery(db: Engine | Session, channel: str, key: str) -> bool:
    """Record a platform delivery (Telegram update id, Slack event id); False when it was
    recorded before, by this replica or another. Given a session, the record is part of
    that transaction (rolled back with it); given an engine, it is its own."""
    if isinstance(db, Engine):
        with session_scope(db) as session:
            return first_delivery(session, channel, key)
    inserted = db.execute(
        insert_for(db)(InboundEvent)
        .values(channel=channel, key=key[:KEY_LENGTH], received_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(InboundEvent.id))  # rowcount is -1 here through the ORM on psycopg
    ).first()
    return inserted is not None


def forget_deliveries(session: Session, channel: str, before: datetime) -> None:
    """Drop dedupe keys older than any redelivery the platform still makes."""
    session.execute(
        sa.delete(InboundEvent)
        .where(col(InboundEvent.channel) == channel)
        .where(col(InboundEvent.received_at) < before)
    )


def _fitting_prefix(text: str, limit: int, measure: Measure) -> int:
    """How many characters from the start measure at most `limit` (at least one, so a
    single character wider than the limit still goes, alone)."""
    if measure(text) <= limit:
        return len(text)
    if measure is len:
        return max(limit, 1)
    low, high = 0, min(len(text), limit)  # no measure counts a character as less than one
    while low < high:  # the longest prefix that fits; measures grow with the prefix
        mid = (low + high + 1) // 2
        if measure(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return max(low, 1)


def split_text(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Pieces of at most `limit` in `measure` units, cut at a paragraph, line or word
    break when one is in the second half of the piece. Cuts fall between characters,
    so a character outside the BMP (a surrogate pair in UTF-16) is never split."""
    parts: list[str] = []
    rest = text.strip()
    while measure(rest) > limit:
        cut = _fitting_prefix(rest, limit, measure)
        window = rest[:cut]
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at > cut // 2:
                cut = at
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def choices_of(raw: Iterable[Mapping[str, str]] | None) -> list[Choice]:
    """Outbox payloads carry choices as plain {"label", "action"} dicts."""
    return [Choice(c["label"], c["action"]) for c in raw or []]


def lang_of(person: Person | None) -> str:
    """A person's language for texts an adapter renders itself; unknown people get the
    default."""
    return norm_lang(person.lang if person else None)


def person_lang(engine: Engine, channel: str, external_id: str) -> str:
    """The language of the person behind a platform account."""
    with Session(engine) as session:
        return lang_of(people.identify(session, channel, external_id))


def is_linked(engine: Engine, channel: str, external_id: str) -> bool:
    """Whether the platform account speaks for a person already."""
    with Session(engine) as session:
        return people.identify(session, channel, external_id) is not None


def link_by_email(
    engine: Engine, channel: str, external_id: str, email: str, display_name: str | None = None
) -> bool:
    """Link a platform account to the known person with this e-mail (taken from the
    platform's verified profile, e.g. Slack's users.info); False when nobody has it.
    An account linked meanwhile, on another replica, stays as it is. Accounts without
    a profile e-mail link with the one-time code instead, which the conversation's
    /tautkan redeems (bot.core.people.redeem_link_code) in every channel alike."""
    with session_scope(engine) as session:
        person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
        if person is None:
            return False
        session.execute(
            insert_for(session)(Identity)
            .values(
                person_id=person.id,
                channel=channel,
                external_id=external_id,
                display_name=(display_name or "")[:200] or None,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        )
        log.info("%s user %s linked to person %s by e-mail", channel, external_id, person.id)
        return True


__all__ = [
    "KEY_LENGTH",
    "Measure",
    "choices_of",
    "first_delivery",
    "forget_deliveries",
    "is_linked",
    "lang_of",
    "link_by_email",
    "person_lang",
    "split_text",
    "utf16_len",
]
