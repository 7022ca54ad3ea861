"""Slack as the web app sees it: enabled by SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET;
HTTP mode at POST /slack/events of our web app, or Socket Mode when SLACK_APP_TOKEN is
set too. The Deliverer sends outbox notices through the channel's transport."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack

import aiohttp
from starlette.routing import BaseRoute

from bot.channels.base import Capabilities, ChannelSpec, Slot
from bot.channels.slack._blocks import MAX_SECTION
from bot.channels.slack._channel import CHANNEL, MAX_BODY, SlackChannel
from bot.channels.slack._listeners import attach, register
from bot.channels.slack._mrkdwn import escape
from bot.config import Settings
from bot.core import alerts
from bot.delivery import Deliverer, Pacing
from bot.intake import Intake
from bot.runtime import Helpdesk
from storage.db import session_scope

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def enabled(settings: Settings) -> bool:
    return bool(settings.slack_bot_token) and bool(settings.slack_signing_secret)


def mrkdwn_len(text: str) -> int:
    """Slack counts a section's text after our escaping ("&" is five characters then)."""
    return len(escape(text))


def open_channel(helpdesk: Helpdesk, session: aiohttp.ClientSession | None = None) -> SlackChannel:
    """The channel with its bolt listeners registered."""
    channel = SlackChannel(helpdesk, session=session)
    register(channel)
    return channel


def register_operator_channels(helpdesk: Helpdesk) -> None:
    """SLACK_OPERATOR_CHANNELS come from configuration: registered with by=None."""
    with session_scope(helpdesk.engine) as s:
        for target in helpdesk.settings.slack_operator_channels:
            alerts.register_operator_channel(
                s, CHANNEL, target.strip(), None, name=f"slack {target.strip()}"
            )


def routes(helpdesk: Helpdesk, slot: Slot[SlackChannel]) -> Sequence[BaseRoute]:
    """Only in HTTP mode: Socket Mode takes its events over the websocket."""
    if helpdesk.settings.slack_app_token is not None:
        return []
    return [slot.route(EVENTS_PATH, SlackChannel.endpoint, methods=["POST"])]


async def start(
    helpdesk: Helpdesk, deliverer: Deliverer, intake: Intake, stack: AsyncExitStack
) -> SlackChannel:
    """Start hook (bot.channels.base.StartHook)."""
    session = aiohttp.ClientSession()
    stack.push_async_callback(session.close)
    channel = open_channel(helpdesk, session)
    attach(channel, intake)
    await asyncio.to_thread(register_operator_channels, helpdesk)
    deliverer.register(CHANNEL, channel.transport)
    stack.push_async_callback(channel.drain)
    if channel.socket_mode and not intake.claims:
        log.info("slack: Socket Mode runs in the worker processes")
    elif channel.socket_mode:
        handler = channel.socket_mode_handler()
        await handler.connect_async()
        stack.push_async_callback(handler.close_async)
        log.info("slack: Socket Mode connected")
    else:
        log.info("slack: HTTP mode at POST %s", EVENTS_PATH)
    return channel


SPEC: ChannelSpec[SlackChannel] = ChannelSpec(
    name=CHANNEL,
    enabled=enabled,
    capabilities=Capabilities(
        delivery="push",
        buttons=True,
        edits=True,  # chat.update of alert posts
        # the reply's image and document bytes are not uploaded (no files:write); the
        # summary's chart is shown by its public URL instead
        images=False,
        documents=False,
        max_length=MAX_SECTION,  # one section block; a longer text gets more sections
        measure=mrkdwn_len,
    ),
    # chat.postMessage: about 1 message a second per channel
    pacing=Pacing(rate=20.0, interval=1.0),
    routes=routes,
    start=start,
    # interactions carry whole views and messages: more than the web app's default
    body_limits={EVENTS_PATH: MAX_BODY},
)
