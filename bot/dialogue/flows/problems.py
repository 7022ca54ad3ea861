"""Problem management in chat: /masalah NOMOR-TIKET makes a problem of an incident (so
does the button on an incident alert), /masalah PRB-… shows one, links or unlinks
incidents; its buttons ask for the diagnosis, the root cause and workaround (a known
error), the fix, and publish the workaround as a candidate FAQ article. A suggested
cluster's button ("buat masalah dari N insiden ini?") creates one too.

Rules and role checks live in `bot.core.problems` / `problem_watch`; this module asks,
and renders what they answer or refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.core import problem_text, problem_watch, problems, tickets, usecases
from bot.core.errors import NotAllowed
from bot.core.problems import (
    BARU,
    DIDIAGNOSIS,
    DIKETAHUI,
    DISELESAIKAN,
    DIVERIFIKASI,
)
from bot.core.roles import is_operator
from bot.core.ticket_states import NUMBER
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.router import Button, Flow, split_first
from bot.dialogue.turn import Turn
from storage.models import Problem, Ticket

#: the operator types the diagnosis
ASK_DIAGNOSIS = "problem_diagnosis"
#: the root cause, before the workaround (`then` = "known") or the fix (`then` = "fix")
ASK_CAUSE = "problem_cause"
ASK_WORKAROUND = "problem_workaround"
ASK_FIX = "problem_fix"
#: the number of an incident to link
ASK_LINK = "problem_link"
#: why a fixed problem is diagnosed again
ASK_REASON = "problem_reason"
STATES = (ASK_DIAGNOSIS, ASK_CAUSE, ASK_WORKAROUND, ASK_FIX, ASK_LINK, ASK_REASON)

PROBLEM_NUMBER = re.compile(rf"^{problems.PREFIX}-\d{{4}}-\d{{1,8}}$", re.IGNORECASE)
_LINK_WORDS = frozenset({"tautkan", "link"})
_UNLINK_WORDS = frozenset({"lepas", "unlink"})


def _operator_only(turn: Turn) -> None:
    if not is_operator(turn.person):
        raise NotAllowed("auth.operator_only")


def _problem_number(value: str) -> str | None:
    """A number from a button anyone could forge: only a well-formed one counts."""
    value = value.strip()
    return value.upper() if PROBLEM_NUMBER.match(value) else None


def _ticket_number(value: str) -> str | None:
    value = value.strip()
    if not NUMBER.match(value) or PROBLEM_NUMBER.match(value):
        return None
    return value.upper()


def _find(turn: Turn, number: str) -> Problem:
    return problems.find(turn.session, number, turn.person, for_update=True)


def _incident(turn: Turn, number: str) -> Ticket:
    return tickets.find(turn.session, number, turn.person, for_update=True)


# --- showing ------------------------------------------------------------------------------


def buttons(turn: Turn, problem: Problem) -> list[Choice]:
    """What can happen next in this state."""
    n = problem.number
    out: list[Choice] = []
    if problem.state in (BARU, DIDIAGNOSIS, DIKETAHUI):
        out.append(turn.choice("problem.button.diagnose", f"pb:diag:{n}"))
    if problem.state == DIDIAGNOSIS:
        out.append(turn.choice("problem.button.known", f"pb:known:{n}"))
    if problem.state in (DIDIAGNOSIS, DIKETAHUI):
        out.append(turn.choice("problem.button.fix", f"pb:fix:{n}"))
    if problem.state == DIKETAHUI and problem.kb_candidate_id is None:
        out.append(turn.choice("problem.button.publish", f"pb:pub:{n}"))
    if problem.state == DISELESAIKAN:
        out.append(turn.choice("problem.button.reopen", f"pb:reopen:{n}"))
    if problem.state == DIVERIFIKASI:
        out.append(turn.choice("problem.button.close", f"pb:close:{n}"))
    if problem.state in problems.OPEN_STATES:
        out.append(turn.choice("problem.button.link", f"pb:link:{n}"))
    return out


def show(turn: Turn, problem: Problem, lead: str | None = None) -> list[Reply]:
    text = problem_text.detail(turn.session, problem, turn.lang, turn.timezone)
    return turn.say(f"{lead}\n\n{text}" if lead else text, buttons(turn, problem))


def listing(turn: Turn) -> list[Reply]:
    rows = problems.open_problems(turn.session, limit=10)
    if not rows:
        return turn.say(turn.t("problem.none_open"))
    lines = [turn.t("problem.list_header")] + [problem_text.line(p, turn.lang) for p in rows]
    return turn.say("\n".join(lines), [Choice(p.number, f"pb:show:{p.number}") for p in rows[:8]])


# --- the command --------------------------------------------------------------------------


def command(turn: Turn, args: str) -> list[Reply]:
    """/masalah · /masalah INC-… · /masalah PRB-… [tautkan|lepas INC-…]"""
    _operator_only(turn)
    first, rest = split_first(args)
    if not first:
        return listing(turn)
    if _problem_number(first):
        problem = _find(turn, first)
        verb, target = split_first(rest.strip())
        if not verb:
            return show(turn, problem)
        number = _ticket_number(target)
        if verb.lower() in _LINK_WORDS and number:
            return _link(turn, problem, number)
        if verb.lower() in _UNLINK_WORDS and number:
            ticket = _incident(turn, number)
            problems.unlink(turn.session, problem, ticket, turn.actor, now=turn.now)
            return show(turn, problem, turn.t("problem.unlinked", number=ticket.number))
        return turn.say(turn.t("problem.usage"))
    wanted = _ticket_number(first)
    if wanted:
        return _create(turn, wanted)
    return turn.say(turn.t("problem.usage"))


def create_from(turn: Turn, number: str) -> list[Reply] | None:
    """From the command or an alert's button: an incident already linked shows its problem."""
    wanted = _ticket_number(number)
    return _create(turn, wanted) if wanted else None


def _create(turn: Turn, number: str) -> list[Reply]:
    ticket = _incident(turn, number)
    existing = problems.problem_of(turn.session, ticket)
    if existing is not None:
        lead = turn.t("problem.already_linked", number=ticket.number, problem=existing.number)
        return show(turn, existing, lead)
    problem = problems.create(turn.session, [ticket], turn.actor, now=turn.now)
    return show(turn, problem, turn.t("problem.created", number=problem.number))


def _link(turn: Turn, problem: Problem, number: str) -> list[Reply]:
    ticket = _incident(turn, number)
    problems.link(turn.session, problem, ticket, turn.actor, now=turn.now)
    return show(turn, problem, turn.t("problem.linked", number=ticket.number))


# --- buttons and the answers they ask for --------------------------------------------------


def _asked(value: str, turn: Turn) -> Problem | None:
    """The problem a prompt's button names, if the value is a well-formed number. In a
    group chat the answer is typed there too (`group_text`): the adapter asks for it as a
    reply to the bot, which reaches it in privacy mode."""
    number = _problem_number(value)
    if number is None:
        return None
    return _find(turn, number)


def _start_diagnosis(turn: Turn, value: str) -> list[Reply] | None:
    problem = _asked(value, turn)
    if problem is None:
        return None
    turn.go(ASK_DIAGNOSIS, keep=False, number=problem.number)
    return _ask(turn, "problem.ask_diagnosis")


def _start_link(turn: Turn, value: str) -> list[Reply] | None:
    problem = _asked(value, turn)
    if problem is None:
        return None
    turn.go(ASK_LINK, keep=False, number=problem.number)
    return _ask(turn, "problem.ask_link")


def _start_reopen(turn: Turn, value: str) -> list[Reply] | None:
    problem = _asked(value, turn)
    if problem is None:
        return None
    turn.go(ASK_REASON, keep=False, number=problem.number)
    return _ask(turn, "problem.ask_reason")


def _ask(turn: Turn, prompt: str) -> list[Reply]:
    return turn.say(
        turn.t(prompt, number=turn.data["number"]), [turn.choice("common.cancel", "cancel")]
    )


def _typed(
    prompt: str, finish: Callable[[Turn, str], list[Reply]]
) -> Callable[[Turn, str], list[Reply]]:
    """A state's text handler: too short an answer is asked again, not refused."""

    def run(turn: Turn, text: str) -> list[Reply]:
        if not usecases.note_ok(text):
            return _ask(turn, prompt)
        return finish(turn, " ".join(text.split()))

    return run


def _done(turn: Turn, lead_key: str) -> tuple[Problem, str]:
    number = turn.data["number"]
    turn.reset()
    return _find(turn, number), turn.t(lead_key, number=number)


def _on_diagnosis(turn: Turn, text: str) -> list[Reply]:
    problem, lead = _done(turn, "problem.diagnosed")
    problems.diagnose(turn.session, problem, turn.actor, text, now=turn.now)
    return show(turn, problem, lead)


def _start_known(turn: Turn, value: str) -> list[Reply] | None:
    problem = _asked(value, turn)
    if problem is None:
        return None
    if problem.root_cause:
        turn.go(ASK_WORKAROUND, keep=False, number=problem.number, cause=problem.root_cause)
        return _ask(turn, "problem.ask_workaround")
    turn.go(ASK_CAUSE, keep=False, number=problem.number, then="known")
    return _ask(turn, "problem.ask_cause")


def _start_fix(turn: Turn, value: str) -> list[Reply] | None:
    problem = _asked(value, turn)
    if problem is None:
        return None
    if problem.root_cause:
        turn.go(ASK_FIX, keep=False, number=problem.number, cause=problem.root_cause)
        return _ask(turn, "problem.ask_fix")
    turn.go(ASK_CAUSE, keep=False, number=problem.number, then="fix")
    return _ask(turn, "problem.ask_cause")


def _on_cause(turn: Turn, text: str) -> list[Reply]:
    if turn.data.get("then") == "fix":
        turn.go(ASK_FIX, keep=True, cause=text)
        return _ask(turn, "problem.ask_fix")
    turn.go(ASK_WORKAROUND, keep=True, cause=text)
    return _ask(turn, "problem.ask_workaround")


def _on_workaround(turn: Turn, text: str) -> list[Reply]:
    cause = turn.data.get("cause", "")
    problem, lead = _done(turn, "problem.known")
    problems.mark_known(
        turn.session, problem, turn.actor, root_cause=cause, workaround=text, now=turn.now
    )
    return show(turn, problem, lead)


def _on_fix(turn: Turn, text: str) -> list[Reply]:
    cause = turn.data.get("cause", "")
    problem, lead = _done(turn, "problem.fixed")
    problems.mark_fixed(turn.session, problem, turn.actor, fix=text, root_cause=cause, now=turn.now)
    return show(turn, problem, lead)


def _on_link(turn: Turn, text: str) -> list[Reply]:
    wanted = _ticket_number(text)
    if wanted is None:
        return _ask(turn, "problem.ask_link")
    number = turn.data["number"]
    turn.reset()
    return _link(turn, _find(turn, number), wanted)


def _on_reason(turn: Turn, text: str) -> list[Reply]:
    problem, lead = _done(turn, "problem.reopened")
    problems.reopen(turn.session, problem, turn.actor, text, now=turn.now)
    return show(turn, problem, lead)


def _show_button(turn: Turn, value: str) -> list[Reply] | None:
    number = _problem_number(value)
    return show(turn, _find(turn, number)) if number else None


def _publish(turn: Turn, value: str) -> list[Reply] | None:
    number = _problem_number(value)
    if number is None:
        return None
    problem = _find(turn, number)
    problems.publish_workaround(turn.session, problem, turn.actor, now=turn.now)
    return show(turn, problem, turn.t("problem.published", number=problem.number))


def _close(turn: Turn, value: str) -> list[Reply] | None:
    number = _problem_number(value)
    if number is None:
        return None
    problem = _find(turn, number)
    problems.close(turn.session, problem, turn.actor, now=turn.now)
    return show(turn, problem, turn.t("problem.closed_done", number=problem.number))


def _accept(turn: Turn, value: str) -> list[Reply] | None:
    if not (value.isascii() and value.isdecimal() and len(value) <= 12):
        return None
    problem = problem_watch.accept_suggestion(turn.session, int(value), turn.actor, now=turn.now)
    return show(turn, problem, turn.t("problem.created", number=problem.number))


def _refuse_other(turn: Turn, _: str) -> list[Reply] | None:
    """Any other pb: action is stale or forged."""
    return None


def _guarded(run: Callable[[Turn, str], list[Reply] | None]) -> Button:
    return Button(run, guard=_operator_only)


FLOW = Flow(
    name="problems",
    commands={("masalah", "problem"): command},
    buttons={
        "pb:new": _guarded(create_from),
        "pb:show": _guarded(_show_button),
        "pb:diag": _guarded(_start_diagnosis),
        "pb:known": _guarded(_start_known),
        "pb:fix": _guarded(_start_fix),
        "pb:link": _guarded(_start_link),
        "pb:reopen": _guarded(_start_reopen),
        "pb:pub": _guarded(_publish),
        "pb:close": _guarded(_close),
        "pb:sug": _guarded(_accept),
        "pb": _guarded(_refuse_other),
    },
    states={
        ASK_DIAGNOSIS: _typed("problem.ask_diagnosis", _on_diagnosis),
        ASK_CAUSE: _typed("problem.ask_cause", _on_cause),
        ASK_WORKAROUND: _typed("problem.ask_workaround", _on_workaround),
        ASK_FIX: _typed("problem.ask_fix", _on_fix),
        ASK_LINK: _on_link,
        ASK_REASON: _typed("problem.ask_reason", _on_reason),
    },
    # the alert's "Jadikan masalah" is pressed in the operators' group: answered there too
    group_text=STATES,
)
