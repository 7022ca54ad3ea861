"""bolt listeners: each stores its work in the inbox and acknowledges within Slack's 3
seconds (bolt answers once the listener returned); `run_stored` does the stored work
when an inbox worker claims it. Opening a modal cannot wait: it runs at once.

Registered on a built SlackChannel by `bot.channels.slack.open_channel`: the channel
itself knows no listener, so the imports run one way, _channel ← _commands ← _listeners."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.channels.slack import _decision_modal as decision_modal
from bot.channels.slack import _modals as modals
from bot.channels.slack import _problem_modal as problem_modal
from bot.channels.slack._blocks import ACTION_PREFIX, REPORT_VIEW, RESOLVE_VIEW, view_form
from bot.channels.slack._channel import (
    _DELIVERY,
    REPORT_ACTIONS,
    SOURCE,
    STAT_OF,
    SlackChannel,
    Where,
)
from bot.channels.slack._commands import opens_modal, run_command
from bot.core.ticket_states import requires_root_cause
from bot.core.usecases import MIN_DESCRIPTION, MIN_NOTE, description_ok, note_ok
from bot.i18n import t
from bot.intake import Intake, LeaseLost


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
            await ch.store("dm", body)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("user") and not event.get("bot_id"):
            await ch.store("mention", body)

    @app.event("app_home_opened")
    async def on_home(body: dict[str, Any]) -> None:
        await ch.store("home", body)

    @app.command("/helpdesk")
    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        if modals.opens(command):
            await ack()
            ch.spawn("command", _open_change_from_command(ch, command, respond))
            return
        if opens_modal(command):
            await ack()
            ch.spawn("command", run_command(ch, command, respond))
            return
        await ch.store("command", command)
        await ack()

    @app.action(re.compile("^" + re.escape(ACTION_PREFIX)))
    async def on_action(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        if _value(body) in modals.CHANGE_ACTIONS:
            await ack()
            ch.spawn("action", _open_change_from_button(ch, body, respond))
            return
        if problem_modal.step_of(_value(body)) is not None:
            await ack()
            ch.spawn("action", problem_modal.open_problem(ch, body, respond))
            return
        if decision_modal.decision_of(_value(body)) is not None:
            await ack()
            ch.spawn("action", decision_modal.open_decision(ch, body, respond))
            return
        if opens_modal_action(body):
            await ack()
            ch.spawn("action", ch.on_action(body, respond))
            return
        await ch.store("action", body)
        await ack()

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
        await ch.store("report", body, form=form)
        await ack()

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
        await ch.store("resolve", body, form=form, meta=meta)
        await ack()

    modals.register(ch, app)
    problem_modal.register(ch, app)
    decision_modal.register(ch, app)


def _value(body: dict[str, Any]) -> str:
    return str(((body.get("actions") or [{}])[0]).get("value") or "")


async def _open_change_from_button(
    ch: SlackChannel, body: dict[str, Any], respond: AsyncRespond
) -> None:
    where = await ch.where_pressed(body)
    await modals.open_change(ch, body["trigger_id"], body["user"]["id"], where, respond)


async def _open_change_from_command(
    ch: SlackChannel, command: dict[str, Any], respond: AsyncRespond
) -> None:
    user = command["user_id"]
    dm = await ch.dm_where(user)
    where = Where(dm.chat_id, False, "ephemeral", command.get("channel_id") or dm.channel)
    await modals.open_change(ch, command["trigger_id"], user, where, respond)


def opens_modal_action(body: dict[str, Any]) -> bool:
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    return value in REPORT_ACTIONS or value.startswith("t:resolve:")


def attach(ch: SlackChannel, intake: Intake) -> None:
    """The inbox's side: stored work of the channel is done by `run_stored`."""
    ch.intake = intake

    async def handler(payload: str) -> None:
        await run_stored(ch, json.loads(payload))

    intake.register(SOURCE, handler)


async def run_stored(ch: SlackChannel, data: dict[str, Any]) -> None:
    """Do one stored unit of work; a failure is counted and raised, so the inbox tries
    it again (its turns record the delivery id: a second run changes nothing)."""
    kind, body = data["kind"], data["body"]
    stat = STAT_OF[kind]
    token = _DELIVERY.set(str(data["key"]))
    try:
        if kind == "dm":
            await ch.on_dm(body)
        elif kind == "mention":
            await ch.on_mention(body)
        elif kind == "home":
            await ch.on_home(body)
        elif kind == "command":
            await run_command(ch, body, AsyncRespond(response_url=body.get("response_url")))
        elif kind == "action":
            await ch.on_action(body, AsyncRespond(response_url=body.get("response_url")))
        elif kind == "report":
            await ch.submit_report(body, data["form"])
        elif kind == "resolve":
            await ch.submit_resolve(body, data["form"], data["meta"])
        elif kind == "change":
            await modals.submitted(ch, body, str(data["key"]), data["change"])
        elif kind == "problem":
            await problem_modal.submitted(ch, body, str(data["key"]), data["meta"], data["form"])
        elif kind == "decision":
            await decision_modal.submitted(ch, body, str(data["key"]), data["meta"], data["note"])
    except LeaseLost:
        raise  # another worker has the event now: not a handler error
    except Exception:
        ch.stats["error"] += 1
        raise
    finally:
        _DELIVERY.reset(token)
        ch.stats[stat] += 1


async def _lang(ch: SlackChannel, body: dict[str, Any]) -> str:
    return await asyncio.to_thread(ch.people.lang, body["user"]["id"])
