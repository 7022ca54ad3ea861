"""Telegram: employees talk to the helpdesk in a private chat, operators act on alerts in
their group. python-telegram-bot 22 over the Bot API (official or self-hosted).

Setting up:

1. Create the bot with @BotFather; put its token in TELEGRAM_BOT_TOKEN. `helpdesk run`
   then long-polls (one process per token: a second poller gets 409 Conflict).
2. Several replicas, or no outbound long poll: set TELEGRAM_WEBHOOK_URL (public HTTPS
   URL of /telegram/webhook) and TELEGRAM_WEBHOOK_SECRET, then run
   `helpdesk telegram set-webhook` once.
3. Operator groups: add the bot to the group and either list the group id in
   TELEGRAM_OPERATOR_CHATS or have an admin (linked with /tautkan) send /daftarkan_grup
   there. Privacy mode may stay on: commands and replies to the bot reach it, and the
   resolution note is asked with ForceReply.
4. Operators link their Telegram account once: `helpdesk people link-code EMAIL`, then
   /tautkan CODE in a private chat with the bot.

Import from here; the underscored modules may move.
"""

from bot.channels.telegram._app import (
    WEBHOOK_PATH,
    TelegramChannel,
    build_application,
    set_webhook,
)
from bot.channels.telegram._inbound import CHANNEL, Inbound
from bot.channels.telegram._outgoing import ChatPacer, Sender, keyboard, split_text
from bot.channels.telegram._spec import SPEC, start
from bot.channels.telegram._transport import TelegramTransport

__all__ = [
    "CHANNEL",
    "SPEC",
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
