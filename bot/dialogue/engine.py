"""The conversation engine: one entry point for every channel.

`Conversations.handle(Incoming) -> list[Reply]` runs one turn in one transaction: it
loads where the chat stands (locking its row), drops a redelivery, lets the router work
out what the user means and which flow answers, and saves the new state. A refusal
rolls the transaction back and answers why, so bad input never leaves half-written rows.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core import people
from bot.core.errors import HelpdeskError
from bot.core.knowledge_base import KnowledgeBase
from bot.core.limits import LimitExceeded, Limits, check_turn
from bot.core.notices import pending_for
from bot.dialogue.flows import DEFAULT_FLOWS
from bot.dialogue.messages import Choice, Incoming, Reply
from bot.dialogue.owed import Answer, from_json, to_json
from bot.dialogue.router import Flow, Router
from bot.dialogue.turn import IDLE, Turn
from bot.i18n import norm_lang, t
from storage.db import insert_for, session_scope
from storage.inbound import first_delivery, note_sent, owe, owed
from storage.models import Conversation, utcnow

log = logging.getLogger(__name__)

#: every command name of the default flows → its command's first name: Slack's DM parser
#: asks whether a leading word is a command.
COMMANDS: Mapping[str, str] = Router(DEFAULT_FLOWS).aliases
#: records a turn's replies where the channel keeps them (the web chat's history)
Record = Callable[[Session, list[Reply]], None]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str | None) -> str:
    """Drop control characters (PostgreSQL refuses NUL) and normalise Unicode forms."""
    if not text:
        return ""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()


class Conversations:
    def __init__(
        self,
        engine: Engine,
        kb: KnowledgeBase,
        *,
        timezone: str = "Asia/Jakarta",
        max_text: int = 4000,
        link_code_ttl: timedelta = timedelta(minutes=15),
        limits: Limits | None = None,
        anonymous_channels: Iterable[str] = (),
        flows: Iterable[Flow] | None = None,
    ) -> None:
        """`anonymous_channels`: the channels anyone may chat on without an account, whose
        unlinked reporters' P1/P2 wait for triage (runtime.build passes the registry's).
        `flows` replaces the registry (`DEFAULT_FLOWS`): tests add their own this way."""
        self.limits = limits or Limits()
        self.anonymous_channels = frozenset(anonymous_channels)
        self.engine = engine
        self.kb = kb
        self.timezone = timezone
        self.max_text = max_text
        self.link_code_ttl = link_code_ttl
        self.router = Router(DEFAULT_FLOWS if flows is None else flows)

    # -- entry points ---------------------------------------------------------------

    def handle(self, msg: Incoming, now: datetime | None = None) -> list[Reply]:
        """The turn's replies; nothing for a redelivery (see `answer` for what it owes)."""
        answer = self.answer(msg, now)
        return [] if answer.replayed else answer.replies

    def answer(
        self, msg: Incoming, now: datetime | None = None, *, record: Record | None = None
    ) -> Answer:
        """One turn. With a dedupe key its replies are kept with the key in the turn's
        transaction, owed until the channel marks them sent (`mark_sent`); a redelivery
        runs nothing and gets back what is still owed (`Answer.replayed`).

        `record(session, replies)` is called once with the replies: in the turn's
        transaction when it commits (the web chat's history, so a request that dies
        after the commit still shows the answer on reload), else in its own."""
        now = now or utcnow()
        text = clean_text(msg.text)
        if not text and not msg.action:
            replies = [] if msg.group else [Reply(t("input.empty", self._lang(msg)))]
            return self._recorded(Answer(replies), record)
        if len(text) > self.max_text:
            return self._recorded(
                Answer([Reply(t("input.too_long", self._lang(msg), n=self.max_text))]), record
            )
        try:
            self.kb.matcher()  # pick up changed articles before the transaction starts
            if text and not msg.action and not text.startswith("/") and not msg.group:
                # free text is most often a question: matched before the transaction begins
                # (the turn then finds it ranked), so no database lock waits on the matcher
                self.kb.current.prepare(text)
            with session_scope(self.engine) as session:
                conv = self._conversation(session, msg)
                if msg.dedupe_key and not first_delivery(session, msg.channel, msg.dedupe_key):
                    stored, sent = owed(session, msg.channel, msg.dedupe_key)
                    log.info(
                        "%s delivery %s seen before: %d of %d replies still owed",
                        msg.channel,
                        msg.dedupe_key,
                        len(stored) - sent if stored else 0,
                        len(stored),
                    )
                    return Answer(
                        [from_json(r) for r in stored],
                        replayed=True,
                        sent=sent,
                        delivery=(msg.channel, msg.dedupe_key),
                    )
                # counted in the turn's own transaction (no second write lock per turn);
                # a turn that fails rolls its count back, so the handlers below count it again
                check_turn(session, self.limits, self._limit_key(msg), msg.address, now)
                person = people.identify(session, msg.channel, msg.user_id)
                turn = Turn(
                    session,
                    msg,
                    conv,
                    person,
                    now,
                    self.kb,
                    timezone=self.timezone,
                    link_code_ttl=self.link_code_ttl,
                    limits=self.limits,
                    anonymous_channels=self.anonymous_channels,
                )
                self.router.dispatch(turn, text, msg.action)
                last = turn.replies[-1] if turn.replies else None
                conv.data = {
                    **conv.data,
                    "choices": [[c.label, c.action] for c in last.choices] if last else [],
                }
                conv.updated_at = now
                session.add(conv)
                delivery = None
                if msg.dedupe_key and turn.replies:
                    owe(session, msg.channel, msg.dedupe_key, [to_json(r) for r in turn.replies])
                    delivery = (msg.channel, msg.dedupe_key)
                if record is not None:
                    record(session, turn.replies)
                return Answer(turn.replies, delivery=delivery)
        except LimitExceeded as exc:
            log.info("%s chat over the turn limit (address %s)", msg.channel, msg.address or "-")
            if msg.group and not (msg.action or text.startswith("/")):
                return Answer()  # group chatter was not addressed to the bot: stay quiet
            replies = [Reply(t(exc.key, self._lang(msg), **exc.params), kind="error")]
        except HelpdeskError as exc:
            self._count_failed_turn(msg, now)
            replies = [Reply(t(exc.key, self._lang(msg), **exc.params), kind="error")]
        except Exception:
            log.exception("conversation turn failed (channel=%s)", msg.channel)
            self._count_failed_turn(msg, now)
            replies = [Reply(t("error.generic", self._lang(msg)))]
        return self._recorded(Answer(replies), record)

    def _recorded(self, answer: Answer, record: Record | None) -> Answer:
        """A turn that wrote nothing: its replies are recorded on their own."""
        if record is not None and answer.replies:
            try:
                with session_scope(self.engine) as session:
                    record(session, answer.replies)
            except Exception:
                log.exception("recording the replies of a turn that wrote nothing")
        return answer

    def mark_sent(self, answer: Answer, sent: int) -> None:
        """The first `sent` of the answer's replies reached the chat: a re-run of the
        delivery will not send them again. Inside an inbox run this is only noted, and
        written with the run's end (storage.inbound.collecting)."""
        if answer.delivery is not None and sent > answer.sent:
            channel, key = answer.delivery
            note_sent(self.engine, channel, key, sent, len(answer.replies))
            answer.sent = sent

    def _limit_key(self, msg: Incoming) -> str:
        return f"{msg.channel}:{self._key(msg)}"

    def _count_failed_turn(self, msg: Incoming, now: datetime) -> None:
        """A refused or failed turn rolled its count back with it; it still counts, or
        failing turns (a forged button, an unknown number) would cost nothing."""
        try:
            with session_scope(self.engine) as session:
                check_turn(session, self.limits, self._limit_key(msg), msg.address, now)
        except LimitExceeded:
            pass  # over the limit already: the next turn is refused
        except Exception:
            log.exception("counting a failed turn (channel=%s)", msg.channel)

    def pull_notices(self, channel: str, chat_id: str) -> list[Reply]:
        """Pull channels (web chat, console) collect what the system has to tell them,
        with the buttons a notice carries (a satisfaction question's scores). Those are
        then the chat's last choices, so a typed number or label picks among them, as
        it would among a turn's."""
        with session_scope(self.engine) as session:
            replies = [
                Reply(
                    n.payload.get("text", ""),
                    [Choice(c["label"], c["action"]) for c in n.payload.get("choices") or []],
                    kind="notice",
                )
                for n in pending_for(session, channel, chat_id)
            ]
            shown = [r for r in replies if r.choices]
            if shown:
                conv = session.exec(
                    select(Conversation).where(
                        Conversation.channel == channel, Conversation.chat_id == chat_id
                    )
                ).first()
                if conv is not None:
                    choices = [[c.label, c.action] for c in shown[-1].choices]
                    conv.data = {**conv.data, "choices": choices}
                    session.add(conv)
            return replies

    def lang(self, msg: Incoming) -> str:
        """The chat's language, for the few texts a channel adapter adds itself."""
        return self._lang(msg)

    def awaits_group_text(self, msg: Incoming) -> bool:
        """Whether this group member's next free text answers the bot: the adapter then asks
        the platform for a reply (Telegram's ForceReply reaches the bot even in privacy mode)."""
        with Session(self.engine) as session:
            conv = session.exec(
                select(Conversation).where(
                    Conversation.channel == msg.channel, Conversation.chat_id == self._key(msg)
                )
            ).first()
            return conv is not None and conv.state in self.router.group_text_states

    # -- state ----------------------------------------------------------------------

    @staticmethod
    def _key(msg: Incoming) -> str:
        return f"{msg.chat_id}:{msg.user_id}" if msg.group else msg.chat_id

    def _conversation(self, session: Session, msg: Incoming) -> Conversation:
        key = self._key(msg)
        insert = insert_for(session)
        session.execute(
            insert(Conversation)
            .values(channel=msg.channel, chat_id=key, state=IDLE, data={}, updated_at=utcnow())
            .on_conflict_do_nothing()
        )
        stmt = select(Conversation).where(
            Conversation.channel == msg.channel, Conversation.chat_id == key
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()  # one turn at a time per chat, across replicas
        return session.exec(stmt).one()

    def _lang(self, msg: Incoming) -> str:
        try:
            with Session(self.engine) as session:
                conv = session.exec(
                    select(Conversation).where(
                        Conversation.channel == msg.channel, Conversation.chat_id == self._key(msg)
                    )
                ).first()
                if conv and conv.lang:
                    return conv.lang
                person = people.identify(session, msg.channel, msg.user_id)
                return norm_lang(person.lang if person else None)
        except Exception:
            return "id"
