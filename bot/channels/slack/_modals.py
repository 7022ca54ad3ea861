"""The change request form as a Slack modal: `/helpdesk perubahan` (or `… baru`) and the
Ajukan perubahan button open it; its submission is checked field by field (errors shown
at their fields, in the person's language) and then raised through the same core
function as the typed /perubahan flow (`bot.core.changes.raise_change`).

Who may raise a change is the core's rule (`change_policy.may_raise`): asked when the
modal opens (only the services the person may raise for are offered), when it is
submitted, and by the core again when the change is recorded. An emergency change
already under way ("Sudah berjalan") may start in the past; nothing else may.

Opening runs at once (a trigger_id lasts three seconds); a submission that passed the
checks is stored in the inbox and raised by a worker, once: the submission's id is
recorded in the same transaction as the change.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.channels.slack._blocks import _options, _select, _text_input, plain, section
from bot.channels.slack._mrkdwn import escape
from bot.channels.slack._work import Outcome, lang_of
from bot.core import catalog, change_policy, changes, people
from bot.core.change_states import DARURAT, KINDS, RISKS
from bot.core.errors import HelpdeskError
from bot.core.usecases import refusal_text
from bot.dialogue.messages import Choice
from bot.i18n import fmt_dt, t
from storage.db import session_scope
from storage.inbound import first_delivery
from storage.models import utcnow

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.channels.slack._channel import Respond, SlackChannel, Where

CHANGE_VIEW = "hd_change"
CHANGE_ACTIONS = ("chg:new",)
#: `/helpdesk perubahan …` words that open the form (anything else goes to the core)
NEW_WORDS = ("", "baru", "new", "ajukan")
STARTED = "started"
CHANNEL = "slack"
#: text fields of the form, in the order of the typed flow (block id = ChangeForm field)
TEXTS = ("description", "impact", "plan", "test_functional", "test_security",
         "test_performance", "rollback_plan")  # fmt: skip
#: which field a core refusal is about, so it is shown there
FIELD_OF = {
    "changes.unknown_service": "service",
    "changes.not_allowed": "service",
    "changes.bad_kind": "kind",
    "changes.bad_risk": "risk",
    "changes.end_before_start": "end",
    "changes.start_in_past": "start",
    "changes.started_future": "start",
    "changes.clash_change": "start",
    "changes.clash_maintenance": "start",
}


# -- the view -------------------------------------------------------------------------


def _hint(lang: str) -> str:
    return t("changes.modal.hint", lang, n=changes.MIN_TEXT)


def _datetime(block_id: str, label: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": {"type": "datetimepicker", "action_id": "value"},
    }


def change_modal(services: list[tuple[str, str]], lang: str, tz: str) -> dict[str, Any]:
    """The typed flow's questions as one form; the times are picked in the person's own
    Slack time zone (Slack sends them as instants)."""
    blocks: list[dict[str, Any]] = [
        section(escape(t("changes.modal.intro", lang, n=changes.MIN_TEXT))),
        _select("service", t("changes.modal.service", lang), _options(services[:100])),
        _select(
            "kind",
            t("changes.modal.kind", lang),
            _options((k, t(f"changes.kind.{k}", lang)) for k in KINDS),
        ),
        {
            "type": "input",
            "block_id": "started",
            "optional": True,
            "label": plain(t("changes.modal.started", lang), 2000),
            "element": {
                "type": "checkboxes",
                "action_id": "value",
                "options": [
                    {"text": plain(t("changes.modal.started_option", lang)), "value": STARTED}
                ],
            },
        },
    ]
    for name in TEXTS[:1]:
        blocks.append(
            _text_input(
                name, t(f"changes.ask.{name}", lang), _hint(lang), min_length=changes.MIN_TEXT
            )
        )
    blocks.append(
        _select(
            "risk",
            t("changes.ask_risk", lang),
            _options((r, t(f"changes.risk.{r}", lang)) for r in RISKS),
        )
    )
    for name in TEXTS[1:]:
        blocks.append(
            _text_input(
                name, t(f"changes.ask.{name}", lang), _hint(lang), min_length=changes.MIN_TEXT
            )
        )
    blocks += [
        _datetime("start", t("changes.modal.start", lang)),
        _datetime("end", t("changes.modal.end", lang)),
    ]
    return {
        "type": "modal",
        "callback_id": CHANGE_VIEW,
        "private_metadata": json.dumps({"tz": tz}),
        "title": plain(t("changes.modal.title", lang), 24),
        "submit": plain(t("changes.modal.submit", lang), 24),
        "close": plain(t("slack.modal.close", lang), 24),
        "blocks": blocks,
    }


@dataclass(frozen=True)
class Submitted:
    """What a submitted change form holds, read from the view's state."""

    values: dict[str, str]
    started: bool
    start: datetime | None
    end: datetime | None

    def form(self) -> changes.ChangeForm:
        assert self.start is not None and self.end is not None
        v = self.values
        return changes.ChangeForm(
            service_id=v.get("service", ""), kind=v.get("kind", ""),
            description=v.get("description", ""), risk=v.get("risk", ""),
            impact=v.get("impact", ""), plan=v.get("plan", ""),
            test_functional=v.get("test_functional", ""),
            test_security=v.get("test_security", ""),
            test_performance=v.get("test_performance", ""),
            rollback_plan=v.get("rollback_plan", ""), start=self.start, end=self.end,
        )  # fmt: skip

    def stored(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "started": self.started,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Submitted:
        def when(text: Any) -> datetime | None:
            return datetime.fromisoformat(text) if isinstance(text, str) else None

        values = data.get("values") or {}
        return cls(
            {str(k): str(v) for k, v in values.items()},
            bool(data.get("started")),
            when(data.get("start")),
            when(data.get("end")),
        )


def _instant(field: dict[str, Any]) -> datetime | None:
    value = field.get("selected_date_time")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11:
        return datetime.fromtimestamp(value, UTC)
    return None


def read(view: dict[str, Any]) -> Submitted:
    values: dict[str, str] = {}
    started, start, end = False, None, None
    state = (view.get("state") or {}).get("values") or {}
    for block_id, actions in state.items() if isinstance(state, dict) else ():
        field = (actions or {}).get("value") if isinstance(actions, dict) else None
        if not isinstance(field, dict):
            continue
        kind = field.get("type")
        if kind == "static_select":
            values[block_id] = str((field.get("selected_option") or {}).get("value") or "")
        elif kind == "checkboxes":
            chosen = field.get("selected_options") or []
            started = any(isinstance(o, dict) and o.get("value") == STARTED for o in chosen)
        elif kind == "datetimepicker":
            if block_id == "start":
                start = _instant(field)
            elif block_id == "end":
                end = _instant(field)
        else:
            values[block_id] = str(field.get("value") or "")
    return Submitted(values, started, start, end)


def field_errors(sub: Submitted, lang: str, now: datetime) -> dict[str, str]:
    """What can be said without the database, each at its field."""
    errors: dict[str, str] = {}
    for name in TEXTS:
        if len(sub.values.get(name, "").strip()) < changes.MIN_TEXT:
            errors[name] = t(f"changes.short.{name}", lang, n=changes.MIN_TEXT)
    for moment in ("start", "end"):
        if getattr(sub, moment) is None:
            errors[moment] = t("changes.modal.pick_time", lang)
    if sub.started and sub.values.get("kind") != DARURAT:
        errors["started"] = t("changes.modal.started_not_emergency", lang)
    if sub.start is not None and sub.end is not None:
        if sub.end <= sub.start:
            errors["end"] = t("changes.end_before_start", lang)
        elif sub.started and sub.start > now:
            errors["start"] = t("changes.started_future", lang)
        elif not sub.started and sub.start <= now:
            key = "modal.past_emergency" if sub.values.get("kind") == DARURAT else "start_in_past"
            errors["start"] = t(f"changes.{key}", lang)
    return errors


# -- the database work (one transaction each, run in a thread) ---------------------------


def gate(engine: Engine, user: str) -> tuple[list[tuple[str, str]], str, Outcome | None]:
    """The services this person may raise a change for, their language, or a refusal."""
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = lang_of(person)
        own = [
            (svc.id, svc.name)
            for svc in catalog.list_services(s)
            if change_policy.may_raise(s, person, svc.id)
        ]
        if not own:
            return [], lang, Outcome(t("changes.not_allowed", lang), error=True)
        return own, lang, None


def check(engine: Engine, user: str, sub: Submitted, now: datetime) -> dict[str, str]:
    """The core's own checks (role, fields, clashes), read only; errors by field."""
    with Session(engine) as s:
        person = people.identify(s, CHANNEL, user)
        lang = lang_of(person)
        errors = field_errors(sub, lang, now)
        if errors:
            return errors
        form = sub.form()
        try:
            if not change_policy.may_raise(s, person, form.service_id):
                raise HelpdeskError("changes.not_allowed")
            changes.validate(s, form, now)
            tz = change_policy.policy_for(s).timezone
            changes.check_window(s, form.service_id, form.start, form.end, tz=tz)
        except HelpdeskError as exc:
            field = FIELD_OF.get(exc.key) or next(
                (n for n in TEXTS if exc.key == f"changes.short.{n}"), "description"
            )
            return {field: refusal_text(exc, lang)[:2000]}
        return {}


def submit(
    engine: Engine, user: str, key: str, sub: Submitted, tz: str
) -> tuple[Outcome, int | None] | None:
    """Raise it: what to tell, and the change's id (None: this submission was raised
    before, by this worker or another)."""
    lang = "id"
    try:
        with session_scope(engine) as s:
            person = people.identify(s, CHANNEL, user)
            lang = lang_of(person)
            if person is None:
                raise HelpdeskError("changes.not_allowed")
            if not first_delivery(s, CHANNEL, f"change-view:{key}"):
                return None
            change = changes.raise_change(s, person, CHANNEL, sub.form(), now=utcnow())
            text = t(
                "changes.created",
                lang,
                number=change.number,
                state=t(f"changes.state.{change.state}", lang),
            )
            if change.review_due_at is not None:
                due = fmt_dt(change.review_due_at, lang, tz)
                text += "\n" + t("changes.review_due", lang, number=change.number, due=due)
            return Outcome(text, number=change.number), change.id
    except HelpdeskError as exc:
        return Outcome(refusal_text(exc, lang), error=True), None


# -- the channel's side ---------------------------------------------------------------


def opens(command: dict[str, Any]) -> bool:
    """`/helpdesk perubahan` or `/helpdesk perubahan baru` (any case)."""
    words = (command.get("text") or "").split()
    return (
        bool(words)
        and words[0].lower() in ("perubahan", "change")
        and (" ".join(words[1:]).lower() in NEW_WORDS)
    )


async def open_change(
    ch: SlackChannel, trigger_id: str, user: str, where: Where, respond: Respond | None
) -> None:
    await ch.people.link(user)
    services, lang, refusal = await asyncio.to_thread(gate, ch.engine, user)
    if refusal is not None:
        await ch.tell(where, user, refusal, respond)
        return
    await ch.client.views_open(
        trigger_id=trigger_id, view=change_modal(services, lang, ch.timezone)
    )


async def submitted(ch: SlackChannel, body: dict[str, Any], key: str, data: dict[str, Any]) -> None:
    """The stored submission, raised by an inbox worker; the outcome goes to the DM."""
    user = body["user"]["id"]
    done = await asyncio.to_thread(
        submit, ch.engine, user, key, Submitted.from_stored(data), ch.timezone
    )
    if done is None:
        return
    outcome, change_id = done
    where = await ch.dm_where(user)
    show = [Choice(outcome.number or "", f"chg:show:{change_id}")] if change_id else None
    await ch.tell(where, user, outcome, choices=show)


def register(ch: SlackChannel, app: AsyncApp) -> None:
    @app.view(CHANGE_VIEW)
    async def on_change(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        sub = read(view)
        user = body["user"]["id"]
        errors = await asyncio.to_thread(check, ch.engine, user, sub, utcnow())
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ch.store("change", body, change=sub.stored())
        await ack()
