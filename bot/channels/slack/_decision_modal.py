"""Tolak / Minta info on a posted change request, in Slack: the reason or the question
is asked in a modal, in a DM and in an operator channel alike (the chat asks for it as
typed text in a private chat, and for a command in a group, which Slack would not
know as "/perubahan").

Who may decide, and whether the request still waits, is `changes.decide`'s: it is tried
in a transaction that is rolled back when the button is pressed (the modal opens only
if it would be accepted) and again when the modal is submitted (a refusal shows at the
field); a submission that passes is stored in the inbox and decided by a worker, once.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.channels.slack._blocks import _text_input, plain, section, view_form
from bot.channels.slack._mrkdwn import escape
from bot.channels.slack._work import Outcome, lang_of
from bot.core import changes, people
from bot.core.change_states import INFO, TOLAK
from bot.core.errors import HelpdeskError, NotAllowed
from bot.core.usecases import refusal_text
from bot.i18n import t
from storage.db import session_scope
from storage.inbound import first_delivery
from storage.models import ChangeRequest, Person, utcnow

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.channels.slack._channel import Respond, SlackChannel

DECISION_VIEW = "hd_change_decision"
CHANNEL = "slack"
#: the button's action prefix → the decision and the chat's verb for it
DECISIONS = {"chg:no": (TOLAK, "tolak"), "chg:info": (INFO, "info")}
#: a note that passes the core's length rule, for the check when the button is pressed
_PROBE = "(pemeriksaan)"


def decision_of(value: str) -> tuple[str, int] | None:
    """(decision, change id) of a pressed button, or None if it is not one of ours."""
    prefix, _, raw = value.rpartition(":")
    if prefix not in DECISIONS or not (raw.isascii() and raw.isdecimal() and len(raw) <= 12):
        return None
    return DECISIONS[prefix][0], int(raw)


def decision_modal(
    decision: str, change_id: int, number: str, lang: str, origin: str
) -> dict[str, Any]:
    verb = "tolak" if decision == TOLAK else "info"
    prompt = t(f"changes.ask_note.{verb}", lang, number=number)
    return {
        "type": "modal",
        "callback_id": DECISION_VIEW,
        "private_metadata": json.dumps(
            {"decision": decision, "change": change_id, "origin": origin}
        ),
        "title": plain(number, 24),
        "submit": plain(t(f"changes.button.{'reject' if decision == TOLAK else 'info'}", lang), 24),
        "close": plain(t("slack.modal.close", lang), 24),
        "blocks": [
            section(escape(prompt)),
            _text_input("note", prompt, t("changes.modal.hint", lang, n=3), min_length=3),
        ],
    }


def _decide(
    session: Session, person: Person | None, change_id: int, decision: str, note: str
) -> ChangeRequest:
    if person is None:
        raise NotAllowed("changes.not_approver")
    return changes.decide(session, change_id, person, CHANNEL, decision, note=note, now=utcnow())


def gate(
    engine: Engine, user: str, change_id: int, decision: str
) -> tuple[str, str, Outcome | None]:
    """The change's number and the language, or the refusal `decide` would give."""
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = lang_of(person)
        try:
            number = _decide(s, person, change_id, decision, _PROBE).number
        except HelpdeskError as exc:
            return "", lang, Outcome(refusal_text(exc, lang), error=True)
        finally:
            s.rollback()
        return number, lang, None


def check(engine: Engine, user: str, meta: dict[str, Any], note: str) -> dict[str, str]:
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = lang_of(person)
        try:
            _decide(s, person, int(meta.get("change") or 0), str(meta.get("decision")), note)
        except (HelpdeskError, ValueError) as exc:
            text = refusal_text(exc, lang) if isinstance(exc, HelpdeskError) else ""
            return {"note": (text or t("input.stale_choice", lang))[:2000]}
        finally:
            s.rollback()
        return {}


def record(engine: Engine, user: str, key: str, meta: dict[str, Any], note: str) -> Outcome | None:
    lang = "id"
    try:
        with session_scope(engine) as s:
            person = people.identify(s, CHANNEL, user)
            lang = lang_of(person)
            if not first_delivery(s, CHANNEL, f"decision-view:{key}"):
                return None
            change = _decide(
                s, person, int(meta.get("change") or 0), str(meta.get("decision")), note
            )
            state = t(f"changes.state.{change.state}", lang)
            return Outcome(t("changes.decided", lang, number=change.number, state=state))
    except HelpdeskError as exc:
        return Outcome(refusal_text(exc, lang), error=True)


async def open_decision(ch: SlackChannel, body: dict[str, Any], respond: Respond) -> None:
    user = body["user"]["id"]
    await ch.people.link(user)
    where = await ch.where_pressed(body)
    found = decision_of(str(((body.get("actions") or [{}])[0]).get("value") or ""))
    assert found is not None
    decision, change_id = found
    number, lang, refusal = await asyncio.to_thread(gate, ch.engine, user, change_id, decision)
    if refusal is not None:
        await ch.tell(where, user, refusal, respond)
        return
    origin = where.channel if where.mode == "channel" else ""
    view = decision_modal(decision, change_id, number, lang, origin)
    await ch.client.views_open(trigger_id=body["trigger_id"], view=view)


async def submitted(
    ch: SlackChannel, body: dict[str, Any], key: str, meta: dict[str, Any], note: str
) -> None:
    user = body["user"]["id"]
    outcome = await asyncio.to_thread(record, ch.engine, user, key, meta, note)
    if outcome is None:
        return
    await ch.tell(await ch.where_from(meta, user), user, outcome)


def register(ch: SlackChannel, app: AsyncApp) -> None:
    @app.view(DECISION_VIEW)
    async def on_decision(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form, meta = view_form(view)
        note = form.get("note", "").strip()
        errors = await asyncio.to_thread(check, ch.engine, body["user"]["id"], meta, note)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ch.store("decision", body, meta=meta, note=note)
        await ack()
