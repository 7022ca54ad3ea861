"""The conversation engine: one entry point for every channel.

`Conversations.handle(Incoming) -> list[Reply]` runs one turn in one transaction: it
loads where the chat stands, works out what the user means (command, button, typed
choice, or a question), calls the core, and saves the new state. A refusal rolls the
transaction back and answers why, so bad input never leaves half-written rows.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta

from rapidfuzz import fuzz, utils
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core import alerts, learning, people
from bot.core.errors import HelpdeskError
from bot.core.knowledge_base import KnowledgeBase
from bot.core.notices import pending_for
from bot.dialogue.flows import faq, general
from bot.dialogue.flows import guided_report as reporting
from bot.dialogue.flows import monitoring as monitoring_chat
from bot.dialogue.flows import report_documents as report_chat
from bot.dialogue.flows import ticket_commands as tc
from bot.dialogue.messages import Choice, Incoming, Reply
from bot.dialogue.render import service_detail
from bot.dialogue.turn import Turn
from bot.i18n import norm_lang, t
from storage.db import insert_for, session_scope
from storage.models import Conversation, InboundEvent, Service, utcnow

log = logging.getLogger(__name__)

COMMANDS: dict[str, str] = {
    "mulai": "start", "start": "start", "menu": "start",
    "bantuan": "help", "help": "help",
    "lapor": "report", "report": "report",
    "status": "status",
    "tiketsaya": "mytickets", "mytickets": "mytickets", "tiket": "mytickets",
    "batal": "cancel", "cancel": "cancel",
    "layanan": "services", "services": "services",
    "bahasa": "language", "language": "language",
    "antrian": "queue", "queue": "queue",
    "ambil": "take", "take": "take",
    "akui": "ack", "ack": "ack",
    "komentar": "comment", "comment": "comment",
    "tunda": "hold", "hold": "hold",
    "selesaikan": "resolve", "resolve": "resolve",
    "tutup": "close", "close": "close",
    "buka": "reopen", "reopen": "reopen",
    "batalkan": "cancelticket", "cancelticket": "cancelticket",
    "tautkan": "link", "link": "link",
    "kandidat": "candidates", "candidates": "candidates",
    "ketersediaan": "availability", "availability": "availability",
    "pemeliharaan": "maintenance", "maintenance": "maintenance",
    "ringkasan": "summary", "summary": "summary",
    "laporan": "report_doc", "reportdoc": "report_doc",
}  # fmt: skip

#: states in which a group chat's free text answers the bot (the resolution note, the cause).
GROUP_TEXT_STATES = ("resolve_note", "resolve_cause")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMBER = re.compile(r"^[A-Za-z]{3}-\d{4}-\d{1,8}$")


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
    ) -> None:
        self.engine = engine
        self.kb = kb
        self.timezone = timezone
        self.max_text = max_text
        self.link_code_ttl = link_code_ttl

    # -- entry points ---------------------------------------------------------------

    def handle(self, msg: Incoming, now: datetime | None = None) -> list[Reply]:
        now = now or utcnow()
        text = clean_text(msg.text)
        if not text and not msg.action:
            return [] if msg.group else [Reply(t("input.empty", self._lang(msg)))]
        if len(text) > self.max_text:
            return [Reply(t("input.too_long", self._lang(msg), n=self.max_text))]
        try:
            self.kb.matcher()  # pick up changed articles before the transaction starts
            with session_scope(self.engine) as session:
                conv = self._conversation(session, msg)
                if msg.dedupe_key and not self._first_delivery(session, msg):
                    log.info("%s delivery %s seen before: ignored", msg.channel, msg.dedupe_key)
                    return []
                person = people.identify(session, msg.channel, msg.user_id)
                turn = Turn(session, msg, conv, person, now, self.timezone)
                self._dispatch(turn, text, msg.action)
                last = turn.replies[-1] if turn.replies else None
                conv.data = {
                    **conv.data,
                    "choices": [[c.label, c.action] for c in last.choices] if last else [],
                }
                conv.updated_at = now
                session.add(conv)
                return turn.replies
        except HelpdeskError as exc:
            return [Reply(t(exc.key, self._lang(msg), **exc.params), kind="error")]
        except Exception:
            log.exception("conversation turn failed (channel=%s)", msg.channel)
            return [Reply(t("error.generic", self._lang(msg)))]

    def pull_notices(self, channel: str, chat_id: str) -> list[Reply]:
        """Pull channels (web chat, console) collect what the system has to tell them."""
        with session_scope(self.engine) as session:
            return [
                Reply(n.payload.get("text", ""), kind="notice")
                for n in pending_for(session, channel, chat_id)
            ]

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
            return conv is not None and conv.state in GROUP_TEXT_STATES

    # -- state ----------------------------------------------------------------------

    @staticmethod
    def _key(msg: Incoming) -> str:
        return f"{msg.chat_id}:{msg.user_id}" if msg.group else msg.chat_id

    def _conversation(self, session: Session, msg: Incoming) -> Conversation:
        key = self._key(msg)
        insert = insert_for(session)
        session.execute(
            insert(Conversation)
            .values(channel=msg.channel, chat_id=key, state="idle", data={}, updated_at=utcnow())
            .on_conflict_do_nothing()
        )
        stmt = select(Conversation).where(
            Conversation.channel == msg.channel, Conversation.chat_id == key
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()  # one turn at a time per chat, across replicas
        return session.exec(stmt).one()

    @staticmethod
    def _first_delivery(session: Session, msg: Incoming) -> bool:
        insert = insert_for(session)
        return (
            session.execute(
                insert(InboundEvent)
                .values(channel=msg.channel, key=msg.dedupe_key, received_at=utcnow())
                .on_conflict_do_nothing()
                .returning(InboundEvent.id)
            ).first()
            is not None
        )

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

    # -- dispatch -------------------------------------------------------------------

    def _dispatch(self, turn: Turn, text: str, action: str | None) -> list[Reply]:
        if action:
            return self._action(turn, action)
        if text.startswith("/"):
            return self._command(turn, text)
        typed = self._typed_choice(turn, text)
        if typed:
            return self._action(turn, typed)
        if turn.msg.group and turn.state not in GROUP_TEXT_STATES:
            return turn.replies
        return self._free_text(turn, text)

    def _typed_choice(self, turn: Turn, text: str) -> str | None:
        """Channels without buttons answer with the number or the label of a choice."""
        choices = turn.data.get("choices") or []
        if not choices:
            return None
        if (
            text.isascii()
            and text.isdecimal()
            and len(text) <= 3
            and 1 <= int(text) <= len(choices)
        ):
            return choices[int(text) - 1][1]
        wanted = utils.default_process(text)
        if not wanted:
            return None
        for label, action in choices:
            if utils.default_process(label) == wanted:
                return action
        best = max(choices, key=lambda c: fuzz.ratio(wanted, utils.default_process(c[0])))
        if len(wanted) >= 3 and fuzz.ratio(wanted, utils.default_process(best[0])) >= 88:
            return best[1]
        return None

    def _command(self, turn: Turn, text: str) -> list[Reply]:
        head, _, rest = text[1:].partition(" ")
        name = head.split("@", 1)[0].lower()
        command = COMMANDS.get(name)
        rest = rest.strip()
        arg, _, tail = rest.partition(" ")
        handlers: dict[str, Callable[[], list[Reply]]] = {
            "start": lambda: general.welcome(turn),
            "help": lambda: general.show_help(turn),
            "report": lambda: reporting.start(turn, rest),
            "status": lambda: tc.status(turn, arg),
            "mytickets": lambda: tc.my_tickets(turn),
            "cancel": lambda: general.cancel(turn),
            "services": lambda: general.services(turn, rest),
            "language": lambda: general.language(turn, arg),
            "queue": lambda: tc.queue(turn),
            "take": lambda: tc.take(turn, arg),
            "ack": lambda: tc.acknowledge(turn, arg),
            "comment": lambda: tc.comment(turn, arg, tail),
            "hold": lambda: tc.hold(turn, arg, tail),
            "resolve": lambda: tc.start_resolve(turn, arg, tail),
            "close": lambda: tc.close(turn, arg),
            "reopen": lambda: tc.reopen(turn, arg, tail),
            "cancelticket": lambda: tc.cancel_ticket(turn, arg, tail),
            "link": lambda: general.link(turn, arg),
            "candidates": lambda: general.candidates(turn, self.kb),
            "availability": lambda: monitoring_chat.availability_command(turn, rest),
            "maintenance": lambda: monitoring_chat.maintenance_command(turn, rest),
            "summary": lambda: general.summary_command(turn, rest),
            "report_doc": lambda: report_chat.command(turn, rest, self.timezone),
        }
        if command is None:
            return turn.say(
                turn.t("command.unknown", command=f"/{name}"[:40]),
                [turn.choice("menu.help", "menu:help")],
            )
        return handlers[command]()

    def _action(self, turn: Turn, action: str) -> list[Reply]:
        kind, _, value = action.partition(":")
        state = turn.state
        if action == "cancel":
            return general.cancel(turn)
        if kind == "menu":
            menu = {
                "report": lambda: reporting.start(turn),
                "mytickets": lambda: tc.my_tickets(turn),
                "services": lambda: general.services(turn, ""),
                "help": lambda: general.show_help(turn),
                "start": lambda: general.welcome(turn),
            }
            if value in menu:
                return menu[value]()
        elif kind == "lang":
            return general.language(turn, value)
        elif kind == "svcinfo":
            svc = turn.session.get(Service, value)
            if svc is not None:
                return turn.say(
                    service_detail(turn, turn.session, svc),
                    [turn.choice("menu.report", "menu:report")],
                )
        elif kind == "t":
            verb, _, number = value.partition(":")
            ticket_actions = {
                "status": lambda: tc.status(turn, number),
                "take": lambda: tc.take(turn, number),
                "ack": lambda: tc.acknowledge(turn, number),
                "resolve": lambda: tc.start_resolve(turn, number),
                "close": lambda: tc.close(turn, number),
                "reopen": lambda: tc.reopen(turn, number, ""),
            }
            if verb in ticket_actions:
                return ticket_actions[verb]()
        elif kind == "a":
            verb, _, alert_id = value.partition(":")
            if (
                verb == "ack"
                and alert_id.isascii()
                and alert_id.isdecimal()
                and len(alert_id) <= 12
            ):
                alerts.acknowledge(turn.session, int(alert_id), turn.ensure_person(), now=turn.now)
                return turn.say(turn.t("alert.ack_done"))
        elif kind == "mw":
            return monitoring_chat.on_action(turn, value)
        elif kind == "kb":
            verb, _, cid = value.partition(":")
            if cid.isascii() and cid.isdecimal() and len(cid) <= 12 and verb in ("ok", "no"):
                cand = learning.decide(
                    turn.session, int(cid), verb == "ok", turn.person, now=turn.now
                )
                return turn.say(
                    turn.t(
                        f"kb.candidate_{'approved' if verb == 'ok' else 'rejected'}",
                        phrasing=cand.phrasing,
                    )
                )
        elif kind == "faq":
            verb, _, article_id = value.partition(":")
            offered = [a for _, a in turn.data.get("choices") or []]
            if verb == "pick" and state == "faq_choose" and action in offered:
                return faq.picked(turn, self.kb, article_id)
            if (
                verb in ("yes", "no")
                and state == "faq_feedback"
                and turn.data.get("article") == article_id
            ):
                return faq.feedback(turn, article_id, verb == "yes")
            if verb == "none" and state == "faq_choose":
                return self._offer_report(turn)
            if verb == "drop":
                turn.reset()
                return turn.say(turn.t("faq.ok_anything_else"))
        elif kind == "rep":
            if value == "start" and state in ("offer_report", "faq_choose", "faq_feedback"):
                return faq.start_report_from_query(turn)
            if value == "send" and state == "report_confirm":
                return reporting.submit(turn)
        elif kind == "svc" and state == "report_service":
            return reporting.chose_service(turn, value)
        elif kind == "type" and state == "report_type":
            return reporting.chose_type(turn, value)
        elif kind == "imp" and state == "report_impact":
            return reporting.chose_impact(turn, value)
        elif kind == "urg" and state == "report_urgency":
            return reporting.chose_urgency(turn, value)
        return turn.say(turn.t("input.stale_choice"), [turn.choice("menu.start", "menu:start")])

    def _offer_report(self, turn: Turn) -> list[Reply]:
        turn.go("offer_report", query=turn.data.get("query", ""))
        return turn.say(
            turn.t("faq.sorry_offer_report"),
            [turn.choice("faq.report_yes", "rep:start"), turn.choice("faq.report_no", "faq:drop")],
        )

    def _free_text(self, turn: Turn, text: str) -> list[Reply]:
        state = turn.state
        if state == "report_service":
            return reporting.on_service_text(turn, text)
        if state == "report_description":
            return reporting.on_description(turn, text)
        if state in ("report_type", "report_impact", "report_urgency", "report_confirm"):
            return turn.say(turn.t("input.use_choices"), self._last_choices(turn))
        if state == "resolve_note":
            return tc.on_resolve_note(turn, text)
        if state == "resolve_cause":
            return tc.on_resolve_cause(turn, text)
        if state.startswith("maint_"):
            return monitoring_chat.on_text(turn, text)
        if _NUMBER.match(text):
            return tc.status(turn, text)
        turn.reset()
        return faq.ask(turn, self.kb, text)

    @staticmethod
    def _last_choices(turn: Turn) -> list[Choice]:
        return [Choice(label, action) for label, action in turn.data.get("choices") or []]

    # -- small commands -------------------------------------------------------------
