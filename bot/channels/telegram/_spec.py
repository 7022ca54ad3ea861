"""Telegram as the web app sees it: enabled by TELEGRAM_BOT_TOKEN, started in the
lifespan (long polling, or the webhook route when TELEGRAM_WEBHOOK_URL is set), and
paced by the Bot API's limits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack

from starlette.routing import BaseRoute

from bot.channels.base import Capabilities, ChannelSpec, Slot, utf16_len
from bot.channels.telegram._app import (
    ALLOWED_UPDATES,
    MAX_UPDATE_BYTES,
    WEBHOOK_PATH,
    TelegramChannel,
    build_application,
    prepare,
)
from bot.channels.telegram._inbound import CHANNEL
from bot.channels.telegram._outgoing import MAX_TEXT
from bot.channels.telegram._transport import is_group_target
from bot.config import Settings
from bot.delivery import Deliverer, Pacing
from bot.intake import Intake
from bot.runtime import Helpdesk

log = logging.getLogger(__name__)


def enabled(settings: Settings) -> bool:
    return bool(settings.telegram_bot_token)  # an empty token is no token


def routes(helpdesk: Helpdesk, slot: Slot[TelegramChannel]) -> Sequence[BaseRoute]:
    """Only in webhook mode: a poller takes no HTTP calls."""
    if not helpdesk.settings.telegram_webhook_url:
        return []
    return [slot.route(WEBHOOK_PATH, TelegramChannel.webhook, methods=["POST"])]


async def start(
    helpdesk: Helpdesk, deliverer: Deliverer, intake: Intake, stack: AsyncExitStack
) -> TelegramChannel:
    """Start hook (bot.channels.base.StartHook): a wrong token or base URL fails here,
    loudly, and so does webhook mode without its secret."""
    settings = helpdesk.settings
    webhook_mode = bool(settings.telegram_webhook_url)
    if webhook_mode and not settings.telegram_webhook_secret:
        raise RuntimeError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_WEBHOOK_URL is set")
    application = build_application(settings)
    channel = TelegramChannel(helpdesk, application)
    await asyncio.to_thread(prepare, settings, helpdesk.engine)
    await application.initialize()  # getMe
    stack.push_async_callback(application.shutdown)
    await application.start()
    stack.push_async_callback(application.stop)
    # after getMe (stored updates name the bot) and before polling puts updates there
    channel.inbound.attach(intake)
    if webhook_mode:
        log.info(
            "telegram: webhook mode on %s (register it with `helpdesk telegram set-webhook`)",
            WEBHOOK_PATH,
        )
    elif not intake.claims:
        log.info("telegram: long polling runs in the worker processes")
    else:
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        stack.push_async_callback(application.updater.stop)
        log.info("telegram: long polling as @%s", application.bot.username)
    deliverer.register(CHANNEL, channel.transport)
    return channel


SPEC: ChannelSpec[TelegramChannel] = ChannelSpec(
    name=CHANNEL,
    enabled=enabled,
    capabilities=Capabilities(
        delivery="push",
        buttons=True,
        edits=True,  # alert posts are edited in place
        images=True,
        documents=True,
        max_length=MAX_TEXT,  # 4096, counted in UTF-16 code units
        measure=utf16_len,
    ),
    # about 30 messages a second per bot, 1 a second per private chat, 20 a minute per group
    pacing=Pacing(rate=30.0, interval=1.0, group_interval=3.0, is_group=is_group_target),
    routes=routes,
    start=start,
    body_limits={WEBHOOK_PATH: MAX_UPDATE_BYTES},
)
