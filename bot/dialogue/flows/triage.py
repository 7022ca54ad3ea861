"""Triage of held-back reports: `/triase NUMBER [1-4]` and its buttons.

An operator sees a ticket marked for triage in the queue (bot.dialogue.render) and
confirms the priority its unverified reporter asked for, or sets another; the rule and
the paging live in bot.core.triage.
"""

from __future__ import annotations

from bot.core import reporter_contact, tickets, triage
from bot.core.errors import HelpdeskError, NotAllowed
from bot.core.roles import is_operator
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.router import Button, Flow, split_first
from bot.dialogue.turn import Turn
from storage.models import Ticket

PRIORITIES = ("1", "2", "3", "4")


def _held(turn: Turn, number: str) -> Ticket:
    if not number:
        raise HelpdeskError("usage.triage")
    if not is_operator(turn.person):  # before the look-up: numbers cannot be probed
        raise NotAllowed("auth.operator_only")
    return tickets.find(turn.session, number, turn.person, for_update=True)


def ask(turn: Turn, number: str) -> list[Reply]:
    """The choices: the reporter's priority first, then the others."""
    ticket = _held(turn, number)
    asked = ticket.triage_priority
    if asked is None:
        raise HelpdeskError("triage.not_pending", number=ticket.number)
    n = ticket.number
    choices = [turn.choice("triage.confirm", f"tr:set:{n}:{asked}", priority=asked)] + [
        turn.choice("triage.set", f"tr:set:{n}:{p}", priority=p)
        for p in PRIORITIES
        if p != str(asked)
    ]
    text = turn.t("triage.ask", number=n, priority=asked, title=ticket.title)
    # an unverified reporter's contact: how the operator checks the priority asked for
    contact = reporter_contact.operator_line(ticket, turn.lang)
    return turn.say(f"{text}\n{contact}" if contact else text, choices)


def settle(turn: Turn, number: str, priority: str) -> list[Reply]:
    if priority not in PRIORITIES:
        return turn.say(turn.t("usage.triage"))
    ticket = _held(turn, number)
    chosen = triage.confirm(turn.session, ticket, turn.actor, int(priority), now=turn.now)
    key = "triage.done_paged" if chosen in (1, 2) else "triage.done"
    return turn.say(turn.t(key, number=ticket.number, priority=chosen))


def command(turn: Turn, args: str) -> list[Reply]:
    number, rest = split_first(args)
    priority = split_first(rest.strip())[0].upper().removeprefix("P")
    return settle(turn, number, priority) if priority else ask(turn, number)


def button(turn: Turn, value: str) -> list[Reply] | None:
    number, _, priority = value.rpartition(":")
    return settle(turn, number, priority) if number else None


def queue(turn: Turn) -> list[Reply]:
    """`/triase` alone: what waits for triage."""
    if not is_operator(turn.person):
        return turn.say(turn.t("auth.operator_only"))
    rows = triage.waiting(turn.session)
    if not rows:
        return turn.say(turn.t("triage.none"))
    lines = [turn.t("triage.header")] + [
        f"{t.number} · {turn.t('triage.mark', priority=t.triage_priority)} · {t.title[:60]}"
        for t in rows
    ]
    return turn.say("\n".join(lines), [Choice(t.number, f"tr:ask:{t.number}") for t in rows[:8]])


FLOW = Flow(
    name="triage",
    commands={
        ("triase", "triage"): lambda turn, args: command(turn, args) if args else queue(turn)
    },
    buttons={"tr:ask": Button(ask), "tr:set": Button(button)},
)
