"""The outbox's Telegram transport: notices to reporters, alert posts to operator groups,
and alert edits in place. Errors say whether the Deliverer should retry."""

from __future__ import annotations

import logging

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.channels.base import choices_of
from bot.channels.telegram._outgoing import MAX_TEXT, Sender, keyboard, retry_seconds
from bot.delivery import EDIT_KINDS, POST_KINDS, TransportError
from storage.models import Notice

log = logging.getLogger(__name__)


def is_group_target(target: str) -> bool:
    """Group and supergroup chat ids are negative; private chats are the user's id."""
    return target.startswith("-")


def chat_id_of(target: str) -> int:
    """Targets are stored as strings; the Bot API wants the numeric id (the rate limiter
    tells groups from private chats by its sign)."""
    try:
        return int(target)
    except ValueError:
        raise TransportError(f"not a Telegram chat id: {target!r}", permanent=True) from None


def message_id_of(ref: str) -> int:
    """We store the message id; "chat:message" from elsewhere is accepted too."""
    try:
        return int(ref.rsplit(":", 1)[-1])
    except ValueError:
        raise TransportError(f"not a Telegram message reference: {ref!r}", permanent=True) from None


class TelegramTransport:
    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    async def send(self, notice: Notice) -> str | None:
        try:
            return await self._send(notice)
        except RetryAfter as exc:
            raise TransportError(
                f"rate limited: {exc.message}", retry_after=retry_seconds(exc)
            ) from exc
        except Forbidden as exc:
            # blocked by the user, kicked from the group, never started by the user
            raise TransportError(f"forbidden: {exc.message}", permanent=True) from exc
        except ChatMigrated as exc:
            raise TransportError(
                f"group became supergroup {exc.new_chat_id}; register that id", permanent=True
            ) from exc
        except BadRequest as exc:
            if notice.kind in EDIT_KINDS and "not modified" in exc.message.lower():
                return None
            raise TransportError(f"bad request: {exc.message}", permanent=True) from exc
        except NetworkError as exc:  # includes TimedOut: try again later
            raise TransportError(f"network: {exc.message}") from exc
        except TelegramError as exc:
            raise TransportError(f"telegram: {exc.message}") from exc

    async def _send(self, notice: Notice) -> str | None:
        chat_id = chat_id_of(notice.target)
        payload = notice.payload
        text = str(payload.get("text") or "")
        choices = choices_of(payload.get("choices"))
        if notice.kind in EDIT_KINDS:
            await self.sender.bot.edit_message_text(
                text[:MAX_TEXT],
                chat_id=chat_id,
                message_id=message_id_of(str(payload.get("message_ref", ""))),
                reply_markup=keyboard(choices),
            )
            return None
        if not text.strip():
            raise TransportError("empty notice text", permanent=True)
        message = await self.sender.send(chat_id, text, choices, retries=None)
        if notice.kind in POST_KINDS and message is not None:
            return str(message.message_id)
        return None
