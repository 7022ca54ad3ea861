"""Telegram: employees talk to the helpdesk in a private chat, operators act on alerts in
their group. python-telegram-bot 22 over the Bot API (official or self-hosted).

Import from here; the underscored modules may move.
"""

from bot.channels.telegram._app import (
    WEBHOOK_PATH,
    TelegramChannel,
    build_application,
    set_webhook,
    start,
)
from bot.channels.telegram._inbound import CHANNEL, Inbound
from bot.channels.telegram._outgoing import ChatPacer, Sender, keyboard, split_text
from bot.channels.telegram._transport import TelegramTransport

__all__ = [
    "CHANNEL",
    "WEBHOOK_PATH",
    "ChatPacer",
    "Inbound",
    "Sender",
    "TelegramChannel",
    "TelegramTransport",
    "build_application",
    "keyboard",
    "set_webhook",
    "split_text",
    "start",
]
