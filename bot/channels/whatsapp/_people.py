"""Who writes: WhatsApp names a sender by their phone number (the wa_id), so a person
whose number is in the people import is linked at their first message, without a code.
Numbers shared by several people link nobody; they, and numbers not in the import,
link with /tautkan CODE as on every channel."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.core import chat_contacts, people
from storage.db import insert_for, session_scope
from storage.models import Identity, utcnow

log = logging.getLogger(__name__)


def arrived(engine: Engine, channel: str, wa_id: str, name: str | None, at: datetime) -> None:
    """A message came from `wa_id` at `at`: its 24-hour window opens (again), and an
    unknown number that is one person's is linked to them (not when the account was
    unlinked: only a code links it again)."""
    with session_scope(engine) as session:
        chat_contacts.touch(session, channel, wa_id, at)
        if people.identify(session, channel, wa_id) is not None:
            return
        if people.email_link_blocked(session, channel, wa_id):
            return
        person = people.find_by_phone(session, wa_id)
        if person is None:
            return
        session.execute(
            insert_for(session)(Identity)
            .values(
                person_id=person.id,
                channel=channel,
                external_id=wa_id,
                display_name=(name or "")[:200] or None,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        )
        log.info("%s number …%s linked to person %s by phone", channel, wa_id[-4:], person.id)
