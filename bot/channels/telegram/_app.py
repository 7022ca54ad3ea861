"""The PTB Application and the running channel around it: long polling by default, our
own `/telegram/webhook` route when TELEGRAM_WEBHOOK_URL is set (see _spec.py for how the
web app starts it).

The webhook route stores the update in the inbox and answers at once (Telegram resends
an update whose webhook is slow); the inbox's workers process it, one chat's updates in
order, and a redelivery finds its update already stored.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any

from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import Response
from telegram import LinkPreviewOptions
from telegram.constants import UpdateType
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from bot.channels.telegram._inbound import CHANNEL, Inbound
from bot.channels.telegram._outgoing import Sender
from bot.channels.telegram._transport import TelegramTransport
from bot.config import Settings
from bot.core import alerts
from bot.runtime import Helpdesk
from storage.db import session_scope

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024
#: updates handled at once; each turn runs in a worker thread.
CONCURRENT_UPDATES = 16
#: HTTP connections to the Bot API (replies, notices, edits).
CONNECTION_POOL = 32
#: PTB's per-group limiter: Telegram allows about 20 messages a minute in a group.
GROUP_MESSAGES_PER_MINUTE = 20
#: the update kinds we act on; others are not even sent to us.
ALLOWED_UPDATES = [
    UpdateType.MESSAGE,
    UpdateType.EDITED_MESSAGE,
    UpdateType.CALLBACK_QUERY,
    UpdateType.MY_CHAT_MEMBER,
]
_SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def api_base(settings: Settings) -> str | None:
    """TELEGRAM_API_BASE_URL for a self-hosted Bot API server; None keeps the library's
    default (Telegram's own)."""
    return settings.telegram_api_base_url.rstrip("/") if settings.telegram_api_base_url else None


def build_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    base = api_base(settings)
    rate = settings.telegram_rate_limit
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = ApplicationBuilder().token(
        settings.telegram_bot_token.get_secret_value()
    )
    if base is not None:
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    builder = (
        builder.rate_limiter(
            AIORateLimiter(
                overall_max_rate=rate,
                overall_time_period=1 if rate > 0 else 0,
                group_max_rate=GROUP_MESSAGES_PER_MINUTE if rate > 0 else 0,
                group_time_period=60,
                max_retries=0,  # replies ask for retries per call; notices go back to the outbox
            )
        )
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .concurrent_updates(CONCURRENT_UPDATES)
        # httpcore checks every pooled connection on each request: PTB's 256 costs more
        # than it gives; a few more than the updates in flight is enough
        .connection_pool_size(CONNECTION_POOL)
        .job_queue(None)  # our scheduler runs the timed work
    )
    if settings.telegram_webhook_url:
        builder = builder.updater(None)
    return builder.build()


def prepare(settings: Settings, engine: Engine) -> None:
    """Operator groups from settings are registered (by configuration, not a person).
    Old dedupe keys go with the daily retention job (bot.core.retention)."""
    with session_scope(engine) as s:
        for chat_id in settings.telegram_operator_chats:
            alerts.register_operator_channel(
                s, CHANNEL, str(chat_id), None, name=f"telegram {chat_id}"
            )


class TelegramChannel:
    """The running channel (what the start hook returns, and the webhook route reaches):
    the PTB application, the inbound side and the outbox transport."""

    def __init__(
        self, helpdesk: Helpdesk, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> None:
        self.settings = helpdesk.settings
        self.application = application
        self.sender = Sender(application.bot)
        self.inbound = Inbound(helpdesk.conversations, helpdesk.engine, self.sender)
        self.inbound.install(application)
        self.transport = TelegramTransport(self.sender)
        secret = self.settings.telegram_webhook_secret
        self._secret = secret.get_secret_value().encode() if secret else b""

    async def webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not self._secret or not hmac.compare_digest(given, self._secret):
            log.warning(
                "telegram webhook call with a wrong or missing secret from %s", request.client
            )
            return Response(status_code=403)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return Response(status_code=413)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return Response(status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return Response(status_code=400)
        await self.inbound.put(data)  # stored: processed by the inbox's workers
        return Response(status_code=200)


async def set_webhook(settings: Settings, *, drop_pending_updates: bool = False) -> str:
    """Register TELEGRAM_WEBHOOK_URL with its secret; done once, not at every start."""
    url, secret = settings.telegram_webhook_url, settings.telegram_webhook_secret
    if not url or not secret:
        raise ValueError("TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET must both be set")
    if not _SECRET_CHARS.match(secret.get_secret_value()):
        raise ValueError(
            "TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)"
        )
    if not url.startswith("https://"):
        log.warning(
            "Telegram only calls https:// webhooks (a self-hosted Bot API server may differ): %s",
            url,
        )
    if not url.rstrip("/").endswith(WEBHOOK_PATH):
        log.warning(
            "the webhook URL does not end in %s; make sure a proxy maps it there", WEBHOOK_PATH
        )
    bot = build_application(settings.model_copy(update={"telegram_webhook_url": url})).bot
    async with bot:
        await bot.set_webhook(
            url,
            secret_token=secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=drop_pending_updates,
        )
    return url
