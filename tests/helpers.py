"""A scripted chat user for tests: speaks and presses buttons through the real engine."""

from __future__ import annotations

from datetime import datetime

from rapidfuzz import fuzz
from sqlmodel import Session, select

from bot.dialogue.messages import Incoming, Reply
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Conversation, Identity, Person, ServiceTechnician, Ticket


class Chat:
    def __init__(
        self, helpdesk: Helpdesk, channel: str, user_id: str, chat_id: str | None = None
    ) -> None:
        self.helpdesk = helpdesk
        self.channel = channel
        self.user_id = user_id
        self.chat_id = chat_id or user_id
        self.replies: list[Reply] = []

    @classmethod
    def as_person(cls, helpdesk: Helpdesk, channel: str, email: str) -> Chat:
        user_id = f"{channel}-{email}"
        with session_scope(helpdesk.engine) as s:
            person = s.exec(select(Person).where(Person.email == email)).one()
            s.add(Identity(person_id=person.id, channel=channel, external_id=user_id))
        return cls(helpdesk, channel, user_id)

    @staticmethod
    def technician_of(helpdesk: Helpdesk, service_id: str) -> str:
        with Session(helpdesk.engine) as s:
            person = s.exec(
                select(Person)
                .join(ServiceTechnician, ServiceTechnician.person_id == Person.id)
                .where(ServiceTechnician.service_id == service_id)
                .order_by(Person.id)
            ).first()
            assert person is not None and person.email
            return person.email

    def say(self, text: str | None, now: datetime | None = None) -> list[Reply]:
        msg = Incoming(channel=self.channel, chat_id=self.chat_id, user_id=self.user_id, text=text)
        self.replies = self.helpdesk.conversations.handle(msg, now=now)
        return self.replies

    def press(self, label_or_action: str, now: datetime | None = None) -> list[Reply]:
        """Press a button of the last replies, by action or by (fuzzy) label."""
        choices = [c for r in self.replies for c in r.choices]
        assert choices, f"no buttons in: {self.text}"
        chosen = next((c for c in choices if c.action == label_or_action), None)
        if chosen is None:
            chosen = next((c for c in choices if c.label.lower() == label_or_action.lower()), None)
        if chosen is None:
            chosen = max(
                choices, key=lambda c: fuzz.WRatio(label_or_action.lower(), c.label.lower())
            )
        msg = Incoming(
            channel=self.channel, chat_id=self.chat_id, user_id=self.user_id, action=chosen.action
        )
        self.replies = self.helpdesk.conversations.handle(msg, now=now)
        return self.replies

    def act(self, action: str, now: datetime | None = None) -> list[Reply]:
        """Send an action whether or not it is on screen (a stale or forged button)."""
        msg = Incoming(
            channel=self.channel, chat_id=self.chat_id, user_id=self.user_id, action=action
        )
        self.replies = self.helpdesk.conversations.handle(msg, now=now)
        return self.replies

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    @property
    def actions(self) -> list[str]:
        return [c.action for r in self.replies for c in r.choices]

    def notices(self) -> list[Reply]:
        return self.helpdesk.conversations.pull_notices(self.channel, self.chat_id)

    def last_ticket(self) -> Ticket:
        with Session(self.helpdesk.engine) as s:
            ticket = s.exec(select(Ticket).order_by(Ticket.id.desc())).first()  # type: ignore[union-attr]
            assert ticket is not None
            return ticket

    def give_contact(
        self,
        name: str = "Budi Santoso",
        contact: str = "budi@instansi.go.id",
        now: datetime | None = None,
    ) -> list[Reply]:
        """Answer the name and contact questions an unlinked web chat reporter gets before
        the report's summary (bot.core.reporter_contact); nothing when they were not asked."""
        with Session(self.helpdesk.engine) as s:
            conv = s.exec(
                select(Conversation).where(
                    Conversation.channel == self.channel, Conversation.chat_id == self.chat_id
                )
            ).first()
        if conv is None or conv.state != "report_name":
            return self.replies
        self.say(name, now=now)
        return self.say(contact, now=now)
