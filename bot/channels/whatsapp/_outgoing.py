"""What the bot sends on WhatsApp: texts split at the Cloud API's 4,096 characters,
choices as reply buttons (up to 3, titles up to 20 characters) or a list message (up
to 10 rows, titles up to 24 characters), and typed numbers beyond that, which the
conversation engine reads as a choice of the last buttons. Charts go as images and
documents as files, each uploaded first and sent by its media id.

Texts go as plain text: what the core writes and users typed reaches the chat as it
is (WhatsApp's *bold* markers in a user's text are theirs)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from bot.channels import base
from bot.channels.markdown import Style, render_text, shown
from bot.channels.whatsapp._graph import Graph, GraphError
from bot.dialogue.messages import Choice, Reply
from bot.i18n import t

log = logging.getLogger(__name__)

MAX_TEXT = 4096
#: an interactive message's body
MAX_BODY = 1024
MAX_BUTTONS, BUTTON_TITLE = 3, 20
MAX_ROWS, ROW_TITLE, ROW_DESCRIPTION = 10, 24, 72
#: the list message's own button
LIST_BUTTON = 20
#: how often a conversation reply waits out throttling here (the outbox retries notices)
REPLY_RETRIES = 3
#: the longest a reply waits for one retry; the person is waiting
REPLY_WAIT_CAP = 5.0
#: tries again after a request that did not get through or a server error (5xx)
TRANSIENT_RETRIES = 2
TRANSIENT_BACKOFF = 0.5
Message = dict[str, Any]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def text_message(body: str) -> Message:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def buttons(body: str, choices: Sequence[Choice]) -> Message:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": c.action, "title": c.label}} for c in choices
                ]
            },
        },
    }


def list_message(body: str, choices: Sequence[Choice], lang: str) -> Message:
    rows = []
    for c in choices:
        row: dict[str, str] = {"id": c.action, "title": _clip(c.label, ROW_TITLE)}
        if len(c.label) > ROW_TITLE:  # the whole label where the title is cut
            row["description"] = _clip(c.label, ROW_DESCRIPTION)
        rows.append(row)
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": _clip(t("whatsapp.list_button", lang), LIST_BUTTON),
                "sections": [{"rows": rows}],
            },
        },
    }


def numbered(choices: Sequence[Choice], lang: str) -> str:
    lines = [f"{i}. {c.label}" for i, c in enumerate(choices, start=1)]
    return "\n".join([*lines, t("whatsapp.type_number", lang)])


def messages_for(text: str, choices: Sequence[Choice], lang: str) -> list[Message]:
    """The Cloud API messages one reply becomes, in order."""
    distinct = len({c.action for c in choices}) == len(choices) and len(
        {c.label for c in choices}
    ) == len(choices)
    interactive = bool(choices) and distinct and len(choices) <= MAX_ROWS
    if choices and not interactive:  # too many (or ambiguous) for a list: typed numbers
        text = f"{text}\n\n{numbered(choices, lang)}" if text.strip() else numbered(choices, lang)
    pieces = base.split_text(text, MAX_TEXT)
    if not interactive:
        return [text_message(p) for p in pieces]
    last = pieces.pop() if pieces else t("whatsapp.choose", lang)
    tail = base.split_text(last, MAX_BODY)  # an interactive body is shorter than a text
    pieces += tail[:-1]
    body = tail[-1]
    out = [text_message(p) for p in pieces]
    if len(choices) <= MAX_BUTTONS and all(len(c.label) <= BUTTON_TITLE for c in choices):
        out.append(buttons(body, choices))
    else:
        out.append(list_message(body, choices, lang))
    return out


def _link(label: str, href: str) -> str:
    return href if label in ("", href) else f"{label} ({href})"


#: WhatsApp's own formatting: *bold*, _italic_, ```monospace```
_WHATSAPP = Style(lambda s: s, ("*", "*"), ("_", "_"), lambda s: f"```{s}```", _link)


def whatsapp_text(markdown: str) -> str:
    """An article's Markdown as WhatsApp shows it (`**bold**` -> `*bold*`)."""
    return render_text(markdown, _WHATSAPP)


class Sender:
    """Sends replies to one person: texts with their choices, then the reply's chart
    and document."""

    def __init__(self, graph: Graph, sleep: Any = asyncio.sleep) -> None:
        self.graph = graph
        self._sleep = sleep

    async def _send(self, to: str, message: Message, retries: int | None) -> str:
        """`retries`: how often throttling is waited out here; None lets it through, for
        the outbox to reschedule durably."""
        attempt = 0
        while True:
            try:
                return await self.graph.send(to, message)
            except GraphError as exc:
                if retries is None or not exc.throttled or attempt >= retries:
                    raise
                attempt += 1
                wait = min(
                    exc.retry_after if exc.retry_after is not None else 2.0**attempt, REPLY_WAIT_CAP
                )
                log.info("whatsapp: throttled (%s), reply retried in %.1fs", exc, wait)
                await self._sleep(wait)

    async def send_text(
        self,
        to: str,
        text: str,
        choices: Sequence[Choice],
        lang: str,
        *,
        retries: int | None = REPLY_RETRIES,
    ) -> str | None:
        """Returns the id of the last message sent (the one with the choices)."""
        ref = None
        for message in messages_for(text, choices, lang):
            ref = await self._send(to, message, retries)
        return ref

    async def _upload(self, data: bytes, mime: str, name: str) -> str:
        """A media upload is repeated after a server error or a lost connection: unlike
        a message, a second upload can only cost a second copy at Meta, never a second
        message in the chat."""
        for attempt in range(TRANSIENT_RETRIES + 1):
            try:
                return await self.graph.upload(data, mime, name)
            except GraphError as exc:
                transient = exc.status == 0 or exc.status >= 500
                if not transient or attempt == TRANSIENT_RETRIES:
                    raise
                log.info("whatsapp: upload of %s failed (%s), tried again", name, exc)
                await self._sleep(TRANSIENT_BACKOFF * (attempt + 1))
        raise AssertionError("unreachable")

    async def send_reply(self, to: str, reply: Reply, lang: str) -> None:
        if reply.text.strip() or reply.choices:
            await self.send_text(to, shown(reply, whatsapp_text), reply.choices, lang)
        if reply.image:
            media = await self._upload(reply.image, "image/png", "grafik.png")
            await self._send(to, {"type": "image", "image": {"id": media}}, REPLY_RETRIES)
        if reply.document:
            name, data = reply.document
            mime = (
                "application/pdf"
                if name.lower().endswith(".pdf")
                else "text/csv"
                if name.lower().endswith(".csv")
                else "application/octet-stream"
            )
            media = await self._upload(data, mime, name)
            await self._send(
                to, {"type": "document", "document": {"id": media, "filename": name}}, REPLY_RETRIES
            )
