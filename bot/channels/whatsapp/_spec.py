"""WhatsApp as the web app sees it: enabled when its four settings are present, one
webhook route, a start hook that registers the outbox transport and the inbox handler,
and the Cloud API's pacing."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack

from starlette.routing import BaseRoute

from bot.channels.base import Capabilities, ChannelSpec, Slot
from bot.channels.whatsapp._app import MAX_BODY_BYTES, WEBHOOK_PATH, WhatsAppChannel, build_graph
from bot.channels.whatsapp._inbound import CHANNEL
from bot.channels.whatsapp._outgoing import MAX_TEXT
from bot.config import Settings
from bot.delivery import Deliverer, Pacing
from bot.intake import Intake
from bot.runtime import Helpdesk


def enabled(settings: Settings) -> bool:
    return all(
        bool(v and (v.get_secret_value() if hasattr(v, "get_secret_value") else v))
        for v in (
            settings.whatsapp_access_token,
            settings.whatsapp_phone_number_id,
            settings.whatsapp_app_secret,
            settings.whatsapp_verify_token,
        )
    )


def routes(_helpdesk: Helpdesk, slot: Slot[WhatsAppChannel]) -> Sequence[BaseRoute]:
    return [slot.route(WEBHOOK_PATH, WhatsAppChannel.webhook, methods=["GET", "POST"])]


async def start(
    helpdesk: Helpdesk, deliverer: Deliverer, intake: Intake, stack: AsyncExitStack
) -> WhatsAppChannel:
    """Start hook (bot.channels.base.StartHook). Nothing is called at Meta here: the
    token is checked by the first send, whose failure (code 190) is reported to admins."""
    channel = WhatsAppChannel(helpdesk, build_graph(helpdesk.settings))
    stack.push_async_callback(channel.aclose)
    channel.inbound.attach(intake)
    deliverer.register(CHANNEL, channel.transport)
    return channel


SPEC: ChannelSpec[WhatsAppChannel] = ChannelSpec(
    name=CHANNEL,
    enabled=enabled,
    capabilities=Capabilities(
        delivery="push",
        buttons=True,
        edits=False,  # the Cloud API cannot edit a sent message
        images=True,
        documents=True,
        max_length=MAX_TEXT,  # 4096 characters
    ),
    # Cloud API: 80 messages a second per number by default; one user's "pair rate" is
    # about one message every 6 seconds (bursts are tolerated, then error 131056)
    pacing=Pacing(rate=80.0, interval=6.0),
    routes=routes,
    start=start,
    body_limits={WEBHOOK_PATH: MAX_BODY_BYTES},
)
