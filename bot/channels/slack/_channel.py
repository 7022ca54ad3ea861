"""The Slack app: one slack-bolt `AsyncApp` whose listeners store the work in the inbox
and then acknowledge (bolt answers Slack once the listener returned), so work Slack was
told we have is never lost; the inbox's workers do it (`run_stored`, in _listeners.py).
Only opening a modal runs at once, in a task: its trigger_id lasts three seconds.

Where a turn's answer goes, and which conversation it belongs to:
- a DM with the bot: the DM itself (chat_id = the DM channel id);
- an app mention, a slash command, a button on an ephemeral message or in App Home:
  the user's DM conversation; answers go to the DM, or ephemerally via response_url;
- a button on a message in a channel (operator alerts): that channel, one conversation
  per user (`group=True`), answers ephemeral to the presser.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.channels.base import first_delivery
from bot.channels.slack import _work as work
from bot.channels.slack._blocks import (
    REPORT_VIEW,
    RESOLVE_VIEW,
    message,
    report_modal,
    resolve_modal,
)
from bot.channels.slack._body import readable
from bot.channels.slack._mrkdwn import from_slack, strip_leading_mention
from bot.channels.slack._people import SlackPeople
from bot.channels.slack._transport import SlackTransport, retry_handlers
from bot.core.ticket_states import NUMBER
from bot.dialogue.engine import COMMANDS
from bot.dialogue.messages import Choice, Incoming, Reply
from bot.dialogue.owed import Answer
from bot.i18n import t
from bot.intake import Intake, check_lease
from bot.runtime import Helpdesk
from storage.inbox import Arrival

log = logging.getLogger(__name__)

CHANNEL = SOURCE = "slack"
#: which `stats` counter a stored kind of work finishes
STAT_OF = {
    "dm": "event",
    "mention": "event",
    "home": "event",
    "command": "command",
    "action": "action",
    "report": "view",
    "resolve": "view",
    "change": "view",
    "problem": "view",
    "decision": "view",
}
#: the platform id of the stored work being done, for the turns it causes
_DELIVERY: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "slack_delivery", default=None
)
MAX_BODY = 1 << 20
REPORT_ACTIONS = ("menu:report", "rep:start")
Respond = Callable[..., Awaitable[Any]]


def dm_text(text: str) -> str:
    """Slack's client claims a leading "/" for slash commands, so in a DM the core's
    commands are typed without it: "bantuan", "tautkan KODE", "status INC-2026-000001"."""
    words = text.split()
    if not words or text.startswith("/") or words[0].lower() not in COMMANDS:
        return text
    head = words[0].lower()
    if (
        len(words) == 1
        or NUMBER.match(words[1])
        or (len(words) == 2 and head in ("tautkan", "link", "bahasa", "language"))
    ):
        return "/" + text
    return text


class _TokenFromClient(logging.Filter):
    """bolt also reads SLACK_BOT_TOKEN from the environment and warns that it goes unused
    when a client is given; passing the token through our client is deliberate."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_TokenFromClient())


@dataclass(frozen=True)
class Where:
    """Where a turn happens: `chat_id`/`group` key the core's conversation; `mode` is
    "dm", "channel" (answers ephemeral in `channel`) or "ephemeral" (via response_url)."""

    chat_id: str
    group: bool
    mode: str
    channel: str


class SlackChannel:
    """The running Slack channel: bolt app, Web API client, outbox transport and the
    work in flight. Built by `bot.channels.slack.open_channel`, which registers the
    listeners."""

    def __init__(
        self, helpdesk: Helpdesk, *, session: aiohttp.ClientSession | None = None, workers: int = 16
    ) -> None:
        settings = helpdesk.settings
        if settings.slack_bot_token is None or settings.slack_signing_secret is None:
            raise ValueError("SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are required")
        base_url = settings.slack_api_base_url or AsyncWebClient.BASE_URL
        self.helpdesk = helpdesk
        self.engine = helpdesk.engine
        self.conversations = helpdesk.conversations
        self.timezone = settings.timezone
        self.public_url = settings.public_url.rstrip("/")
        self.client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            session=session,
            retry_handlers=retry_handlers(),
        )
        secret = settings.slack_signing_secret.get_secret_value()
        self.verifier = SignatureVerifier(secret)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret,
            # the listener's answer is sent when it returned: after the inbox has the work
            process_before_response=True,
            name="helpdesk",
        )
        self.handler = AsyncSlackRequestHandler(self.app)
        self.app_token = (
            settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
        )
        self.transport = SlackTransport(self.client)
        self.people = SlackPeople(self.client, self.engine)
        #: finished units of work by kind ("event", "duplicate", "command", "action", "view", "error").
        self.stats: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        #: work in flight at once (DB turns and Web API calls); the rest waits, already acked.
        self._slots = asyncio.Semaphore(workers)
        self.intake: Intake | None = None

    # -- running ----------------------------------------------------------------------

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    def socket_mode_handler(self) -> AsyncSocketModeHandler:
        """Built, not connected: `await handler.connect_async()` opens the websocket."""
        assert self.app_token is not None
        return AsyncSocketModeHandler(self.app, self.app_token)

    async def endpoint(self, request: Request) -> Response:
        """POST /slack/events: events, commands and interactions. The signature is checked
        before bolt parses anything (bolt checks it again), so an unsigned body never
        reaches a parser; a signed body bolt cannot read is refused too (_body.py)."""
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "request too large"}, status_code=413)
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        try:
            ascii_ = timestamp.isascii() and signature.isascii()  # compare_digest needs it
            valid = (
                ascii_
                and timestamp.isdigit()
                and self.verifier.is_valid(body, timestamp, signature)
            )
        except (UnicodeDecodeError, ValueError, TypeError):
            valid = False
        if not valid:
            return JSONResponse({"error": "invalid request"}, status_code=401)
        if not readable(body, request.headers.get("content-type")):
            log.warning("slack: a signed request with a body bolt cannot read, refused")
            return JSONResponse({"error": "malformed body"}, status_code=400)
        return await self.handler.handle(request)

    async def store(self, kind: str, body: dict[str, Any], **extra: Any) -> None:
        """Put a unit of work in the inbox (the listener acknowledges after this). The
        key is Slack's own id of the delivery (event_id; trigger_id of a command or an
        interaction), so Slack's retry of it, on any replica, is stored once."""
        if self.intake is None:
            raise RuntimeError("the slack channel has no inbox attached")
        key = str(body.get("event_id") or body.get("trigger_id") or "")
        if not key:
            key = "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        user = _user_of(body)
        payload = json.dumps({"kind": kind, "key": key, "body": body, **extra})
        new = await self.intake.put(Arrival(SOURCE, key, f"{SOURCE}:{user}", payload))
        if not new:
            self.stats["duplicate"] += 1
            self.stats[STAT_OF[kind]] += 1

    def spawn(self, kind: str, work_: Coroutine[Any, Any, None]) -> None:
        """Run the work after the ack (only what cannot wait for the inbox: opening a
        modal); failures are logged, never raised into bolt."""
        task = asyncio.create_task(self._guard(kind, work_))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, kind: str, work_: Coroutine[Any, Any, None]) -> None:
        try:
            async with self._slots:
                await work_
        except Exception:
            log.exception("slack %s failed", kind)
            self.stats["error"] += 1
        finally:
            self.stats[kind] += 1

    async def drain(self, timeout: float = 10.0) -> None:
        """Let work in flight finish (shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def handle(
        self,
        where: Where,
        user: str,
        *,
        text: str | None = None,
        action: str | None = None,
        name: str | None = None,
    ) -> Answer:
        """A turn; on a re-run of its delivery, what it still owes (sent by `answer`)."""
        delivery = _DELIVERY.get()
        if delivery is not None and action is not None:
            delivery = f"{delivery}:{action}"  # a command's cancel-then-ask is two turns
        msg = Incoming(
            channel=CHANNEL,
            chat_id=where.chat_id,
            user_id=user,
            text=text,
            action=action,
            display_name=name,
            group=where.group,
            dedupe_key=delivery,
        )
        return await asyncio.to_thread(self.conversations.answer, msg)

    async def first_delivery(self, body: dict[str, Any]) -> bool:
        """Slack retries an event it thinks we missed (X-Slack-Retry-Num); the event_id
        is recorded in the database, so a retry, on any replica, is processed once."""
        event_id = body.get("event_id")
        if not event_id:
            return True
        if await asyncio.to_thread(first_delivery, self.engine, CHANNEL, str(event_id)):
            return True
        self.stats["duplicate"] += 1
        return False

    # -- answering --------------------------------------------------------------------

    async def answer(
        self,
        where: Where,
        user: str,
        answer: Answer,
        *,
        respond: Respond | None = None,
        pressed: bool = False,
    ) -> None:
        """Refusals of a button press are shown to the presser only; the rest goes where
        the turn happened. What is sent is marked so (one mark for the answer's one or two
        Web API calls: a crash between them repeats the first on the re-run). A run that
        lost its inbox lease sends nothing: the event's new holder does."""
        if answer.unsent:
            check_lease()
        await self._post(where, user, answer.unsent, respond=respond, pressed=pressed)
        if answer.delivery is not None and answer.sent < len(answer.replies):
            await asyncio.to_thread(self.conversations.mark_sent, answer, len(answer.replies))

    async def _post(
        self,
        where: Where,
        user: str,
        replies: list[Reply],
        *,
        respond: Respond | None = None,
        pressed: bool = False,
    ) -> None:
        errors = [r for r in replies if r.kind == "error"] if pressed else []
        normal = [r for r in replies if r not in errors]
        if where.mode == "ephemeral" and respond is not None:
            if replies:
                await respond(**message(replies), response_type="ephemeral", replace_original=False)
            return
        if where.mode == "channel":
            errors, normal = errors + normal, []
        if errors:
            await self.client.chat_postEphemeral(
                channel=where.channel, user=user, **message(errors)
            )
        if normal:
            await self.client.chat_postMessage(channel=where.channel, **message(normal))

    async def tell(
        self,
        where: Where,
        user: str,
        outcome: work.Outcome,
        respond: Respond | None = None,
        choices: list[Choice] | None = None,
    ) -> None:
        reply = Reply(outcome.text, choices or [], kind="error" if outcome.error else "text")
        await self.answer(where, user, Answer([reply]), respond=respond, pressed=True)

    async def dm_where(self, user: str) -> Where:
        dm = await self.people.dm_channel(user)
        return Where(dm, False, "dm", dm)

    async def where_pressed(self, body: dict[str, Any]) -> Where:
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        container = body.get("container") or {}
        if container.get("is_ephemeral") and body.get("response_url"):
            dm = await self.people.dm_channel(user)
            return Where(dm, False, "ephemeral", channel or dm)
        if channel and channel.startswith("D"):
            self.people.remember_dm(user, channel)
            return Where(channel, False, "dm", channel)
        if channel:
            return Where(channel, True, "channel", channel)
        return await self.dm_where(user)  # App Home

    # -- listeners' work --------------------------------------------------------------

    async def on_dm(self, body: dict[str, Any]) -> None:
        """A turn: its event_id is recorded in the turn's own transaction."""
        event = body["event"]
        user, channel = event["user"], event["channel"]
        self.people.remember_dm(user, channel)
        name = await self.people.link(user)
        where = Where(channel, False, "dm", channel)
        replies = await self.handle(
            where, user, text=dm_text(from_slack(event.get("text"))), name=name
        )
        await self.answer(where, user, replies)

    async def on_mention(self, body: dict[str, Any]) -> None:
        """Mentions are answered in the user's DM: a channel is no place for a guided
        report, and ticket updates go to the DM anyway. A turn: its event_id is recorded
        in the turn's own transaction."""
        event = body["event"]
        user = event["user"]
        name = await self.people.link(user)
        where = await self.dm_where(user)
        text = dm_text(from_slack(strip_leading_mention(event.get("text"))))
        replies = await self.handle(where, user, text=text, name=name)
        hinted = replies.repeated_nothing_owed  # a re-run after all was said
        await self.answer(where, user, replies)
        if event.get("channel") and event["channel"] != where.channel and not hinted:
            lang = await asyncio.to_thread(self.people.lang, user)
            await self.client.chat_postEphemeral(
                channel=event["channel"], user=user, **message([Reply(t("slack.mention_dm", lang))])
            )

    async def on_home(self, body: dict[str, Any]) -> None:
        event = body["event"]
        if event.get("tab", "home") != "home" or not await self.first_delivery(body):
            return
        user = event["user"]
        await self.people.link(user)
        view = await asyncio.to_thread(work.home, self.engine, user, self.timezone)
        await self.client.views_publish(user_id=user, view=view)

    async def on_action(self, body: dict[str, Any], respond: Respond) -> None:
        action = (body.get("actions") or [{}])[0]
        value = str(action.get("value") or "")
        user = body["user"]["id"]
        name = await self.people.link(user)
        where = await self.where_pressed(body)
        if value in REPORT_ACTIONS:
            description = ""
            if value == "rep:start" and not where.group:
                _, data = await asyncio.to_thread(work.conversation, self.engine, where.chat_id)
                description = str(data.get("query") or "")
            await self.open_report(body["trigger_id"], user, description)
            return
        if value.startswith("t:resolve:"):
            await self.open_resolve(
                body["trigger_id"], user, value.split(":", 2)[2], where, respond
            )
            return
        replies = await self.handle(where, user, action=value[:64], name=name)
        await self.answer(where, user, replies, respond=respond, pressed=True)

    async def open_report(self, trigger_id: str, user: str, description: str = "") -> None:
        services = await asyncio.to_thread(work.services, self.engine)
        lang = await asyncio.to_thread(self.people.lang, user)
        await self.client.views_open(
            trigger_id=trigger_id, view=report_modal(services, lang, description)
        )

    async def open_resolve(
        self, trigger_id: str, user: str, number: str, where: Where, respond: Respond | None
    ) -> None:
        """Selesai asks for the resolution note (and root cause): in Slack, a modal."""
        ticket, refusal = await asyncio.to_thread(work.resolve_gate, self.engine, user, number)
        if ticket is None:
            assert refusal is not None
            await self.tell(where, user, refusal, respond)
            return
        origin = where.channel if where.mode == "channel" else ""
        view = resolve_modal(
            ticket["number"], ticket["title"], ticket["type"], ticket["lang"], origin
        )
        await self.client.views_open(trigger_id=trigger_id, view=view)

    async def submit_report(self, body: dict[str, Any], form: dict[str, str]) -> None:
        user = body["user"]["id"]
        name = await self.people.link(user)
        where = await self.dm_where(user)
        outcome = await asyncio.to_thread(
            work.open_report,
            self.engine,
            user,
            name,
            where.chat_id,
            form,
            self.helpdesk.conversations.limits,
            self.helpdesk.conversations.anonymous_channels,
        )
        lang = await asyncio.to_thread(self.people.lang, user)
        status = (
            [Choice(t("menu.status", lang), f"t:status:{outcome.number}")] if outcome.number else []
        )
        await self.tell(where, user, outcome, choices=status)

    async def submit_resolve(
        self, body: dict[str, Any], form: dict[str, str], meta: dict[str, str]
    ) -> None:
        user = body["user"]["id"]
        note, cause = form.get("note", "").strip(), form.get("cause", "").strip() or None
        outcome = await asyncio.to_thread(
            work.resolve, self.engine, user, meta.get("number", ""), note, cause
        )
        await self.tell(await self.where_from(meta, user), user, outcome)

    async def where_from(self, meta: dict[str, Any], user: str) -> Where:
        """Where a submitted form's outcome is told: the operator channel it was opened
        from (its `origin` in the view's metadata), else the user's DM."""
        origin = str(meta.get("origin") or "")
        return Where(origin, True, "channel", origin) if origin else await self.dm_where(user)


def _user_of(body: dict[str, Any]) -> str:
    """Whose work it is: one person's events are done in the order Slack sent them."""
    event, user = body.get("event"), body.get("user")
    event = event if isinstance(event, dict) else {}
    user = user if isinstance(user, dict) else {}
    return str(event.get("user") or user.get("id") or body.get("user_id") or "anyone")


__all__ = [
    "CHANNEL",
    "REPORT_VIEW",
    "RESOLVE_VIEW",
    "SlackChannel",
    "Where",
    "dm_text",
]
