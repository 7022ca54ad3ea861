"""The context of one conversation turn: the session, who speaks, where the chat stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.core import people
from bot.core.knowledge_base import KnowledgeBase
from bot.core.limits import Limits
from bot.core.tickets import Actor
from bot.dialogue.messages import Choice, Incoming, Reply
from bot.i18n import fmt_dt, t
from storage.models import Conversation, Person

#: where every chat starts and returns to; no flow owns it (a new message is read afresh).
IDLE = "idle"


@dataclass
class Turn:
    """What a flow handler gets: besides the chat, the engine's settings (knowledge base,
    timezone, link code lifetime, abuse limits, the channels anyone may use without an
    account) travel here, so a flow needs nothing from the engine."""

    session: Session
    msg: Incoming
    conv: Conversation
    person: Person | None
    now: datetime
    kb: KnowledgeBase
    timezone: str = "Asia/Jakarta"
    link_code_ttl: timedelta = timedelta(minutes=15)
    limits: Limits = field(default_factory=Limits)
    anonymous_channels: frozenset[str] = frozenset()
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

    def say(
        self, text: str, choices: list[Choice] | None = None, *, markdown: bool = False
    ) -> list[Reply]:
        self.replies.append(Reply(text=text, choices=list(choices or []), markdown=markdown))
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

    def go(self, state: str, *, keep: bool, **data: Any) -> None:
        """The one way to move a chat to `state`. `keep` says whether the answers gathered so
        far stay (a step inside a flow) or go (a flow starts afresh); either way the data is
        reassigned, because the JSON column does not track changes in place."""
        self.conv.state = state
        self.conv.data = {**self.conv.data, **data} if keep else dict(data)

    def update(self, **data: Any) -> None:
        """Record an answer without moving: the state stays where it is."""
        self.conv.data = {**self.conv.data, **data}

    def reset(self) -> None:
        self.go(IDLE, keep=False)
