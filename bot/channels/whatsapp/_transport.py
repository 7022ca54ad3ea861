"""The outbox's WhatsApp transport. A notice to someone who wrote within 24 hours goes
as a normal message (text and choices); to anyone else, as the approved template for
its kind, with the notice's text as the template's parameter; with no template for it,
it fails with that reason, since Meta delivers nothing else outside the window.

Errors say what the Deliverer should do: throttling is retried after Retry-After (or
a growing backoff), a bad token or a refused message is given up, a closed window is
answered with the template."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.channels.base import choices_of, person_lang
from bot.channels.whatsapp._graph import GraphError
from bot.channels.whatsapp._inbound import CHANNEL
from bot.channels.whatsapp._outgoing import Sender
from bot.config import Settings
from bot.core import chat_contacts, notices
from bot.delivery import EDIT_KINDS, POST_KINDS, TransportError
from storage.db import session_scope
from storage.models import Notice, utcnow

#: Meta's customer-service window
WINDOW = timedelta(hours=24)
#: a template's body parameter: no new lines, tabs or more than four spaces in a row
TEMPLATE_PARAMETER = 1000
THROTTLE_BACKOFF = 5.0
THROTTLE_BACKOFF_MAX = 600.0
_BREAKS = re.compile(r"\s*\n\s*")
_SPACES = re.compile(r"[ \t]+")


def template_parameter(text: str) -> str:
    """The notice's text as Meta takes it inside a template: one line."""
    flat = _SPACES.sub(" ", _BREAKS.sub(" · ", text.strip()))
    return flat if len(flat) <= TEMPLATE_PARAMETER else flat[: TEMPLATE_PARAMETER - 1] + "…"


def transport_error(exc: GraphError, attempts: int) -> TransportError:
    """The Graph API's refusal as the Deliverer's kind of failure."""
    if exc.throttled:
        wait = exc.retry_after
        if wait is None:
            wait = min(THROTTLE_BACKOFF * 2 ** max(attempts - 1, 0), THROTTLE_BACKOFF_MAX)
        return TransportError(f"whatsapp throttled: {exc}", retry_after=wait)
    return TransportError(f"whatsapp: {exc}", permanent=exc.permanent)


class WhatsAppTransport:
    def __init__(self, sender: Sender, engine: Engine, settings: Settings) -> None:
        self.sender = sender
        self.engine = engine
        self.templates = dict(settings.whatsapp_templates)
        self.languages = dict(settings.whatsapp_template_languages)
        #: the clock the window is measured by (tests move it)
        self.now = utcnow

    async def send(self, notice: Notice) -> str | None:
        if notice.kind in EDIT_KINDS:
            raise TransportError("WhatsApp cannot edit a message it sent", permanent=True)
        text = str(notice.payload.get("text") or "")
        if not text.strip():
            raise TransportError("empty notice text", permanent=True)
        is_open, last = await asyncio.to_thread(self._window, notice.target)
        try:
            if is_open:
                try:
                    ref = await self._free_form(notice, text)
                except GraphError as exc:
                    if not exc.window_closed:
                        raise
                    ref = await self._template(notice, text, f"Meta: window closed ({exc})")
            else:
                since = last.isoformat() if last else "never"
                ref = await self._template(notice, text, f"last message from them: {since}")
        except GraphError as exc:
            raise transport_error(exc, notice.attempts) from exc
        if ref is not None:
            await asyncio.to_thread(self._record, notice.id or 0, ref)
        return ref if notice.kind in POST_KINDS else None

    def _window(self, target: str) -> tuple[bool, datetime | None]:
        with session_scope(self.engine) as session:
            last = chat_contacts.last_inbound(session, CHANNEL, target)
            return chat_contacts.within(session, CHANNEL, target, WINDOW, self.now()), last

    def _record(self, notice_id: int, ref: str) -> None:
        with session_scope(self.engine) as session:
            notices.record_ref(session, notice_id, ref)

    async def _free_form(self, notice: Notice, text: str) -> str | None:
        lang = await asyncio.to_thread(person_lang, self.engine, CHANNEL, notice.target)
        choices = choices_of(notice.payload.get("choices"))
        return await self.sender.send_text(notice.target, text, choices, lang, retries=None)

    async def _template(self, notice: Notice, text: str, why: str) -> str:
        name = self.templates.get(notice.kind) or self.templates.get("default")
        if not name:
            raise TransportError(
                f"outside WhatsApp's 24-hour window ({why}) and no template for {notice.kind} "
                "(WHATSAPP_TEMPLATES)",
                permanent=True,
            )
        lang = await asyncio.to_thread(person_lang, self.engine, CHANNEL, notice.target)
        message = {
            "type": "template",
            "template": {
                "name": name,
                "language": {"code": self.languages.get(lang, lang)},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "text": template_parameter(text)}],
                    }
                ],
            },
        }
        return await self.sender.graph.send(notice.target, message)
