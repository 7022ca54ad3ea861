"""Ticket commands and buttons for reporters and operators: /status, /tiketsaya,
/antrian, /ambil, /akui, /komentar, /tunda, /selesaikan, /tutup, /buka, /batalkan, a
typed ticket number, and the acknowledgement button of an escalation alert.

Role checks happen in `bot.core.tickets`; this module turns refusals into text.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core import alerts, tickets, usecases
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed
from bot.core.roles import is_operator
from bot.core.ticket_states import (
    DIKERJAKAN,
    NUMBER,
    OPEN_STATES,
    SELESAI,
    requires_root_cause,
)
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.render import ticket_detail, ticket_line
from bot.dialogue.router import Button, CommandHandler, Flow, split_first
from bot.dialogue.turn import Turn
from storage.models import Ticket

#: the operator types the resolution note
RESOLVE_NOTE = "resolve_note"
#: then, for an incident, its root cause
RESOLVE_CAUSE = "resolve_cause"
STATES = (RESOLVE_NOTE, RESOLVE_CAUSE)


def _find(turn: Turn, number: str, *, for_update: bool = True) -> Ticket:
    """Every command here changes the ticket (except /status): lock its row."""
    return tickets.find(turn.session, number, turn.person, for_update=for_update)


def ticket_buttons(turn: Turn, ticket: Ticket) -> list[Choice]:
    """What this person can do next with the ticket."""
    n = ticket.number
    if is_operator(turn.person) and ticket.state in OPEN_STATES:
        buttons = []
        if ticket.triage_priority is not None:
            buttons.append(turn.choice("triage.button", f"tr:ask:{n}"))
        if (
            ticket.assignee_id != (turn.person.id if turn.person else None)
            or ticket.state != DIKERJAKAN
        ):
            buttons.append(turn.choice("button.take", f"t:take:{n}"))
        if ticket.acknowledged_at is None:
            buttons.append(turn.choice("button.ack", f"t:ack:{n}"))
        buttons.append(turn.choice("button.resolve", f"t:resolve:{n}"))
        return buttons
    if turn.person and ticket.reporter_id == turn.person.id and ticket.state == SELESAI:
        return [
            turn.choice("button.close", f"t:close:{n}"),
            turn.choice("button.reopen", f"t:reopen:{n}"),
        ]
    return []


def status(turn: Turn, number: str) -> list[Reply]:
    if not number:
        return turn.say(turn.t("usage.status"))
    ticket = _find(turn, number, for_update=False)
    return turn.say(ticket_detail(turn, turn.session, ticket), ticket_buttons(turn, ticket))


def my_tickets(turn: Turn) -> list[Reply]:
    rows = tickets.reported_by(turn.session, turn.person, limit=10) if turn.person else []
    if not rows:
        return turn.say(turn.t("ticket.none_yours"), [turn.choice("menu.report", "menu:report")])
    lines = [turn.t("ticket.yours_header")] + [ticket_line(turn, t) for t in rows]
    return turn.say("\n".join(lines), [Choice(t.number, f"t:status:{t.number}") for t in rows[:5]])


def queue(turn: Turn) -> list[Reply]:
    if not is_operator(turn.person):
        return turn.say(turn.t("auth.operator_only"))
    assert turn.person is not None
    rows = tickets.queue(turn.session, turn.person)
    if not rows:
        return turn.say(turn.t("queue.empty"))
    lines = [turn.t("queue.header")]
    for t in rows:
        mark = "★ " if t.assignee_id == turn.person.id else "○ "
        lines.append(mark + ticket_line(turn, t))
    return turn.say("\n".join(lines), [Choice(t.number, f"t:status:{t.number}") for t in rows[:8]])


def take(turn: Turn, number: str) -> list[Reply]:
    """The typed /ambil: a ticket another operator holds is taken only after the operator
    confirms (the Ambil button of an alert or a ticket takes it at once, and its holder is
    told either way)."""
    ticket = _find_for_operator(turn, number)
    holder = tickets.assigned_elsewhere(turn.session, ticket, turn.person)
    if holder is not None:
        return turn.say(
            turn.t("ticket.take_confirm", number=ticket.number, name=holder.name),
            [
                turn.choice("button.take_over", f"t:takeover:{ticket.number}"),
                turn.choice("common.cancel", "cancel"),
            ],
        )
    tickets.take(turn.session, ticket, turn.actor, now=turn.now, takeover=False)
    return turn.say(turn.t("ticket.taken", number=ticket.number), ticket_buttons(turn, ticket))


def take_now(turn: Turn, number: str) -> list[Reply]:
    """The Ambil button: pressed on purpose, it takes the ticket (over) at once."""
    ticket = _find_for_operator(turn, number)
    tickets.take(turn.session, ticket, turn.actor, now=turn.now)
    return turn.say(turn.t("ticket.taken", number=ticket.number), ticket_buttons(turn, ticket))


def take_over(turn: Turn, number: str) -> list[Reply]:
    ticket = _find_for_operator(turn, number)
    previous = tickets.take(turn.session, ticket, turn.actor, now=turn.now, takeover=True)
    key = "ticket.taken_over" if previous is not None else "ticket.taken"
    name = previous.name if previous is not None else ""
    return turn.say(turn.t(key, number=ticket.number, name=name), ticket_buttons(turn, ticket))


def acknowledge(turn: Turn, number: str) -> list[Reply]:
    ticket = _find_for_operator(turn, number)
    first = tickets.acknowledge(turn.session, ticket, turn.actor, now=turn.now)
    key = "ticket.acknowledged" if first else "ticket.already_acknowledged"
    return turn.say(turn.t(key, number=ticket.number, at=turn.dt(ticket.acknowledged_at)))


def comment(turn: Turn, number: str, text: str) -> list[Reply]:
    if not number or not text.strip():
        return turn.say(turn.t("usage.comment"))
    ticket = _find(turn, number)
    tickets.comment(turn.session, ticket, turn.actor, text.strip(), now=turn.now)
    return turn.say(turn.t("ticket.commented", number=ticket.number))


def hold(turn: Turn, number: str, question: str) -> list[Reply]:
    if not number or not question.strip():
        return turn.say(turn.t("usage.hold"))
    ticket = _find_for_operator(turn, number)
    tickets.hold_for_user(turn.session, ticket, turn.actor, question.strip(), now=turn.now)
    return turn.say(turn.t("ticket.on_hold", number=ticket.number))


def start_resolve(turn: Turn, number: str, note: str = "") -> list[Reply]:
    try:
        ticket = usecases.may_resolve(turn.session, turn.person, number, for_update=True)
    except InvalidTransition as exc:
        return _not_open(turn, exc)
    turn.go(RESOLVE_NOTE, keep=False, number=ticket.number, type=ticket.type)
    if note.strip():
        return on_resolve_note(turn, note)
    return turn.say(
        turn.t("resolve.ask_note", number=ticket.number), [turn.choice("common.cancel", "cancel")]
    )


def on_resolve_note(turn: Turn, text: str) -> list[Reply]:
    if not usecases.note_ok(text):
        return turn.say(
            turn.t("resolve.ask_note", number=turn.data["number"]),
            [turn.choice("common.cancel", "cancel")],
        )
    turn.update(note=text.strip())
    if requires_root_cause(turn.data.get("type", "")):
        turn.go(RESOLVE_CAUSE, keep=True)
        return turn.say(turn.t("resolve.ask_cause"), [turn.choice("common.cancel", "cancel")])
    return _finish_resolve(turn, None)


def on_resolve_cause(turn: Turn, text: str) -> list[Reply]:
    if not usecases.note_ok(text):
        return turn.say(turn.t("resolve.ask_cause"), [turn.choice("common.cancel", "cancel")])
    return _finish_resolve(turn, text.strip())


def _finish_resolve(turn: Turn, cause: str | None) -> list[Reply]:
    number, note = turn.data["number"], turn.data["note"]
    turn.reset()
    try:
        ticket = usecases.resolve(
            turn.session, turn.person, turn.msg.channel, number, note, cause, now=turn.now
        )
    except InvalidTransition as exc:  # resolved or cancelled meanwhile: leave the flow
        return _not_open(turn, exc)
    return turn.say(turn.t("ticket.resolved", number=ticket.number))


def _not_open(turn: Turn, exc: InvalidTransition) -> list[Reply]:
    """A ticket no longer open is an answer, not a failed turn: the flow ends (its state
    reset is kept), where another refusal rolls the turn back."""
    if exc.key != "ticket.not_open":
        raise exc
    return turn.say(usecases.refusal_text(exc, turn.lang))


def close(turn: Turn, number: str) -> list[Reply]:
    if not number:
        return turn.say(turn.t("usage.close"))
    ticket = _find(turn, number)
    tickets.close(turn.session, ticket, turn.actor, now=turn.now)
    return turn.say(turn.t("ticket.closed", number=ticket.number))


def reopen(turn: Turn, number: str, reason: str) -> list[Reply]:
    if not number:
        return turn.say(turn.t("usage.reopen"))
    ticket = _find(turn, number)
    tickets.reopen(
        turn.session,
        ticket,
        turn.actor,
        reason.strip() or turn.t("ticket.reopen_default"),
        now=turn.now,
    )
    return turn.say(turn.t("ticket.reopened", number=ticket.number))


def cancel_ticket(turn: Turn, number: str, reason: str) -> list[Reply]:
    if not number:
        return turn.say(turn.t("usage.cancel_ticket"))
    ticket = _find(turn, number)
    tickets.cancel(turn.session, ticket, turn.actor, reason.strip(), now=turn.now)
    return turn.say(turn.t("ticket.cancelled", number=ticket.number))


def _find_for_operator(turn: Turn, number: str) -> Ticket:
    if not number:
        raise HelpdeskError("usage.number_needed")
    if not is_operator(turn.person):
        raise NotAllowed("auth.operator_only")
    return _find(turn, number)


def acknowledge_alert(turn: Turn, alert_id: str) -> list[Reply] | None:
    if not (alert_id.isascii() and alert_id.isdecimal() and len(alert_id) <= 12):
        return None  # a forged id: stale, not an error
    alerts.acknowledge(turn.session, int(alert_id), turn.ensure_person(), now=turn.now)
    return turn.say(turn.t("alert.ack_done"))


def _number_only(run: Callable[[Turn, str], list[Reply]]) -> CommandHandler:
    """Commands that take a ticket number and nothing else ignore what follows it."""
    return lambda turn, args: run(turn, split_first(args)[0])


def _number_and_text(run: Callable[[Turn, str, str], list[Reply]]) -> CommandHandler:
    """Commands that take a ticket number and then a note, a question or a reason."""
    return lambda turn, args: run(turn, *split_first(args))


FLOW = Flow(
    name="ticket_commands",
    commands={
        ("status",): _number_only(status),
        ("tiketsaya", "mytickets", "tiket"): lambda turn, _: my_tickets(turn),
        ("antrian", "queue"): lambda turn, _: queue(turn),
        ("ambil", "take"): _number_only(take),
        ("akui", "ack"): _number_only(acknowledge),
        ("komentar", "comment"): _number_and_text(comment),
        ("tunda", "hold"): _number_and_text(hold),
        ("selesaikan", "resolve"): _number_and_text(start_resolve),
        ("tutup", "close"): _number_only(close),
        ("buka", "reopen"): _number_and_text(reopen),
        ("batalkan", "cancelticket"): _number_and_text(cancel_ticket),
    },
    buttons={
        "menu:mytickets": Button(lambda turn, _: my_tickets(turn), exact=True),
        "t:status": Button(status),
        "t:take": Button(take_now),
        "t:takeover": Button(take_over),
        "t:ack": Button(acknowledge),
        "t:resolve": Button(start_resolve),
        "t:close": Button(close),
        "t:reopen": Button(lambda turn, number: reopen(turn, number, "")),
        "a:ack": Button(acknowledge_alert),
    },
    states={RESOLVE_NOTE: on_resolve_note, RESOLVE_CAUSE: on_resolve_cause},
    group_text=(RESOLVE_NOTE, RESOLVE_CAUSE),
    patterns=((NUMBER, status),),
)
