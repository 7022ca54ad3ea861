"""`/helpdesk WORD …`: lapor, status, tiket, faq, ringkasan, tautkan, bantuan.

Answers are ephemeral (response_url), so a command typed in a busy channel bothers no
one; the conversation behind them is the user's DM conversation.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from bot.channels.slack import _work as work
from bot.channels.slack._blocks import message
from bot.channels.slack._channel import Respond, SlackChannel, Where
from bot.dialogue.engine import COMMANDS
from bot.dialogue.messages import Reply
from bot.i18n import t

SUBCOMMANDS = {
    "lapor": "report", "report": "report",
    "status": "status",
    "tiket": "tickets", "tiketsaya": "tickets", "tickets": "tickets",
    "faq": "faq", "tanya": "faq", "ask": "faq",
    "ringkasan": "summary", "summary": "summary",
    "tautkan": "link", "link": "link",
    "bantuan": "help", "help": "help",
    "perubahan": "change", "change": "change",
}  # fmt: skip
#: what the core is asked for each subcommand
CORE_TEXT = {
    "status": "/status {rest}", "tickets": "/tiket", "link": "/tautkan {rest}",
    # `/helpdesk perubahan` and `… baru` open the form (_modals.py); the rest is the chat's
    "change": "/perubahan {rest}",
}  # fmt: skip


#: a word that is none of the above but one of the core's chat commands (/masalah,
#: /reviu, /latihanpemulihan, /nilai, /langganan, ...): the chat command, so every flow
#: is reachable from Slack's one slash command without a line here
CORE = "core"


def subcommand(command: dict[str, Any]) -> str | None:
    word = (command.get("text") or "").strip().partition(" ")[0].lower()
    if not word:
        return "help"
    return SUBCOMMANDS.get(word) or (CORE if word in COMMANDS else None)


def opens_modal(command: dict[str, Any]) -> bool:
    """`/helpdesk lapor` opens the report modal, which its trigger_id allows for three
    seconds only: it runs at once, not through the inbox."""
    return subcommand(command) == "report"


async def run_command(ch: SlackChannel, command: dict[str, Any], respond: Respond) -> None:
    user = command["user_id"]
    word, _, rest = (command.get("text") or "").strip().partition(" ")
    rest = rest.strip()
    sub = subcommand(command)
    name = await ch.people.link(user)
    lang = await asyncio.to_thread(ch.people.lang, user)

    async def say(text: str) -> None:
        await respond(**message([Reply(text)]), response_type="ephemeral")

    if sub == "report":
        await ch.open_report(command["trigger_id"], user, rest)
        return
    if sub is None:
        await say(
            t("slack.command.unknown", lang, word=word[:40])
            + "\n\n"
            + t("slack.command.usage", lang)
        )
        return
    if sub == "help":
        await say(t("slack.command.usage", lang))
        return
    if sub == "summary":
        outcome = await asyncio.to_thread(work.summary, ch.engine, user, ch.timezone, rest)
        body = message([Reply(outcome.text)])
        if outcome.chart:  # Slack fetches the image from our public chart URL
            url = f"{ch.public_url}/charts/availability-7d.png?scope={quote(rest)}"
            body["blocks"].append(
                {"type": "image", "image_url": url, "alt_text": t("summary.chart_alt", lang)}
            )
        await respond(**body, response_type="ephemeral")
        return
    dm = await ch.dm_where(user)
    where = Where(dm.chat_id, False, "ephemeral", command.get("channel_id") or dm.channel)
    if sub == "faq":
        if not rest:
            await say(t("slack.command.faq_usage", lang))
            return
        state, _ = await asyncio.to_thread(work.conversation, ch.engine, where.chat_id)
        if state != "idle":  # a question is a new topic: leave the unfinished flow first
            left = await ch.handle(where, user, action="cancel", name=name)
            # its answer ("cancelled") is not shown: the question's answer follows
            await asyncio.to_thread(ch.conversations.mark_sent, left, len(left.replies))
        replies = await ch.handle(where, user, text=rest, name=name)
    else:
        text = f"/{word.lower()} {rest}" if sub == CORE else CORE_TEXT[sub].format(rest=rest)
        replies = await ch.handle(where, user, text=text.strip(), name=name)
    await ch.answer(where, user, replies, respond=respond)
