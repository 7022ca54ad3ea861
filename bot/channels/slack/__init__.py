"""The Slack channel: direct messages, app mentions, `/helpdesk`, App Home, and operator
channels whose alerts are edited in place.

`start` is the channel starter `helpdesk run` uses when SLACK_BOT_TOKEN and
SLACK_SIGNING_SECRET are set: HTTP mode at POST /slack/events of our web app, or Socket
Mode when SLACK_APP_TOKEN is set too. The Deliverer sends outbox notices through the
channel's transport under the name "slack".
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

import aiohttp
from starlette.applications import Starlette
from starlette.routing import Route

from bot.channels.slack._channel import CHANNEL, SlackChannel, Where, dm_text
from bot.channels.slack._listeners import register
from bot.channels.slack._mrkdwn import escape, from_slack
from bot.channels.slack._transport import SlackTransport, transport_error
from bot.core import alerts
from bot.delivery import Deliverer
from bot.runtime import Helpdesk
from storage.db import session_scope

log = logging.getLogger(__name__)

__all__ = [
    "CHANNEL", "SlackChannel", "SlackTransport", "Where", "dm_text", "escape", "from_slack",
    "open_channel", "register_operator_channels", "start", "transport_error",
]  # fmt: skip


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


async def start(
    helpdesk: Helpdesk, app: Starlette, deliverer: Deliverer, stack: AsyncExitStack
) -> None:
    session = aiohttp.ClientSession()
    stack.push_async_callback(session.close)
    channel = open_channel(helpdesk, session)
    app.state.slack = channel
    await asyncio.to_thread(register_operator_channels, helpdesk)
    deliverer.register(CHANNEL, channel.transport)
    stack.push_async_callback(channel.drain)
    if channel.socket_mode:
        handler = channel.socket_mode_handler()
        await handler.connect_async()
        stack.push_async_callback(handler.close_async)
        log.info("slack: Socket Mode connected")
    else:
        app.router.routes.append(Route("/slack/events", channel.endpoint, methods=["POST"]))
        log.info("slack: HTTP mode at POST /slack/events")
