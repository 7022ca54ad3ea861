"""bolt listeners: each acknowledges within Slack's 3 seconds and hands the work to a
task of the channel (HTTP mode runs with process_before_response=False).

Registered on a built SlackChannel by `bot.channels.slack.open_channel`: the channel
itself knows no listener, so the imports run one way, _channel ← _commands ← _listeners."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.channels.slack._blocks import ACTION_PREFIX, REPORT_VIEW, RESOLVE_VIEW, view_form
from bot.channels.slack._channel import SlackChannel
from bot.channels.slack._commands import run_command
from bot.core.ticket_states import requires_root_cause
from bot.core.usecases import MIN_DESCRIPTION, MIN_NOTE, description_ok, note_ok
from bot.i18n import t


def register(ch: SlackChannel) -> None:
    app = ch.app

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Only what a person typed in their DM with us; edits, joins and bots are not turns.
        if (
            event.get("channel_type") == "im"
            and not event.get("subtype")
            and not event.get("bot_id")
            and event.get("user")
        ):
            ch.spawn("event", ch.on_dm(body))

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("user") and not event.get("bot_id"):
            ch.spawn("event", ch.on_mention(body))

    @app.event("app_home_opened")
    async def on_home(body: dict[str, Any]) -> None:
        ch.spawn("event", ch.on_home(body))

    @app.command("/helpdesk")
    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ch.spawn("command", run_command(ch, command, respond))

    @app.action(re.compile("^" + re.escape(ACTION_PREFIX)))
    async def on_action(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ch.spawn("action", ch.on_action(body, respond))

    @app.view(REPORT_VIEW)
    async def on_report(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form, _ = view_form(view)
        if not description_ok(form.get("description")):
            lang = await _lang(ch, body)
            await ack(
                response_action="errors",
                errors={"description": t("report.description_short", lang, n=MIN_DESCRIPTION)},
            )
            return
        await ack()
        ch.spawn("view", ch.submit_report(body, form))

    @app.view(RESOLVE_VIEW)
    async def on_resolve(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form, meta = view_form(view)
        errors = {}
        if not note_ok(form.get("note")):
            errors["note"] = t("slack.modal.note_short", await _lang(ch, body), n=MIN_NOTE)
        if requires_root_cause(meta.get("type", "")) and not note_ok(form.get("cause")):
            errors["cause"] = t("slack.modal.cause_short", await _lang(ch, body), n=MIN_NOTE)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        ch.spawn("view", ch.submit_resolve(body, form, meta))


async def _lang(ch: SlackChannel, body: dict[str, Any]) -> str:
    return await asyncio.to_thread(ch.people.lang, body["user"]["id"])
