"""Satisfaction rating: the 1–5 buttons of the question a resolved ticket's reporter gets
(bot.core.satisfaction.ask), `/nilai NOMOR 1-5` where a channel has no buttons, then an
optional comment that "lewati" (skip) or any command ends.

Who may rate, what counts and what is recorded are the core's rules; a button value that
is not a ticket number and a single digit is treated as a stale button."""

from __future__ import annotations

from bot.core import satisfaction
from bot.core.ticket_states import NUMBER
from bot.dialogue.messages import Reply
from bot.dialogue.router import Button, Flow, split_first
from bot.dialogue.turn import IDLE, Turn

#: after the score: the next free text is the comment
ASK_COMMENT = "csat_comment"
STATES = (ASK_COMMENT,)

SKIP_ACTION = "csat:skip"


def _parse(value: str) -> tuple[str, int] | None:
    """ "<number>:<score>" from a button; None for anything a real button never sends."""
    number, _, score = value.rpartition(":")
    if not (NUMBER.match(number) and len(score) == 1 and score.isascii() and score.isdecimal()):
        return None
    return number, int(score)


def on_rate_button(turn: Turn, value: str) -> list[Reply] | None:
    parsed = _parse(value)
    if parsed is None:
        return None
    return _rate(turn, *parsed)


def rate_command(turn: Turn, args: str) -> list[Reply]:
    number, rest = split_first(args)
    score = rest.strip()
    if not (NUMBER.match(number) and score.isascii() and score.isdecimal() and len(score) <= 2):
        return turn.say(turn.t("csat.usage"))
    return _rate(turn, number, int(score))


def _rate(turn: Turn, number: str, score: int) -> list[Reply]:
    survey = satisfaction.rate(
        turn.session,
        turn.person,
        turn.msg.channel,
        turn.msg.chat_id,
        number,
        score,
        now=turn.now,
    )
    number = number.strip().upper()
    if turn.state != IDLE:
        # in the middle of something else (a report being written): keep it, no comment step
        return turn.say(turn.t("csat.thanks", number=number, score=survey.score))
    turn.go(ASK_COMMENT, keep=False, number=number)
    return turn.say(
        turn.t("csat.ask_comment", number=number, score=survey.score),
        [turn.choice("csat.skip", SKIP_ACTION)],
    )


def on_comment(turn: Turn, text: str) -> list[Reply]:
    number = str(turn.data.get("number", ""))
    turn.reset()
    if satisfaction.is_skip(text):
        return turn.say(turn.t("csat.skipped"))
    satisfaction.add_comment(
        turn.session,
        turn.person,
        turn.msg.channel,
        turn.msg.chat_id,
        number,
        text,
        now=turn.now,
    )
    return turn.say(turn.t("csat.commented", number=number))


def on_skip(turn: Turn, _value: str) -> list[Reply]:
    turn.reset()
    return turn.say(turn.t("csat.skipped"))


FLOW = Flow(
    name="satisfaction",
    commands={("nilai", "rate"): rate_command},
    buttons={
        satisfaction.RATE_ACTION: Button(on_rate_button),
        SKIP_ACTION: Button(on_skip, states=(ASK_COMMENT,), exact=True),
    },
    states={ASK_COMMENT: on_comment},
    left_by_commands=(ASK_COMMENT,),
)
