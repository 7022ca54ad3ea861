"""Every update, from long polling or from our webhook route, comes through
`Inbound.on_update`: deduplicated in the database, then turned into `Incoming` for the
conversation engine, whose replies are rendered back as Bot API calls.

One handler instead of PTB's per-kind handlers, so the per-chat lock and the dedupe
happen once, in arrival order, before anything else.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import Engine
from telegram import (
    CallbackQuery,
    Chat,
    ChatMember,
    ChatMemberUpdated,
    ForceReply,
    Message,
    MessageEntity,
    Update,
    User,
)
from telegram.constants import CallbackQueryLimit, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.base import first_delivery, utf16_len
from bot.channels.markdown import shown
from bot.channels.telegram._defaults import with_defaults
from bot.channels.telegram._outgoing import KeyedLock, Sender
from bot.core import alerts, people
from bot.core.errors import HelpdeskError, NotAllowed
from bot.dialogue.engine import Conversations
from bot.dialogue.messages import Incoming, Reply
from bot.dialogue.owed import Answer
from bot.i18n import t
from bot.intake import Intake, LeaseLost, Unreadable, check_lease
from storage.db import session_scope
from storage.inbox import Arrival

log = logging.getLogger(__name__)

CHANNEL = SOURCE = "telegram"
GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})
#: the group registration command lives here: the core's commands know no platform groups.
REGISTER_COMMANDS = frozenset({"daftarkan_grup", "registergroup"})
TOAST = CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH


def command_of(text: str) -> tuple[str, str | None]:
    """("status", "helpdesk_bot") for "/status@helpdesk_bot INC-…"; ("", None) for plain text."""
    if not text.startswith("/"):
        return "", None
    head = text[1:].split(maxsplit=1)[0] if len(text) > 1 else ""
    name, _, bot = head.partition("@")
    return name.lower(), bot or None


#: the kinds of update that belong to a chat (the lane their order is kept in)
_CHAT_KINDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
)


def lane_of(data: dict[str, Any]) -> str:
    """The chat an update belongs to, read off the raw update (no parsing at the ack):
    one chat's updates are processed one after another, in the order they came."""
    for kind in _CHAT_KINDS:
        chat = (data.get(kind) or {}).get("chat") if isinstance(data.get(kind), dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return f"{SOURCE}:{chat['id']}"
    query = data.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return f"{SOURCE}:{chat['id']}"
        user = query.get("from")
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            return f"{SOURCE}:user:{user['id']}"
    return f"{SOURCE}:update:{data.get('update_id')}"


def kind_of(update: Update) -> str:
    """The update's kind, for log lines ("message", "inline_query", …)."""
    return next((k for k in update.to_dict() if k != "update_id"), "empty")


#: the update being handled, for the conversation turn it becomes
_DELIVERY: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "telegram_delivery", default=None
)


def _turns_of(update: Update) -> bool:
    """Updates that become conversation turns carry their dedupe key into the turn."""
    return bool(
        (update.message and update.message.text)
        or (update.callback_query and update.callback_query.data)
    )


class Inbound:
    def __init__(self, conversations: Conversations, engine: Engine, sender: Sender) -> None:
        self.conversations = conversations
        self.engine = engine
        self.sender = sender
        self.bot = sender.bot
        self.locks = KeyedLock()
        #: handler errors (PTB's error handler, the inbox's runs); tests assert it stays empty.
        self.errors: list[BaseException] = []
        self.intake: Intake | None = None
        self._answering: set[asyncio.Task[None]] = set()

    def install(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        application.add_handler(TypeHandler(Update, self.on_update))
        application.add_error_handler(self.on_error)

    def attach(self, intake: Intake) -> None:
        """Updates go through the inbox: PTB's handler (long polling) and our webhook
        route only put them there; the intake's workers call `process`."""
        self.intake = intake
        intake.register(SOURCE, self.process_payload)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB swallows handler errors; log them with the update id, keep serving."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update %s failed", update_id, exc_info=context.error)
        if context.error is not None:
            self.errors.append(context.error)

    async def on_update(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Long polling: the update is stored before PTB asks for the next ones (which
        confirms these to Telegram), so a crash after that loses nothing."""
        await self.put(update.to_dict())

    async def put(self, data: dict[str, Any]) -> None:
        if self.intake is None:
            raise RuntimeError("the telegram channel has no inbox attached")
        key = f"{self.bot.id}:{data['update_id']}"
        if not await self.intake.put(Arrival(SOURCE, key, lane_of(data), json.dumps(data))):
            log.info("telegram update %s delivered again: stored once", data["update_id"])
            query = data.get("callback_query")
            if isinstance(query, dict) and isinstance(query.get("id"), str):
                # the client may still spin: answered again, nothing else (off the ack path)
                task = asyncio.create_task(self._answer_again(query["id"]))
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)

    async def answered(self) -> None:
        """Until the redelivered button presses are answered again (tests, shutdown)."""
        while self._answering:
            await asyncio.gather(*self._answering, return_exceptions=True)

    async def _answer_again(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.info("telegram callback %s not answered again: %s", query_id, exc.message)

    async def process_payload(self, payload: str) -> None:
        """One stored update (the intake's handler). Fields PTB requires but some senders
        leave out are filled first (`with_defaults`); a shape still unreadable is raised
        as `Unreadable`, so the intake keeps it as dead with its error for an admin
        rather than losing it."""
        try:
            data = json.loads(payload)
            update = Update.de_json(with_defaults(data), self.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise Unreadable(f"telegram update unreadable: {type(exc).__name__}: {exc}") from exc
        if update is None:
            raise Unreadable("telegram update unreadable: empty")
        try:
            await self.process(update)
        except LeaseLost:
            raise  # another worker has the update now: not a handler error
        except Exception as exc:
            self.errors.append(exc)
            raise

    async def process(self, update: Update) -> None:
        chat = update.effective_chat
        # one update per chat at a time, taken in arrival order (asyncio locks are fair)
        async with self.locks.hold(chat.id if chat else ("update", update.update_id)):
            key = f"{self.bot.id}:{update.update_id}"
            if _turns_of(update):
                # recorded inside the conversation turn's own transaction (Incoming.dedupe_key)
                token = _DELIVERY.set(key)
            elif not await asyncio.to_thread(self._first_delivery, update.update_id):
                log.info("telegram update %s delivered again: ignored", update.update_id)
                return
            else:
                token = _DELIVERY.set(None)
            try:
                await self._route(update)
            except Forbidden as exc:  # blocked by the user or removed from the group meanwhile
                log.info(
                    "telegram update %s: reply not delivered: %s", update.update_id, exc.message
                )
            finally:
                _DELIVERY.reset(token)

    async def _route(self, update: Update) -> None:
        if update.callback_query is not None:
            await self._on_button(update.callback_query)
        elif update.message is not None:
            await self._on_message(update.message)
        elif update.edited_message is not None:
            await self._on_edited(update.edited_message)
        elif update.my_chat_member is not None:
            await self._on_membership(update.my_chat_member)
        else:
            log.info(
                "telegram update %s (%s) not handled: ignored", update.update_id, kind_of(update)
            )

    def _first_delivery(self, update_id: int) -> bool:
        """A redelivered update finds its key recorded (across replicas too). Update ids
        count per bot: the key names the bot, so a new token starts afresh."""
        return first_delivery(self.engine, CHANNEL, f"{self.bot.id}:{update_id}")

    # -- messages -------------------------------------------------------------------

    def _incoming(
        self, chat: Chat, user: User, *, text: str | None = None, action: str | None = None
    ) -> Incoming:
        return Incoming(
            channel=CHANNEL,
            chat_id=str(chat.id),
            user_id=str(user.id),
            text=text,
            action=action,
            display_name=user.full_name,
            group=chat.type != ChatType.PRIVATE,
            dedupe_key=_DELIVERY.get(),
        )

    def _turn(self, msg: Incoming) -> tuple[Answer, bool]:
        answer = self.conversations.answer(msg)
        return answer, msg.group and self.conversations.awaits_group_text(msg)

    async def _deliver(
        self, answer: Answer, send: Callable[[int, Reply], Awaitable[object]]
    ) -> None:
        """Send the replies the chat has not had yet, each marked once it is out: a crash
        in between costs at most that one reply twice, never a reply lost. A run that
        lost its inbox lease stops: the event's new holder sends the rest."""
        for i in range(answer.sent, len(answer.replies)):
            check_lease()
            await send(i, answer.replies[i])
            await self._sent(answer, i + 1)

    async def _sent(self, answer: Answer, sent: int) -> None:
        await asyncio.to_thread(self.conversations.mark_sent, answer, sent)

    async def _on_message(self, message: Message) -> None:
        chat, user = message.chat, message.from_user
        if user is None or user.is_bot:
            log.debug("telegram message %s from no user or a bot: ignored", message.message_id)
        elif chat.type == ChatType.PRIVATE:
            if message.text:
                await self._private_text(message, user)
            else:
                await self._tell(chat, user, "telegram.unsupported")
        elif chat.type in GROUP_TYPES:
            if message.migrate_to_chat_id:
                log.warning(
                    "telegram group %s became supergroup %s: register the new id (TELEGRAM_OPERATOR_CHATS or /daftarkan_grup)",
                    chat.id,
                    message.migrate_to_chat_id,
                )
            elif message.text and self._addressed_to_us(message):
                await self._group_text(message, user)
            else:
                log.debug("telegram group message %s not for the bot: ignored", message.message_id)
        else:
            log.info("telegram message in a %s chat: ignored", chat.type)

    def _addressed_to_us(self, message: Message) -> bool:
        """Commands (not those addressed to another bot) and replies to our messages;
        other group chatter never reaches the database."""
        name, bot = command_of(message.text or "")
        if name:
            return bot is None or bot.lower() == (self.bot.username or "").lower()
        replied = message.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.id == self.bot.id)

    async def _private_text(self, message: Message, user: User) -> None:
        chat = message.chat
        if command_of(message.text or "")[0] in REGISTER_COMMANDS:
            await self._tell(chat, user, "telegram.group_only")
            return
        answer = await asyncio.to_thread(
            self.conversations.answer, self._incoming(chat, user, text=message.text)
        )

        async def send(_: int, reply: Reply) -> None:
            await self.sender.send(chat.id, shown(reply), reply.choices)
            await self.sender.attach(chat.id, reply)

        await self._deliver(answer, send)

    async def _group_text(self, message: Message, user: User) -> None:
        chat = message.chat
        incoming = self._incoming(chat, user, text=message.text)
        if command_of(message.text or "")[0] in REGISTER_COMMANDS:
            await self._register_group(message, user, incoming)
            return
        answer, waiting = await asyncio.to_thread(self._turn, incoming)
        await self._send_group(chat.id, answer, waiting, incoming, reply_to=message.message_id)

    async def _send_group(
        self,
        chat_id: int,
        answer: Answer,
        waiting: bool,
        msg: Incoming,
        *,
        reply_to: int | None = None,
        mention: User | None = None,
    ) -> None:
        """A question the operator must answer goes out with ForceReply, so the answer
        reaches the bot in privacy mode; selective, so only that operator is prompted."""

        async def send(i: int, reply: Reply) -> None:
            if not (waiting and i == len(answer.replies) - 1):
                await self.sender.send(chat_id, shown(reply), reply.choices, reply_to=reply_to)
                return
            lang = await asyncio.to_thread(self.conversations.lang, msg)
            text = f"{shown(reply)}\n{t('telegram.reply_hint', lang)}"
            entities = None
            if mention is not None:  # a button press has no message to reply to: mention instead
                name = mention.full_name or str(mention.id)
                text = f"{name}: {text}"
                entities = [
                    MessageEntity(MessageEntity.TEXT_MENTION, 0, utf16_len(name), user=mention)
                ]
            await self.sender.send(
                chat_id,
                text,
                reply_to=reply_to,
                entities=entities,
                force_reply=ForceReply(selective=True),
            )

        await self._deliver(answer, send)

    async def _register_group(self, message: Message, user: User, msg: Incoming) -> None:
        chat = message.chat

        def register() -> tuple[str, str, dict[str, object]]:
            lang = self.conversations.lang(msg)
            try:
                with session_scope(self.engine) as s:
                    person = people.identify(s, CHANNEL, str(user.id))
                    if person is None:  # None would mean "configuration" to the core
                        raise NotAllowed("auth.admin_only")
                    alerts.register_operator_channel(
                        s, CHANNEL, str(chat.id), person, name=chat.title
                    )
            except HelpdeskError as exc:
                return lang, exc.key, exc.params
            log.info("telegram group %s registered as operator group by user %s", chat.id, user.id)
            return lang, "telegram.group_registered", {}

        lang, key, params = await asyncio.to_thread(register)
        await self.sender.send(chat.id, t(key, lang, **params), reply_to=message.message_id)

    async def _tell(self, chat: Chat, user: User, key: str) -> None:
        lang = await asyncio.to_thread(self.conversations.lang, self._incoming(chat, user))
        await self.sender.send(chat.id, t(key, lang))

    async def _on_edited(self, message: Message) -> None:
        if message.chat.type == ChatType.PRIVATE and message.from_user is not None:
            await self._tell(message.chat, message.from_user, "telegram.edited")
        else:
            log.debug("telegram edited message in chat %s: ignored", message.chat.id)

    async def _on_membership(self, change: ChatMemberUpdated) -> None:
        chat, status = change.chat, change.new_chat_member.status
        if chat.type == ChatType.PRIVATE:
            log.info(
                "telegram user %s %s the bot",
                chat.id,
                "blocked" if status == ChatMember.BANNED else "unblocked",
            )
        elif chat.type in GROUP_TYPES and status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR):
            await self.sender.send(chat.id, t("telegram.group_hello", "id"))
        else:
            log.info("telegram bot is now %s in chat %s", status, chat.id)

    # -- buttons --------------------------------------------------------------------

    async def _answer(
        self, query: CallbackQuery, text: str | None = None, *, alert: bool = False
    ) -> None:
        """Always answer, or the client spins; a query too old to answer is not an error."""
        try:
            await query.answer(text[:TOAST] if text else None, show_alert=True if alert else None)
        except BadRequest as exc:
            log.info("telegram callback %s not answered: %s", query.id, exc.message)

    async def _on_button(self, query: CallbackQuery) -> None:
        message, user = query.message, query.from_user
        if message is None or not query.data:
            await self._answer(query)
            log.info("telegram callback %s without message or data: ignored", query.id)
            return
        chat = message.chat
        msg = self._incoming(chat, user, action=query.data)
        answer, waiting = await asyncio.to_thread(self._turn, msg)
        if answer.repeated_nothing_owed:  # a press answered before: answer it, change nothing
            await self._answer(query)
            return
        replies = answer.unsent
        refusal = next((r for r in replies if r.kind == "error"), None)
        if refusal is not None:  # a refusal is an alert on the presser's screen, not chat noise
            await self._answer(query, refusal.text, alert=True)
            await self._sent(answer, len(answer.replies))
            return
        if not msg.group:
            await self._answer(query)
            if isinstance(message, Message) and message.reply_markup is not None:
                # the choice is made: its buttons go, so nobody presses twice
                try:
                    await self.bot.edit_message_reply_markup(
                        chat.id, message.message_id, reply_markup=None
                    )
                except (BadRequest, Forbidden) as exc:
                    log.debug(
                        "telegram keyboard of %s not removed: %s", message.message_id, exc.message
                    )

            async def send(_: int, reply: Reply) -> None:
                await self.sender.send(chat.id, shown(reply), reply.choices)

            await self._deliver(answer, send)
        elif waiting:
            await self._answer(query)
            await self._send_group(chat.id, answer, True, msg, mention=user)
        else:
            # In a group the alert itself is edited in place; a short answer is a toast.
            toast = "\n".join(shown(r) for r in replies)
            if utf16_len(toast) <= TOAST:
                await self._answer(query, toast or None)
                await self._sent(answer, len(answer.replies))
            else:
                await self._answer(query)
                await self._send_group(chat.id, answer, False, msg)
