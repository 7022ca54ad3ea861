"""`/reviu` in chat: the periodic review of levels 4 and 5 (guideline ch. 3.6).

Coordinators open a review of a period (buttons for last month and last quarter, or
typed), service managers take part: who attended, findings, decisions (each asked step
by step: what, who owns it, due when, what it targets). Owners move their actions from
`/reviu tindakan` or the reminder's buttons. Every rule and role check lives in
bot.core.reviews and bot.core.review_actions; ids in buttons are checked there too, so a
forged button gets a refusal, never someone else's record.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from bot.core import review_actions, reviews
from bot.core.errors import HelpdeskError, NotAllowed
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.router import Button, Flow, split_first
from bot.dialogue.turn import Turn
from bot.i18n import fmt_number, fmt_percent
from storage.models import Person, Review, ReviewAction, Service

PERIOD = "rv_period"
ATTENDEES = "rv_attendees"
FINDING = "rv_finding"
DECISION = "rv_decision"
OWNER = "rv_owner"
DUE = "rv_due"
TARGET = "rv_target"
STATES = (PERIOD, ATTENDEES, FINDING, DECISION, OWNER, DUE, TARGET)

OPEN_WORDS = {"buka", "open", "baru", "new"}
CLOSE_WORDS = {"tutup", "close"}
ACTION_WORDS = {"tindak", "action"}
MINE_WORDS = {"tindakan", "actions", "saya", "mine"}
SHOWN_ACTIONS = 8


def _review(turn: Turn, review_id: object, *, for_update: bool = False) -> Review:
    return reviews.find(turn.session, turn.person, str(review_id), for_update=for_update)


def _state_label(turn: Turn, state: str) -> str:
    return turn.t(f"review.state.{state}")


def _action_line(turn: Turn, action: ReviewAction) -> str:
    owner = turn.session.get(Person, action.owner_id)
    overdue = review_actions.is_overdue(action, turn.now, turn.timezone)
    return turn.t(
        "review.action_line",
        id=action.id,
        decision=action.decision[:120],
        owner=owner.name if owner else "-",
        due=action.due_on.isoformat(),
        state=_state_label(turn, action.state),
        mark=turn.t("review.overdue_mark") if overdue else "",
    )


def _figure_lines(turn: Turn, review: Review) -> list[str]:
    """Frozen figures of the services that had tickets, busiest first."""
    names = {s.id: s.name for s in turn.session.exec(select(Service))}
    rows = sorted(
        (f for f in reviews.frozen(turn.session, review.id or 0).values() if f.tickets),
        key=lambda f: (-f.tickets, names.get(f.service_id, f.service_id)),
    )
    return [
        turn.t(
            "review.figure_line",
            service=names.get(f.service_id, f.service_id),
            tickets=fmt_number(f.tickets, turn.lang),
            response=fmt_percent(f.response_sla_pct, turn.lang, 1),
            resolution=fmt_percent(f.resolution_sla_pct, turn.lang, 1),
            availability=fmt_percent(f.availability_pct, turn.lang, 2),
        )
        for f in rows[:6]
    ]


def show(turn: Turn, review_id: object) -> list[Reply]:
    review = _review(turn, review_id)
    rid = review.id or 0
    people = reviews.attendees(turn.session, rid)
    lines = [
        turn.t(
            "review.header",
            id=rid,
            period=reviews.label(review),
            state=_state_label(turn, review.state),
            opened=turn.dt(review.opened_at),
        ),
        turn.t("review.attendees", names=", ".join(p.name for p in people) or "-"),
    ]
    lines += _figure_lines(turn, review) or [turn.t("review.no_figures")]
    found = reviews.findings(turn.session, rid)
    lines.append(turn.t("review.findings", n=len(found)))
    lines += [f"{n}. {f.text[:160]}" for n, f in enumerate(found, start=1)]
    acts = reviews.actions(turn.session, rid)
    lines.append(turn.t("review.decisions", n=len(acts)))
    lines += [_action_line(turn, a) for a in acts]
    choices: list[Choice] = []
    if review.state == reviews.DIBUKA:
        choices = [
            turn.choice("review.button.attend", f"rv:att:{rid}"),
            turn.choice("review.button.finding", f"rv:find:{rid}"),
            turn.choice("review.button.decision", f"rv:dec:{rid}"),
        ]
        if reviews.may_coordinate(turn.person):
            choices.append(turn.choice("review.button.close", f"rv:close:{rid}"))
    turn.reset()
    return turn.say("\n".join(lines), choices)


def overview(turn: Turn) -> list[Reply]:
    """`/reviu` alone: the open reviews for those who take part, and one's own actions."""
    person = turn.person
    mine = review_actions.owned_by(turn.session, person) if person is not None else []
    if not reviews.may_take_part(person):
        if not mine:
            raise NotAllowed("review.not_allowed")
        return my_actions(turn)
    open_ = reviews.open_reviews(turn.session)
    lines = [turn.t("review.overview", n=len(open_))]
    lines += [turn.t("review.overview_line", id=r.id, period=reviews.label(r)) for r in open_[:10]]
    choices = [Choice(f"#{r.id} {reviews.label(r)}", f"rv:show:{r.id}") for r in open_[:6]]
    if reviews.may_coordinate(person):
        choices.append(turn.choice("review.button.new", "rv:new"))
    if mine:
        choices.append(turn.choice("review.button.mine", "rv:mine", n=len(mine)))
    turn.reset()
    return turn.say("\n".join(lines), choices)


def my_actions(turn: Turn) -> list[Reply]:
    person = turn.person
    mine = review_actions.owned_by(turn.session, person) if person is not None else []
    if not mine:
        if not reviews.may_take_part(person):
            raise NotAllowed("review.not_allowed")
        return turn.say(turn.t("review.no_actions"))
    lines = [turn.t("review.my_actions")] + [_action_line(turn, a) for a in mine]
    choices = [
        turn.choice("review.button.done_n", f"rv:act:{a.id}:{review_actions.SELESAI}", id=a.id)
        for a in mine[:SHOWN_ACTIONS]
    ]
    return turn.say("\n".join(lines), choices)


def ask_period(turn: Turn) -> list[Reply]:
    if not reviews.may_coordinate(turn.person):
        raise NotAllowed("review.not_allowed")
    turn.go(PERIOD, keep=False)
    choices = [
        Choice(text, f"rv:period:{arg}")
        for text, arg in reviews.previous_periods(turn.now, turn.timezone)
    ]
    return turn.say(turn.t("review.ask_period"), choices)


def open_period(turn: Turn, text: str) -> list[Reply]:
    start, end = reviews.parse_period(text)
    review = reviews.open_review(
        turn.session,
        turn.person,
        start,
        end,
        now=turn.now,
        tz=turn.timezone,
        channel=turn.msg.channel,
    )
    turn.say(turn.t("review.opened", id=review.id, period=reviews.label(review)))
    return show(turn, review.id)


def command(turn: Turn, args: str) -> list[Reply]:
    word, rest = split_first(args)
    word = word.lower()
    if not word:
        return overview(turn)
    if word in OPEN_WORDS:
        return open_period(turn, rest) if rest.strip() else ask_period(turn)
    if word in CLOSE_WORDS:
        return close(turn, split_first(rest.strip())[0])
    if word in MINE_WORDS:
        return my_actions(turn)
    if word in ACTION_WORDS:
        number, state = split_first(rest.strip())
        return move(turn, number, split_first(state.strip())[0].lower())
    if word.lstrip("#").isdecimal():
        return show(turn, word)
    raise HelpdeskError("review.usage")


def close(turn: Turn, review_id: str) -> list[Reply]:
    if not review_id:
        raise HelpdeskError("review.usage")
    review = _review(turn, review_id, for_update=True)
    reviews.close(
        turn.session, turn.person, review, now=turn.now, channel=turn.msg.channel, lang=turn.lang
    )
    turn.say(turn.t("review.closed_done", id=review.id))
    return show(turn, review.id)


def move(turn: Turn, action_id: str, state: str) -> list[Reply]:
    if not action_id or not state:
        raise HelpdeskError("review.usage")
    action = review_actions.change_state(
        turn.session, turn.person, action_id, state, now=turn.now, channel=turn.msg.channel
    )
    return turn.say(
        turn.t("review.action_moved", id=action.id, state=_state_label(turn, action.state))
    )


# -- recording, step by step ------------------------------------------------------------


def _open_for_recording(turn: Turn, review_id: str) -> Review:
    review = _review(turn, review_id)
    if review.state != reviews.DIBUKA:
        raise HelpdeskError("review.closed", id=review.id)
    return review


def _stop_choice(turn: Turn) -> Choice:
    return turn.choice("review.button.stop", "rv:stop")


def ask_attendees(turn: Turn, review_id: str) -> list[Reply]:
    review = _open_for_recording(turn, review_id)
    turn.go(ATTENDEES, keep=False, review_id=review.id)
    return turn.say(
        turn.t("review.ask_attendees", id=review.id),
        [turn.choice("review.button.me", f"rv:me:{review.id}"), _stop_choice(turn)],
    )


def ask_finding(turn: Turn, review_id: str) -> list[Reply]:
    review = _open_for_recording(turn, review_id)
    turn.go(FINDING, keep=False, review_id=review.id)
    return turn.say(turn.t("review.ask_finding", id=review.id), [_stop_choice(turn)])


def ask_decision(turn: Turn, review_id: str) -> list[Reply]:
    review = _open_for_recording(turn, review_id)
    turn.go(DECISION, keep=False, review_id=review.id)
    return turn.say(turn.t("review.ask_decision", id=review.id), [_stop_choice(turn)])


def _current(turn: Turn) -> Review:
    return _review(turn, turn.data.get("review_id", ""), for_update=True)


def on_attendees(turn: Turn, text: str) -> list[Reply]:
    review = _current(turn)
    added = [
        p.name
        for p in reviews.find_people(turn.session, text)
        if reviews.add_attendee(
            turn.session, turn.person, review, p, now=turn.now, channel=turn.msg.channel
        )
    ]
    turn.say(turn.t("review.attendees_added", names=", ".join(added) or "-"))
    return show(turn, review.id)


def attend_myself(turn: Turn, review_id: str) -> list[Reply]:
    review = _review(turn, review_id, for_update=True)
    person = turn.person
    if person is None:
        raise NotAllowed("review.not_allowed")
    reviews.add_attendee(
        turn.session, person, review, person, now=turn.now, channel=turn.msg.channel
    )
    return show(turn, review.id)


def on_finding(turn: Turn, text: str) -> list[Reply]:
    review = _current(turn)
    reviews.add_finding(
        turn.session, turn.person, review, text, now=turn.now, channel=turn.msg.channel
    )
    turn.say(turn.t("review.finding_added", id=review.id))
    return show(turn, review.id)


def on_decision(turn: Turn, text: str) -> list[Reply]:
    review = _current(turn)
    turn.go(OWNER, keep=True, review_id=review.id, decision=reviews.clean_text(text))
    return turn.say(turn.t("review.ask_owner"), [_stop_choice(turn)])


def on_owner(turn: Turn, text: str) -> list[Reply]:
    _current(turn)
    people = reviews.find_people(turn.session, text)
    if len(people) != 1:
        raise HelpdeskError("review.one_owner")
    turn.go(DUE, keep=True, owner_id=people[0].id)
    return turn.say(
        turn.t("review.ask_due", owner=people[0].name),
        [_stop_choice(turn)],
    )


def on_due(turn: Turn, text: str) -> list[Reply]:
    _current(turn)
    due = reviews.parse_due(text, turn.now, turn.timezone)
    turn.go(TARGET, keep=True, due=due.isoformat())
    return turn.say(
        turn.t("review.ask_target"),
        [
            turn.choice("review.button.no_target", "rv:notarget"),
            _stop_choice(turn),
        ],
    )


def on_target(turn: Turn, text: str) -> list[Reply]:
    review = _current(turn)
    owner = turn.session.get(Person, int(turn.data.get("owner_id") or 0))
    if owner is None:
        raise HelpdeskError("review.one_owner")
    action = reviews.add_decision(
        turn.session,
        turn.person,
        review,
        str(turn.data.get("decision", "")),
        owner,
        date.fromisoformat(str(turn.data.get("due"))),
        target=reviews.parse_target(turn.session, text),
        now=turn.now,
        tz=turn.timezone,
        channel=turn.msg.channel,
    )
    turn.say(turn.t("review.decision_added", id=action.id, owner=owner.name))
    return show(turn, review.id)


def stop(turn: Turn, _: str) -> list[Reply]:
    turn.reset()
    return turn.say(turn.t("review.stopped"))


def _act_button(turn: Turn, value: str) -> list[Reply] | None:
    """`rv:act:ID:STATE`, from a list or a reminder (not offered in this chat: the core
    checks the id, the owner and the transition)."""
    action_id, _, state = value.partition(":")
    if not action_id or state not in review_actions.STATES:
        return None
    return move(turn, action_id, state)


FLOW = Flow(
    name="review_cycle",
    commands={("reviu", "review"): command},
    buttons={
        "rv:new": Button(lambda turn, _: ask_period(turn), exact=True),
        "rv:period": Button(lambda turn, value: open_period(turn, value), states=(PERIOD,)),
        "rv:show": Button(show),
        "rv:att": Button(ask_attendees),
        "rv:me": Button(attend_myself),
        "rv:find": Button(ask_finding),
        "rv:dec": Button(ask_decision),
        "rv:close": Button(close),
        "rv:act": Button(_act_button),
        "rv:mine": Button(lambda turn, _: my_actions(turn), exact=True),
        "rv:notarget": Button(lambda turn, _: on_target(turn, "-"), states=(TARGET,), exact=True),
        "rv:stop": Button(stop, exact=True),
    },
    states={
        PERIOD: open_period,
        ATTENDEES: on_attendees,
        FINDING: on_finding,
        DECISION: on_decision,
        OWNER: on_owner,
        DUE: on_due,
        TARGET: on_target,
    },
)
