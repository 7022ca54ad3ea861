"""The webhook's two halves: at the route, the signature check and the split of one
POST into inbox arrivals (one per message or status, deduped on its id); in the
inbox's workers, each arrival becomes a conversation turn or a receipt on a notice.

A Cloud API POST batches changes: `entry[].changes[].value` carries `messages` (what
people wrote or pressed) and `statuses` (what became of our messages: sent, delivered,
read, failed). Meta redelivers a POST that was not answered 200 quickly, for up to
7 days: the arrivals' keys make a redelivery change nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.channels.base import first_delivery, person_lang
from bot.channels.whatsapp._graph import GraphError
from bot.channels.whatsapp._outgoing import Sender
from bot.channels.whatsapp._people import arrived
from bot.core import notices
from bot.dialogue.engine import Conversations
from bot.dialogue.messages import Incoming
from bot.i18n import t
from bot.intake import Intake, LeaseLost, check_lease
from storage.db import session_scope
from storage.inbox import Arrival
from storage.models import utcnow

log = logging.getLogger(__name__)

CHANNEL = SOURCE = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
RECEIPTS = frozenset(notices.RECEIPT_ORDER)
#: messages that are no question: an emoji reaction to one of ours, a system notice
#: (the user changed their number), a message WhatsApp itself could not read
SILENT_TYPES = frozenset({"reaction", "system", "ephemeral"})


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the raw body under
    the app secret; compared in constant time, as bytes (a header with other than
    ASCII in it is simply wrong, not an error)."""
    if not secret or not header:
        return False
    given = header.strip().encode("latin-1", "replace")
    expected = b"sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(given.lower(), expected)


def _at(value: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return utcnow()


def arrivals_of(data: dict[str, Any], phone_number_id: str) -> list[Arrival]:
    """The POST's messages and statuses for our phone number, each as one arrival in
    its person's lane (their messages and our receipts to them, in order)."""
    out: list[Arrival] = []
    for entry in data.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field") != "messages":
                continue
            ours = str((value.get("metadata") or {}).get("phone_number_id") or "")
            if ours != phone_number_id:
                log.info("whatsapp: change for phone number id %s is not ours: ignored", ours)
                continue
            names = {
                str(c.get("wa_id")): ((c.get("profile") or {}).get("name"))
                for c in value.get("contacts") or []
                if isinstance(c, dict)
            }
            for message in value.get("messages") or []:
                if (
                    not isinstance(message, dict)
                    or not message.get("id")
                    or not message.get("from")
                ):
                    continue
                sender = str(message["from"])
                event = {"message": message, "name": names.get(sender)}
                out.append(
                    Arrival(
                        SOURCE,
                        f"msg:{message['id']}"[:200],
                        f"{SOURCE}:{sender}",
                        json.dumps(event),
                    )
                )
            for status in value.get("statuses") or []:
                if not isinstance(status, dict) or not status.get("id") or not status.get("status"):
                    continue
                key = f"status:{status['id']}:{status['status']}"[:200]
                lane = f"{SOURCE}:{status.get('recipient_id') or status['id']}"
                out.append(Arrival(SOURCE, key, lane, json.dumps({"status": status})))
    return out


def _error_of(status: dict[str, Any]) -> str | None:
    errors = status.get("errors") or []
    if not errors or not isinstance(errors[0], dict):
        return None
    first = errors[0]
    details = (
        (first.get("error_data") or {}).get("details")
        if isinstance(first.get("error_data"), dict)
        else None
    )
    text = f"code {first.get('code')}: {first.get('title') or first.get('message') or ''}"
    return f"{text} ({details})" if details else text


class ReceiptTooEarly(Exception):
    """A receipt that names no notice while a notice to its recipient is being sent:
    the send's message id is not recorded yet. The inbox runs the receipt again later."""


class Inbound:
    def __init__(self, conversations: Conversations, engine: Engine, sender: Sender) -> None:
        self.conversations = conversations
        self.engine = engine
        self.sender = sender
        self.intake: Intake | None = None
        #: handler errors; tests assert it stays empty
        self.errors: list[BaseException] = []

    def attach(self, intake: Intake) -> None:
        self.intake = intake
        intake.register(SOURCE, self.process_payload)

    async def put(self, arrivals: list[Arrival]) -> int:
        """Stores the arrivals; returns how many were new (the rest were redeliveries)."""
        if self.intake is None:
            raise RuntimeError("the whatsapp channel has no inbox attached")
        fresh = await asyncio.gather(*(self.intake.put(a) for a in arrivals))
        return sum(fresh)

    async def process_payload(self, payload: str) -> None:
        event = json.loads(payload)
        try:
            if "status" in event:
                await asyncio.to_thread(self._receipt, event["status"])
            else:
                await self._message(event["message"], event.get("name"))
        except (ReceiptTooEarly, LeaseLost):
            raise  # expected now and then: not a handler error
        except Exception as exc:
            self.errors.append(exc)
            raise

    # -- receipts -------------------------------------------------------------------

    def _receipt(self, status: dict[str, Any]) -> None:
        receipt = str(status["status"])
        if receipt not in RECEIPTS:
            log.info("whatsapp status %r of %s: not recorded", receipt, status["id"])
            return
        with session_scope(self.engine) as session:
            notice = notices.record_receipt(
                session,
                CHANNEL,
                str(status["id"]),
                receipt,
                at=_at(status.get("timestamp")),
                error=_error_of(status),
            )
            if notice is None and notices.sending_to(
                session, CHANNEL, str(status.get("recipient_id") or "")
            ):
                raise ReceiptTooEarly(
                    f"status {receipt} of {status['id']} before its send is recorded"
                )
        if notice is None:
            log.debug("whatsapp status %s of %s: no notice sent it", receipt, status["id"])

    # -- messages -------------------------------------------------------------------

    async def _message(self, message: dict[str, Any], name: str | None) -> None:
        wa_id, message_id = str(message["from"]), str(message["id"])
        await asyncio.to_thread(
            arrived, self.engine, CHANNEL, wa_id, name, _at(message.get("timestamp"))
        )
        if message.get("group_id"):  # WhatsApp groups: not a place the helpdesk serves
            log.info("whatsapp group message %s: ignored", message_id)
            return
        if message.get("type") in SILENT_TYPES:
            log.debug("whatsapp %s %s: nothing to answer", message.get("type"), message_id)
            return
        text, action = self._content(message)
        if text is None and action is None:
            if not await asyncio.to_thread(
                first_delivery, self.engine, CHANNEL, f"msg:{message_id}"
            ):
                return
            lang = await asyncio.to_thread(person_lang, self.engine, CHANNEL, wa_id)
            await self.sender.send_text(wa_id, t("whatsapp.unsupported", lang), (), lang)
            return
        incoming = Incoming(
            channel=CHANNEL,
            chat_id=wa_id,
            user_id=wa_id,
            text=text,
            action=action,
            display_name=name,
            dedupe_key=f"msg:{message_id}",
        )
        answer = await asyncio.to_thread(self.conversations.answer, incoming)
        if answer.sent >= len(answer.replies):
            return
        lang = await asyncio.to_thread(self.conversations.lang, incoming)
        try:
            for i in range(answer.sent, len(answer.replies)):
                check_lease()  # a run that lost its inbox lease leaves the rest to its holder
                await self.sender.send_reply(wa_id, answer.replies[i], lang)
                await asyncio.to_thread(self.conversations.mark_sent, answer, i + 1)
        except GraphError as exc:
            if not exc.permanent and answer.delivery is not None:
                # the turn is committed with its replies: the inbox's re-run of this
                # message sends those still owed, and runs nothing again
                raise
            log.error("whatsapp reply to …%s for %s not delivered: %s", wa_id[-4:], message_id, exc)

    @staticmethod
    def _content(message: dict[str, Any]) -> tuple[str | None, str | None]:
        """(text, action): a typed text, or the id of the pressed button or list row."""
        kind = message.get("type")
        if kind == "text":
            body = (message.get("text") or {}).get("body")
            return (str(body), None) if body else (None, None)
        if kind == "interactive":
            interactive = message.get("interactive") or {}
            picked = interactive.get("button_reply") or interactive.get("list_reply") or {}
            return (None, str(picked["id"])) if picked.get("id") else (None, None)
        if kind == "button":  # a template's quick-reply button: its text, as typed
            body = (message.get("button") or {}).get("text")
            return (str(body), None) if body else (None, None)
        return None, None
