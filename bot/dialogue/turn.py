"""The context of one conversation turn: the session, who speaks, where the chat stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.core import people
from bot.core.tickets import Actor
from bot.dialogue.messages import Choice, Incoming, Reply
from bot.i18n import fmt_dt, t
from storage.models import Conversation, Person


@dataclass
class Turn:
    session: Session
    msg: Incoming
    conv: Conversation
    person: Person | None
    now: datetime
    timezone: str = "Asia/Jakarta"
    replies: list[Reply] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return (
            self.conv.lang
            or (self.person.lang if self.person and self.person.lang else None)
            or "id"
        )

    def t(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)

    def dt(self, value: datetime | None) -> str:
        return fmt_dt(value, self.lang, self.timezone)

    def say(self, text: str, choices: list[Choice] | None = None) -> list[Reply]:
        self.replies.append(Reply(text=text, choices=list(choices or [])))
        return self.replies

    def choice(self, key: str, action: str, **params: Any) -> Choice:
        return Choice(self.t(key, **params), action)

    def ensure_person(self) -> Person:
        if self.person is None:
            self.person = people.ensure_person(
                self.session, self.msg.channel, self.msg.user_id, self.msg.display_name
            )
            if self.person.lang is None and self.conv.lang:
                self.person.lang = self.conv.lang
                self.session.add(self.person)
        return self.person

    @property
    def actor(self) -> Actor:
        return Actor(self.person, self.msg.channel)

    @property
    def state(self) -> str:
        return self.conv.state

    @property
    def data(self) -> dict[str, Any]:
        return self.conv.data

    def go(self, state: str, **data: Any) -> None:
        """Move to `state`; `data` replaces the flow's data (reassigned: JSON is not tracked in place)."""
        self.conv.state = state
        self.conv.data = dict(data)

    def update(self, **data: Any) -> None:
        self.conv.data = {**self.conv.data, **data}

    def reset(self) -> None:
        self.go("idle")
