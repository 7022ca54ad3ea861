"""Change requests and releases in chat: /perubahan (raise one step by step, list, show,
approve, reject, ask for information, answer, record the result and the review) and
/rilis (publish a change carried out successfully).

The approval buttons of a posted request (chg:ok / chg:no / chg:info) work in any chat;
who may press them, and what may follow what, is decided in bot.core.changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.core import catalog, change_policy, change_results, changes, releases
from bot.core.change_posts import render
from bot.core.change_states import (
    DARURAT,
    DIAJUKAN,
    DILAKSANAKAN,
    DISETUJUI,
    DITINJAU,
    INFO,
    KINDS,
    RESULTS,
    RISKS,
    SETUJU,
    TOLAK,
)
from bot.core.change_when import says_started, started_span
from bot.core.errors import InvalidTransition, NotAllowed
from bot.core.when import Span, WhenError, parse_span
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.router import Button, Flow, Text, split_first
from bot.dialogue.turn import Turn
from storage.models import ChangeRequest, Service

SERVICE = "chg_service"
KIND = "chg_kind"
DESCRIPTION = "chg_description"
RISK = "chg_risk"
IMPACT = "chg_impact"
PLAN = "chg_plan"
TEST_FUNCTIONAL = "chg_test_functional"
TEST_SECURITY = "chg_test_security"
TEST_PERFORMANCE = "chg_test_performance"
ROLLBACK = "chg_rollback"
WHEN = "chg_when"
CONFIRM = "chg_confirm"
NOTE = "chg_note"
REL_NOTES = "rel_notes"
REL_NOTES_EN = "rel_notes_en"
REL_SOP = "rel_sop"
REL_CONFIRM = "rel_confirm"
STATES = (SERVICE, KIND, DESCRIPTION, RISK, IMPACT, PLAN, TEST_FUNCTIONAL, TEST_SECURITY,
          TEST_PERFORMANCE, ROLLBACK, WHEN, CONFIRM, NOTE, REL_NOTES, REL_NOTES_EN, REL_SOP,
          REL_CONFIRM)  # fmt: skip

NEW_WORDS = {"baru", "new", "ajukan"}
VERBS = {
    "setujui": SETUJU, "approve": SETUJU, "tolak": TOLAK, "reject": TOLAK, "info": INFO,
}  # fmt: skip
CANCEL = "cancel"


def _cancel(turn: Turn) -> Choice:
    return turn.choice("common.cancel", CANCEL)


def _id_of(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdecimal() and len(value) <= 12 else None


# -- /perubahan ---------------------------------------------------------------------


def command(turn: Turn, rest: str) -> list[Reply]:
    verb, tail = split_first(rest.strip())
    word = verb.lower()
    if word in NEW_WORDS:
        return start(turn)
    if word in VERBS:
        ref, note = split_first(tail.strip())
        change = changes.find(turn.session, ref)
        return _decided(turn, change.id or 0, VERBS[word], note.strip())
    if word in ("jawab", "answer"):
        ref, answer = split_first(tail.strip())
        change = changes.answer_info(
            turn.session, changes.find(turn.session, ref), turn.person, turn.msg.channel,
            answer, now=turn.now,
        )  # fmt: skip
        return turn.say(turn.t("changes.answered", number=change.number))
    if word in ("hasil", "result"):
        ref, tail = split_first(tail.strip())
        result, note = split_first(tail.strip())
        return _result(turn, changes.find(turn.session, ref), result.lower(), note)
    if word in ("tinjau", "review"):
        ref, text = split_first(tail.strip())
        change = change_results.record_review(
            turn.session, changes.find(turn.session, ref), turn.person, turn.msg.channel,
            text, now=turn.now,
        )  # fmt: skip
        return turn.say(turn.t("changes.reviewed", number=change.number))
    if not change_policy.may_view(turn.person):
        raise NotAllowed("changes.not_allowed_view")
    if word and word not in ("daftar", "list"):
        return show(turn, changes.find(turn.session, verb))
    return listing(turn)


def listing(turn: Turn) -> list[Reply]:
    found = changes.listing(turn.session, limit=15)
    lines = [turn.t("changes.list_header") if found else turn.t("changes.list_none")]
    for c in found:
        lines.append(
            turn.t(
                "changes.list_line",
                number=c.number,
                kind=turn.t(f"changes.kind.{c.kind}"),
                state=turn.t(f"changes.state.{c.state}"),
                title=c.title[:80],
                start=turn.dt(c.planned_start),
            )
        )
    lines.append(turn.t("changes.hint"))
    choices = [Choice(c.number, f"chg:show:{c.id}") for c in found[:8]]
    if change_policy.may_raise(turn.session, turn.person):
        choices.append(turn.choice("changes.button.new", "chg:new"))
    return turn.say("\n".join(lines), choices)


def show(turn: Turn, change: ChangeRequest) -> list[Reply]:
    if not change_policy.may_view(turn.person):
        raise NotAllowed("changes.not_allowed_view")
    text, _ = render(turn.session, change, turn.lang, turn.timezone)
    lines = [text, turn.t("changes.details", plan=change.plan, functional=change.test_functional,
                          security=change.test_security, performance=change.test_performance)]  # fmt: skip
    linked = change_results.incidents_of(turn.session, change)
    if linked:
        lines.append(
            turn.t("changes.linked", numbers=", ".join(ticket.number for ticket in linked))
        )
    if change.review:
        lines.append(turn.t("changes.review_line", review=change.review[:500]))
    release = releases.release_of(turn.session, change)
    if release is not None:
        lines.append(turn.t("changes.released", at=turn.dt(release.published_at)))
    choices: list[Choice] = []
    if change.state == DIAJUKAN and change_policy.parties_of(turn.session, turn.person, change):
        choices = [turn.choice("changes.button.approve", f"chg:ok:{change.id}"),
                   turn.choice("changes.button.reject", f"chg:no:{change.id}"),
                   turn.choice("changes.button.info", f"chg:info:{change.id}")]  # fmt: skip
    elif change.state == DISETUJUI and change_policy.may_implement(
        turn.session, turn.person, change
    ):
        choices = [turn.choice(f"changes.result.{r}", f"chg:res:{change.id}:{r}") for r in RESULTS]
    elif (
        change.state == DILAKSANAKAN
        and change.result == "berhasil"
        and release is None
        and change_policy.may_raise(turn.session, turn.person, change.service_id)
    ):
        choices = [turn.choice("changes.button.release", f"rel:new:{change.id}")]
    return turn.say("\n\n".join(lines), choices)


def _on_show(turn: Turn, value: str) -> list[Reply] | None:
    change_id = _id_of(value)
    change = turn.session.get(ChangeRequest, change_id) if change_id else None
    return show(turn, change) if change is not None else None


# -- deciding -----------------------------------------------------------------------


def _decided(turn: Turn, change_id: int, decision: str, note: str = "") -> list[Reply]:
    person = turn.person
    if person is None:
        raise NotAllowed("changes.not_approver")
    change = changes.decide(
        turn.session, change_id, person, turn.msg.channel, decision, note=note, now=turn.now
    )
    return turn.say(
        turn.t(
            "changes.decided",
            number=change.number,
            state=turn.t(f"changes.state.{change.state}"),
        )
    )


def _on_approve(turn: Turn, value: str) -> list[Reply] | None:
    change_id = _id_of(value)
    return _decided(turn, change_id, SETUJU) if change_id else None


def _asks_note(decision: str) -> Callable[[Turn, str], list[Reply] | None]:
    """Tolak / Minta info need a reason: typed next in a private chat; in a group (where
    free text is no answer to the bot) the command to type is shown."""

    def run(turn: Turn, value: str) -> list[Reply] | None:
        change_id = _id_of(value)
        change = turn.session.get(ChangeRequest, change_id) if change_id else None
        if change is None:
            return None
        if not change_policy.parties_of(turn.session, turn.person, change):
            raise NotAllowed("changes.not_approver")
        if change.state != DIAJUKAN:  # asked now, not after the reason is typed
            raise InvalidTransition("changes.not_pending", number=change.number)
        verb = "tolak" if decision == TOLAK else "info"
        if turn.msg.group:
            return turn.say(turn.t("changes.note_in_group", verb=verb, number=change.number))
        turn.go(NOTE, keep=False, change=change.id, decision=decision)
        return turn.say(turn.t(f"changes.ask_note.{verb}", number=change.number), [_cancel(turn)])

    return run


def on_note(turn: Turn, text: str) -> list[Reply]:
    d = turn.data
    turn.reset()
    return _decided(turn, int(d["change"]), str(d["decision"]), text)


def _on_result(turn: Turn, value: str) -> list[Reply] | None:
    raw_id, _, result = value.partition(":")
    change_id = _id_of(raw_id)
    change = turn.session.get(ChangeRequest, change_id) if change_id else None
    if change is None or result not in RESULTS:
        return None
    return _result(turn, change, result, "")


def _result(turn: Turn, change: ChangeRequest, result: str, note: str) -> list[Reply]:
    change = change_results.record_result(
        turn.session, change, turn.person, turn.msg.channel, result, note=note, now=turn.now
    )
    key = "changes.result_recorded_release" if result == "berhasil" else "changes.result_recorded"
    return turn.say(
        turn.t(key, number=change.number, result=turn.t(f"changes.result.{result}")),
        [turn.choice("changes.button.release", f"rel:new:{change.id}")]
        if result == "berhasil"
        else [],
    )


# -- raising, step by step ----------------------------------------------------------


def start(turn: Turn) -> list[Reply]:
    if not change_policy.may_raise(turn.session, turn.person):
        raise NotAllowed("changes.not_allowed")
    turn.go(SERVICE, keep=False)
    own = [
        s
        for s in catalog.list_services(turn.session)
        if change_policy.may_raise(turn.session, turn.person, s.id)
    ]
    choices = [Choice(s.name[:60], f"chg:svc:{s.id}") for s in own[:12]]
    return turn.say(turn.t("changes.ask_service"), [*choices, _cancel(turn)])


def _raiser_only(turn: Turn) -> None:
    if not change_policy.may_raise(turn.session, turn.person):
        raise NotAllowed("changes.not_allowed")


def on_service_text(turn: Turn, text: str) -> list[Reply]:
    found = catalog.search_services(turn.session, text, limit=2)
    if found and (len(found) == 1 or found[0][1] - found[1][1] >= 50):
        return _chose_service(turn, found[0][0].id) or start(turn)
    return turn.say(turn.t("changes.unknown_service", service=text[:60]), [_cancel(turn)])


def _chose_service(turn: Turn, service_id: str) -> list[Reply] | None:
    if turn.session.get(Service, service_id) is None:
        return None
    if not change_policy.may_raise(turn.session, turn.person, service_id):
        raise NotAllowed("changes.not_allowed")
    turn.go(KIND, keep=True, service=service_id)
    choices = [turn.choice(f"changes.kind.{k}", f"chg:kind:{k}") for k in KINDS]
    return turn.say(turn.t("changes.ask_kind"), [*choices, _cancel(turn)])


def _chose_kind(turn: Turn, kind: str) -> list[Reply] | None:
    if kind not in KINDS:
        return None
    turn.go(DESCRIPTION, keep=True, kind=kind)
    return turn.say(turn.t("changes.ask.description"), [_cancel(turn)])


def on_description(turn: Turn, text: str) -> list[Reply]:
    if len(text.strip()) < changes.MIN_TEXT:
        return turn.say(turn.t("changes.short.description", n=changes.MIN_TEXT), [_cancel(turn)])
    turn.go(RISK, keep=True, description=text.strip()[:4000])
    choices = [turn.choice(f"changes.risk.{r}", f"chg:risk:{r}") for r in RISKS]
    return turn.say(turn.t("changes.ask_risk"), [*choices, _cancel(turn)])


def _chose_risk(turn: Turn, risk: str) -> list[Reply] | None:
    if risk not in RISKS:
        return None
    turn.go(IMPACT, keep=True, risk=risk)
    return turn.say(turn.t("changes.ask.impact"), [_cancel(turn)])


def _short(turn: Turn, text: str) -> list[Reply] | None:
    if len(text.strip()) >= changes.MIN_TEXT:
        return None
    return turn.say(turn.t("changes.too_short", n=changes.MIN_TEXT), [_cancel(turn)])


def _asked(turn: Turn, key: str) -> list[Reply]:
    return turn.say(turn.t(key), [_cancel(turn)])


def on_impact(turn: Turn, text: str) -> list[Reply]:
    if short := _short(turn, text):
        return short
    turn.go(PLAN, keep=True, impact=text.strip()[:4000])
    return _asked(turn, "changes.ask.plan")


def on_plan(turn: Turn, text: str) -> list[Reply]:
    if short := _short(turn, text):
        return short
    turn.go(TEST_FUNCTIONAL, keep=True, plan=text.strip()[:4000])
    return _asked(turn, "changes.ask.test_functional")


def on_test_functional(turn: Turn, text: str) -> list[Reply]:
    if short := _short(turn, text):
        return short
    turn.go(TEST_SECURITY, keep=True, test_functional=text.strip()[:4000])
    return _asked(turn, "changes.ask.test_security")


def on_test_security(turn: Turn, text: str) -> list[Reply]:
    if short := _short(turn, text):
        return short
    turn.go(TEST_PERFORMANCE, keep=True, test_security=text.strip()[:4000])
    return _asked(turn, "changes.ask.test_performance")


def on_test_performance(turn: Turn, text: str) -> list[Reply]:
    if short := _short(turn, text):
        return short
    turn.go(ROLLBACK, keep=True, test_performance=text.strip()[:4000])
    return _asked(turn, "changes.ask.rollback_plan")


def on_rollback(turn: Turn, text: str) -> list[Reply]:
    if short := _short(turn, text):
        return short
    turn.go(WHEN, keep=True, rollback_plan=text.strip()[:4000])
    if turn.data.get("kind") == DARURAT:
        return turn.say(
            turn.t("changes.ask_when_emergency"),
            [turn.choice("changes.button.started", "chg:started"), _cancel(turn)],
        )
    return _asked(turn, "changes.ask_when")


def _chose_started(turn: Turn, _value: str) -> list[Reply] | None:
    """An emergency change already under way: its window began before it was recorded."""
    return _ask_started(turn) if turn.data.get("kind") == DARURAT else None


def _ask_started(turn: Turn) -> list[Reply]:
    turn.go(WHEN, keep=True, started=True)
    return _asked(turn, "changes.ask_started")


def _span(turn: Turn, text: str) -> Span:
    """A planned window; for an emergency change also one already under way (said with
    the button, or a start that has passed)."""
    if turn.data.get("kind") != DARURAT:
        return parse_span(text, turn.now, turn.timezone)
    if turn.data.get("started"):
        return started_span(text, turn.now, turn.timezone)
    try:
        return parse_span(text, turn.now, turn.timezone)
    except WhenError as exc:
        if exc.key != "maintenance.when.in_past":
            raise
        return started_span(text, turn.now, turn.timezone)


def on_when(turn: Turn, text: str) -> list[Reply]:
    if turn.data.get("kind") == DARURAT and says_started(text):
        return _ask_started(turn)
    span = _span(turn, text)
    d = turn.data
    changes.check_window(turn.session, d["service"], span.start, span.end, tz=turn.timezone)
    turn.go(CONFIRM, keep=True, start=span.start.isoformat(), end=span.end.isoformat())
    form = _form(turn)
    service = turn.session.get(Service, form.service_id)
    text = turn.t(
        "changes.confirm",
        service=service.name if service else form.service_id,
        kind=turn.t(f"changes.kind.{form.kind}"),
        description=form.description[:500],
        risk=turn.t(f"changes.risk.{form.risk}"),
        impact=form.impact[:300],
        start=turn.dt(form.start),
        end=turn.dt(form.end),
        rule=turn.t(f"changes.rule.{change_policy.policy_for(turn.session).rule_for(form.kind)}"),
    )
    if form.kind == DARURAT:
        due = change_policy.policy_for(turn.session).review_due(max(form.end, turn.now))
        key = "changes.confirm_started" if form.start <= turn.now else "changes.confirm_emergency"
        text += "\n" + turn.t(key, start=turn.dt(form.start), due=turn.dt(due))
    return turn.say(text, [turn.choice("changes.button.send", "chg:send"), _cancel(turn)])


def _form(turn: Turn) -> changes.ChangeForm:
    d = turn.data
    return changes.ChangeForm(
        service_id=d["service"], kind=d["kind"], description=d["description"], risk=d["risk"],
        impact=d["impact"], plan=d["plan"], test_functional=d["test_functional"],
        test_security=d["test_security"], test_performance=d["test_performance"],
        rollback_plan=d["rollback_plan"], start=datetime.fromisoformat(d["start"]),
        end=datetime.fromisoformat(d["end"]),
    )  # fmt: skip


def submit(turn: Turn) -> list[Reply]:
    change = changes.raise_change(
        turn.session, turn.ensure_person(), turn.msg.channel, _form(turn), now=turn.now
    )
    turn.reset()
    text = turn.t(
        "changes.created", number=change.number, state=turn.t(f"changes.state.{change.state}")
    )
    if change.review_due_at is not None:
        text += "\n" + turn.t(
            "changes.review_due", number=change.number, due=turn.dt(change.review_due_at)
        )
    return turn.say(text, [Choice(change.number, f"chg:show:{change.id}")])


# -- /rilis -------------------------------------------------------------------------


def release_command(turn: Turn, rest: str) -> list[Reply]:
    ref = rest.strip()
    if not ref:
        return turn.say(turn.t("releases.usage"))
    return _release_start(turn, changes.find(turn.session, ref))


def _release_start(turn: Turn, change: ChangeRequest) -> list[Reply]:
    if not change_policy.may_raise(turn.session, turn.person, change.service_id):
        raise NotAllowed("releases.not_allowed")
    if change.state not in (DILAKSANAKAN, DITINJAU) or change.result != "berhasil":
        return turn.say(turn.t("releases.not_releasable", number=change.number))
    if releases.release_of(turn.session, change) is not None:
        return turn.say(turn.t("releases.already", number=change.number))
    turn.go(REL_NOTES, keep=False, change=change.id)
    return turn.say(turn.t("releases.ask_notes", number=change.number), [_cancel(turn)])


def _on_release(turn: Turn, value: str) -> list[Reply] | None:
    change_id = _id_of(value)
    change = turn.session.get(ChangeRequest, change_id) if change_id else None
    return _release_start(turn, change) if change is not None else None


def on_release_notes(turn: Turn, text: str) -> list[Reply]:
    if len(text.strip()) < releases.MIN_NOTES:
        return turn.say(turn.t("releases.short_notes", n=releases.MIN_NOTES), [_cancel(turn)])
    turn.go(REL_NOTES_EN, keep=True, notes_id=text.strip()[:4000])
    return turn.say(
        turn.t("releases.ask_notes_en"),
        [turn.choice("releases.button.skip", "rel:skip"), _cancel(turn)],
    )


def on_release_notes_en(turn: Turn, text: str) -> list[Reply]:
    turn.go(REL_SOP, keep=True, notes_en=text.strip()[:4000])
    return turn.say(turn.t("releases.ask_sop"), [_cancel(turn)])


def on_release_sop(turn: Turn, text: str) -> list[Reply]:
    if not releases.sop_ok(text.strip()):
        return turn.say(turn.t("releases.bad_sop"), [_cancel(turn)])
    turn.go(REL_CONFIRM, keep=True, sop=text.strip()[:500])
    d = turn.data
    return turn.say(
        turn.t("releases.confirm", notes=d["notes_id"][:1000], notes_en=d.get("notes_en") or "-",
               sop=d["sop"]),
        [turn.choice("releases.button.publish", "rel:send"), _cancel(turn)],
    )  # fmt: skip


def release_submit(turn: Turn) -> list[Reply]:
    d = turn.data
    change = changes.find(turn.session, int(d["change"]))
    release = releases.publish(
        turn.session, change, turn.person, turn.msg.channel, notes_id=d["notes_id"],
        notes_en=d.get("notes_en", ""), sop_url=d["sop"], now=turn.now,
    )  # fmt: skip
    turn.reset()
    return turn.say(turn.t("releases.published", number=change.number, id=release.id))


FLOW = Flow(
    name="changes",
    commands={("perubahan", "change"): command, ("rilis", "release"): release_command},
    buttons={
        "chg:new": Button(lambda turn, _: start(turn), exact=True),
        "chg:svc": Button(_chose_service, states=(SERVICE,), guard=_raiser_only),
        "chg:kind": Button(_chose_kind, states=(KIND,), guard=_raiser_only),
        "chg:risk": Button(_chose_risk, states=(RISK,), guard=_raiser_only),
        "chg:started": Button(_chose_started, states=(WHEN,), exact=True, guard=_raiser_only),
        "chg:send": Button(lambda turn, _: submit(turn), states=(CONFIRM,), exact=True),
        "chg:show": Button(_on_show),
        "chg:ok": Button(_on_approve),
        "chg:no": Button(_asks_note(TOLAK)),
        "chg:info": Button(_asks_note(INFO)),
        "chg:res": Button(_on_result),
        "rel:new": Button(_on_release),
        "rel:skip": Button(lambda t, _: on_release_notes_en(t, ""), states=(REL_NOTES_EN,)),
        "rel:send": Button(lambda turn, _: release_submit(turn), states=(REL_CONFIRM,), exact=True),
    },
    states={
        SERVICE: on_service_text,
        KIND: Text.USE_BUTTONS,
        DESCRIPTION: on_description,
        RISK: Text.USE_BUTTONS,
        IMPACT: on_impact,
        PLAN: on_plan,
        TEST_FUNCTIONAL: on_test_functional,
        TEST_SECURITY: on_test_security,
        TEST_PERFORMANCE: on_test_performance,
        ROLLBACK: on_rollback,
        WHEN: on_when,
        CONFIRM: Text.USE_BUTTONS,
        NOTE: on_note,
        REL_NOTES: on_release_notes,
        REL_NOTES_EN: on_release_notes_en,
        REL_SOP: on_release_sop,
        REL_CONFIRM: Text.USE_BUTTONS,
    },
)
