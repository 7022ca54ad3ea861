"""Everything the bot sends: inline keyboards from choices, texts split at Telegram's
limit, and a per-chat pace on top of PTB's AIORateLimiter.

Texts go out as plain text (no parse_mode): what the core writes, and what users typed
into it, reaches the chat verbatim, so nothing needs escaping and nothing can inject
formatting.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageEntity,
    ReplyParameters,
)
from telegram.constants import MessageLimit
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.channels import base
from bot.channels.base import utf16_len
from bot.dialogue.messages import Choice, Reply

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
#: buttons per keyboard row, and how many label characters still fit side by side.
ROW_BUTTONS = 3
ROW_CHARS = 30
#: in-process retries of a conversation reply after a 429 (the outbox retries notices).
REPLY_RETRIES = 3
#: and after a connection failure (502, refused): the request did not get through.
NETWORK_RETRIES = 2
NETWORK_BACKOFF = 0.5


def keyboard(choices: Iterable[Choice]) -> InlineKeyboardMarkup | None:
    """Short labels share a row (Ya / Tidak), long ones (service names) get their own."""
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    width = 0
    for choice in choices:
        if row and (len(row) == ROW_BUTTONS or width + len(choice.label) > ROW_CHARS):
            rows.append(row)
            row, width = [], 0
        row.append(InlineKeyboardButton(choice.label, callback_data=choice.action))
        width += len(choice.label)
    if row:
        rows.append(row)
    return InlineKeyboardMarkup(rows) if rows else None


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` UTF-16 code units (Telegram's count), cut at a
    paragraph, line or word break when one is near."""
    return base.split_text(text, limit, utf16_len)


def retry_seconds(exc: RetryAfter) -> float:
    """`retry_after` is an int or a timedelta depending on PTB_TIMEDELTA; accept both."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class KeyedLock:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[object, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: object) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class ChatPacer:
    """About one message per second in a private chat, with a short burst allowed.

    AIORateLimiter enforces the bot-wide and per-group limits, not this one. A token
    bucket per chat: a FAQ answer and its "Apakah ini membantu?" go out together, a
    flood of notices to one person is spread out instead of drawing a 429.
    """

    def __init__(
        self,
        rate: float = 1.0,
        burst: float = 3.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[int, tuple[float, float]] = {}
        self._locks = KeyedLock()

    async def wait(self, chat_id: int) -> None:
        if chat_id < 0 or self.rate <= 0:
            return  # groups: AIORateLimiter's per-group limiter
        async with self._locks.hold(chat_id):
            now = self._clock()
            tokens, last = self._buckets.get(chat_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                await self._sleep((1 - tokens) / self.rate)
                now = self._clock()
                tokens = 1.0
            self._buckets[chat_id] = (tokens - 1, now)
            if len(self._buckets) > 10_000:
                self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        full = self.burst / self.rate
        for key, (_, last) in list(self._buckets.items()):
            if now - last >= full:
                del self._buckets[key]


class Sender:
    """Sends texts with buttons to one chat, paced, split, as plain text; charts and
    documents of a reply follow as a photo and a file."""

    def __init__(self, bot: ExtBot, pacer: ChatPacer | None = None) -> None:
        self.bot = bot
        self.pacer = pacer or ChatPacer()

    async def attach(self, chat_id: int, reply: Reply) -> None:
        if reply.image:
            await self.pacer.wait(chat_id)
            await self.bot.send_photo(chat_id, photo=InputFile(reply.image, filename="grafik.png"))
        if reply.document:
            name, data = reply.document
            await self.pacer.wait(chat_id)
            await self.bot.send_document(chat_id, document=InputFile(data, filename=name))

    async def send(
        self,
        chat_id: int,
        text: str,
        choices: Sequence[Choice] = (),
        *,
        reply_to: int | None = None,
        force_reply: ForceReply | None = None,
        entities: Sequence[MessageEntity] | None = None,
        retries: int | None = REPLY_RETRIES,
    ) -> Message | None:
        """Returns the last message sent (the one carrying the buttons).

        `retries`: how often a 429 is waited out here (AIORateLimiter sleeps retry_after);
        None lets the RetryAfter through, for the outbox to reschedule durably.
        """
        pieces = split_text(text)
        last: Message | None = None
        for i, piece in enumerate(pieces):
            final = i == len(pieces) - 1
            await self.pacer.wait(chat_id)
            for attempt in range(NETWORK_RETRIES + 1):
                try:
                    last = await self.bot.send_message(
                        chat_id,
                        piece,
                        reply_markup=(force_reply or keyboard(choices)) if final else None,
                        reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
                        if reply_to and i == 0
                        else None,
                        entities=entities if i == 0 else None,
                        rate_limit_args=retries,
                    )
                    break
                except (BadRequest, TimedOut):
                    raise  # refused, or perhaps delivered: sending again could double it
                except NetworkError:
                    if retries is None or attempt == NETWORK_RETRIES:
                        raise
                    await asyncio.sleep(NETWORK_BACKOFF * (attempt + 1))
        return last
