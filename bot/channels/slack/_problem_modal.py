"""A problem record's diagnosis, root cause with workaround (known error), and fix as
Slack modals: the Diagnosis / Akar masalah & solusi sementara / Perbaikan buttons
(pb:diag, pb:known, pb:fix) open one instead of asking in the chat, so they work in an
operator channel too, where typed answers are not read.

The rules are `bot.core.problems`' (operators only, which state may follow which, the
shortest note): a submission is tried against them in a transaction that is rolled
back, so a refusal is shown at its field while the modal is still open; one that passes
is stored in the inbox and recorded by a worker, once (its id is kept with the record).
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
from bot.core import people, problems
from bot.core.errors import HelpdeskError
from bot.core.tickets import Actor
from bot.core.usecases import MIN_NOTE, note_ok, refusal_text
from bot.i18n import t
from storage.db import session_scope
from storage.inbound import first_delivery
from storage.models import Person

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.channels.slack._channel import Respond, SlackChannel

PROBLEM_VIEW = "hd_problem"
CHANNEL = "slack"
#: the button's action prefix → the step, and the fields its modal asks for
STEPS = {
    "pb:diag": ("diag", ("diagnosis",)),
    "pb:known": ("known", ("root_cause", "workaround")),
    "pb:fix": ("fix", ("root_cause", "fix")),
}
FIELDS_OF = {step: fields for step, fields in STEPS.values()}
#: the prompt of each field (the chat's own questions) and the core's refusal about it
PROMPT = {
    "diagnosis": "problem.ask_diagnosis",
    "root_cause": "problem.ask_cause",
    "workaround": "problem.ask_workaround",
    "fix": "problem.ask_fix",
}
FIELD_OF = {
    "problem.diagnosis_required": "diagnosis",
    "problem.root_cause_required": "root_cause",
    "problem.workaround_required": "workaround",
    "problem.fix_required": "fix",
}
#: the refusal of too short a text, by field
REQUIRED = {
    "diagnosis": "problem.diagnosis_required",
    "root_cause": "problem.root_cause_required",
    "workaround": "problem.workaround_required",
    "fix": "problem.fix_required",
}
DONE = {"diag": "problem.diagnosed", "known": "problem.known", "fix": "problem.fixed"}


def step_of(value: str) -> tuple[str, str] | None:
    """(step, problem number) of a pressed button, or None if it is not one of ours."""
    prefix, _, number = value.rpartition(":")
    if prefix not in STEPS or not number:
        return None
    return STEPS[prefix][0], number


def problem_modal(
    step: str, number: str, current: dict[str, str], lang: str, origin: str
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [section(escape(t(f"problem.button.{_BUTTON[step]}", lang)))]
    for name in FIELDS_OF[step]:
        blocks.append(
            _text_input(
                name,
                t(PROMPT[name], lang, number=number),
                t("changes.modal.hint", lang, n=MIN_NOTE),
                initial=current.get(name, ""),
                min_length=MIN_NOTE,
            )
        )
    return {
        "type": "modal",
        "callback_id": PROBLEM_VIEW,
        "private_metadata": json.dumps({"step": step, "number": number, "origin": origin}),
        "title": plain(number, 24),
        "submit": plain(t("slack.modal.submit", lang), 24),
        "close": plain(t("slack.modal.close", lang), 24),
        "blocks": blocks,
    }


#: the step's button text, shown at the top of its modal
_BUTTON = {"diag": "diagnose", "known": "known", "fix": "fix"}


def _apply(
    session: Session, person: Person | None, step: str, number: str, form: dict[str, str]
) -> None:
    problem = problems.find(session, number, person, for_update=True)
    actor = Actor(person, CHANNEL)
    if step == "diag":
        problems.diagnose(session, problem, actor, form.get("diagnosis", ""))
    elif step == "known":
        problems.mark_known(
            session,
            problem,
            actor,
            root_cause=form.get("root_cause", ""),
            workaround=form.get("workaround", ""),
        )
    else:
        problems.mark_fixed(
            session, problem, actor, fix=form.get("fix", ""), root_cause=form.get("root_cause")
        )


# -- the database work (one transaction each, run in a thread) ---------------------------


def gate(
    engine: Engine, user: str, number: str
) -> tuple[dict[str, str] | None, str, Outcome | None]:
    """The record's current texts (for the modal), the language, or a refusal."""
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = lang_of(person)
        try:
            problem = problems.find(s, number, person)
        except HelpdeskError as exc:
            return None, lang, Outcome(refusal_text(exc, lang), error=True)
        current = {"diagnosis": problem.diagnosis or "", "root_cause": problem.root_cause or ""}
        return current, lang, None


def check(engine: Engine, user: str, meta: dict[str, str], form: dict[str, str]) -> dict[str, str]:
    """Errors by field: too short a text, or what the core refuses, tried and rolled back."""
    step, number = meta.get("step", ""), meta.get("number", "")
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = lang_of(person)
        fields = FIELDS_OF.get(step)
        if not fields:
            return {"diagnosis": t("input.stale_choice", lang)}
        errors = {
            name: t(REQUIRED[name], lang, n=MIN_NOTE)
            for name in fields
            if not note_ok(form.get(name))
        }
        if errors:
            return errors
        try:
            _apply(s, person, step, number, form)
        except HelpdeskError as exc:
            return {FIELD_OF.get(exc.key, fields[0]): refusal_text(exc, lang)[:2000]}
        finally:
            s.rollback()
        return {}


def record(
    engine: Engine, user: str, key: str, meta: dict[str, str], form: dict[str, str]
) -> Outcome | None:
    """Record it (None: this submission was recorded before)."""
    step, number = meta.get("step", ""), meta.get("number", "")
    lang = "id"
    try:
        with session_scope(engine) as s:
            person = people.identify(s, CHANNEL, user)
            lang = lang_of(person)
            if not first_delivery(s, CHANNEL, f"problem-view:{key}"):
                return None
            _apply(s, person, step, number, form)
            return Outcome(t(DONE.get(step, "problem.diagnosed"), lang, number=number.upper()))
    except HelpdeskError as exc:
        return Outcome(refusal_text(exc, lang), error=True)


# -- the channel's side ---------------------------------------------------------------


async def open_problem(ch: SlackChannel, body: dict[str, Any], respond: Respond) -> None:
    user = body["user"]["id"]
    await ch.people.link(user)
    where = await ch.where_pressed(body)
    found = step_of(str(((body.get("actions") or [{}])[0]).get("value") or ""))
    assert found is not None
    step, number = found
    current, lang, refusal = await asyncio.to_thread(gate, ch.engine, user, number)
    if refusal is not None or current is None:
        assert refusal is not None
        await ch.tell(where, user, refusal, respond)
        return
    origin = where.channel if where.mode == "channel" else ""
    view = problem_modal(step, number.upper(), current, lang, origin)
    await ch.client.views_open(trigger_id=body["trigger_id"], view=view)


async def submitted(
    ch: SlackChannel, body: dict[str, Any], key: str, meta: dict[str, str], form: dict[str, str]
) -> None:
    user = body["user"]["id"]
    outcome = await asyncio.to_thread(record, ch.engine, user, key, meta, form)
    if outcome is None:
        return
    await ch.tell(await ch.where_from(meta, user), user, outcome)


def register(ch: SlackChannel, app: AsyncApp) -> None:
    @app.view(PROBLEM_VIEW)
    async def on_problem(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form, meta = view_form(view)
        errors = await asyncio.to_thread(check, ch.engine, body["user"]["id"], meta, form)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ch.store("problem", body, form=form, meta=meta)
        await ack()
