"""The small commands of the conversation: menu, welcome, help, cancel, the service
catalog, language, account linking and the status summary. No states of its own: each
answer is complete in one turn."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.core import (
    catalog,
    change_policy,
    learning,
    limits,
    people,
    recovery,
    reviews,
    summary,
    usecases,
    web_sessions,
)
from bot.core.errors import HelpdeskError, NotAllowed
from bot.core.roles import has_any, is_admin, is_operator
from bot.dialogue.flows.subscriptions import service_choice
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.render import service_detail, service_line
from bot.dialogue.router import Button, Flow, split_first
from bot.dialogue.turn import IDLE, Turn
from bot.i18n import LANGUAGES
from bot.reports.charts import summary_availability
from storage.models import Service

log = logging.getLogger(__name__)


def menu(turn: Turn) -> list[Choice]:
    return [
        turn.choice("menu.report", "menu:report"),
        turn.choice("menu.mytickets", "menu:mytickets"),
        turn.choice("menu.services", "menu:services"),
        turn.choice("menu.help", "menu:help"),
    ]


def welcome(turn: Turn) -> list[Reply]:
    turn.reset()
    name = turn.person.name if turn.person and turn.person.email else (turn.msg.display_name or "")
    return turn.say(turn.t("welcome", name=f" {name}" if name else ""), menu(turn))


Audience = Callable[[Turn], bool]


def everyone(_turn: Turn) -> bool:
    return True


def reporter_only(turn: Turn) -> bool:
    """A user, not an operator: /tutup and /buka on their own tickets (operators get the
    lines that say what they may do to any ticket)."""
    return not is_operator(turn.person)


def linked_web(turn: Turn) -> bool:
    """A web session that speaks for a person: /keluar ends it."""
    return turn.msg.channel == web_sessions.CHANNEL and people.is_linked(turn.person)


def linked_elsewhere(turn: Turn) -> bool:
    """A chat account linked to a person on a platform: /keluar unlinks it."""
    return turn.msg.channel != web_sessions.CHANNEL and people.is_linked(turn.person)


def operator(turn: Turn) -> bool:
    return is_operator(turn.person)


def admin(turn: Turn) -> bool:
    return is_admin(turn.person)


def reviewer(turn: Turn) -> bool:
    return has_any(turn.person, learning.REVIEWER_ROLES)


def summariser(turn: Turn) -> bool:
    return usecases.may_summarise(turn.person)


def change_viewer(turn: Turn) -> bool:
    return change_policy.may_view(turn.person)


def change_raiser(turn: Turn) -> bool:
    """/rilis publishes a change the person could have raised."""
    return change_policy.may_raise(turn.session, turn.person)


def review_participant(turn: Turn) -> bool:
    return reviews.may_take_part(turn.person)


def recovery_coordinator(turn: Turn) -> bool:
    return recovery.may_recover(turn.person)


#: /bantuan's lines in order, each shown to whom the command it names serves; the checks
#: are the ones the commands themselves apply, so the help lists what the person may use.
USER_HELP: tuple[tuple[str, Audience], ...] = (
    ("help_lines.ask", everyone),
    ("help_lines.report", everyone),
    ("help_lines.status", everyone),
    ("help_lines.mytickets", everyone),
    ("help_lines.comment", everyone),
    ("help_lines.rate", everyone),
    ("help_lines.close_own", reporter_only),
    ("help_lines.reopen_own", reporter_only),
    ("help_lines.services", everyone),
    ("help_lines.language", everyone),
    ("help_lines.availability", everyone),
    ("help_lines.maintenance", everyone),
    ("help_lines.subscribe", everyone),
    ("help_lines.link", everyone),
    ("help_lines.logout_web", linked_web),
    ("help_lines.logout_chat", linked_elsewhere),
    ("help_lines.cancel", everyone),
)
OPERATOR_HELP: tuple[tuple[str, Audience], ...] = (
    ("help_lines.queue", operator),
    ("help_lines.take", operator),
    ("help_lines.ack", operator),
    ("help_lines.hold", operator),
    ("help_lines.resolve", operator),
    ("help_lines.close", operator),
    ("help_lines.reopen", operator),
    ("help_lines.cancel_ticket", operator),
    ("help_lines.triage", operator),
    ("help_lines.problem", operator),
    ("help_lines.change", change_viewer),
    ("help_lines.release", change_raiser),
    ("help_lines.review", review_participant),
    ("help_lines.drill", recovery_coordinator),
    ("help_lines.unlink", admin),
    ("help_lines.candidates", reviewer),
    ("help_lines.summary", summariser),
    ("help_lines.report_document", summariser),
)


def help_text(turn: Turn) -> str:
    parts = [turn.t("help_lines.user_header")]
    parts += [turn.t(key) for key, may in USER_HELP if may(turn)]
    staff = [turn.t(key) for key, may in OPERATOR_HELP if may(turn)]
    if staff:
        parts += ["", turn.t("help_lines.operator_header"), *staff]
    return "\n".join(parts)


def show_help(turn: Turn) -> list[Reply]:
    return turn.say(help_text(turn), menu(turn))


def cancel(turn: Turn) -> list[Reply]:
    was = turn.state
    turn.reset()
    key = "cancel.done" if was != IDLE else "cancel.nothing"
    return turn.say(turn.t(key), menu(turn))


def services(turn: Turn, query: str) -> list[Reply]:
    if query:
        ranked = catalog.search_services(turn.session, query, limit=5)
        found = [s for s, _ in ranked]
        found_scores = [score for _, score in ranked]
        if not found:
            return turn.say(turn.t("service.not_found", text=query[:80]))
        if len(found) == 1 or found_scores[0] - found_scores[1] >= 50:
            return turn.say(
                service_detail(turn, turn.session, found[0]),
                [turn.choice("menu.report", "menu:report"), *service_choice(turn, found[0])],
            )
    else:
        found = catalog.list_services(turn.session)
    lines = [turn.t("service.header")] + [service_line(s) for s in found]
    return turn.say("\n".join(lines), [Choice(s.name[:60], f"svcinfo:{s.id}") for s in found[:12]])


def language(turn: Turn, value: str) -> list[Reply]:
    value = value.lower()
    if value not in LANGUAGES:
        return turn.say(
            turn.t("language.ask"),
            [Choice("Bahasa Indonesia", "lang:id"), Choice("English", "lang:en")],
        )
    turn.conv.lang = value
    if turn.person is not None:  # notices follow the person, on every channel
        turn.person.lang = value
        turn.session.add(turn.person)
    return turn.say(turn.t("language.set"))


def link(turn: Turn, code: str) -> list[Reply]:
    """Codes are eight characters from 32: attempts are throttled per chat account and per
    address, and a wrong one is logged (never the code), so guessing shows and stalls."""
    if not code:
        return turn.say(turn.t("usage.link"))
    account = f"{turn.msg.channel}:{turn.msg.user_id}"
    if not limits.check_link_attempt(
        turn.session, turn.limits, account, turn.msg.address, turn.now
    ):
        log.warning("link attempt throttled: %s (address %s)", account, turn.msg.address or "-")
        return turn.say(turn.t("limit.link"))
    try:
        person = people.redeem_link_code(
            turn.session,
            code,
            turn.msg.channel,
            turn.msg.user_id,
            display_name=turn.msg.display_name,
            now=turn.now,
        )
    except HelpdeskError as exc:  # answered, not raised: the attempt stays counted
        log.warning("link code refused: %s (address %s)", account, turn.msg.address or "-")
        return turn.say(turn.t(exc.key, **exc.params))
    turn.person = person
    return turn.say(
        turn.t(
            "link.done",
            name=person.name,
            roles=", ".join(turn.t(f"role.{r}") for r in person.roles),
        )
    )


def summary_command(turn: Turn, argument: str) -> list[Reply]:
    try:
        result = usecases.summary_for(turn.session, turn.person, turn.now, turn.timezone, argument)
    except NotAllowed as exc:  # a plain answer, as to any question the person may not ask
        return turn.say(turn.t(exc.key))
    turn.say(summary.render(result, turn.lang, turn.timezone, turn.now))
    turn.replies[-1].image = summary_availability(result, turn.lang)
    return turn.replies


def service_info(turn: Turn, service_id: str) -> list[Reply] | None:
    svc = turn.session.get(Service, service_id)
    if svc is None:
        return None
    return turn.say(
        service_detail(turn, turn.session, svc),
        [turn.choice("menu.report", "menu:report"), *service_choice(turn, svc)],
    )


FLOW = Flow(
    name="general",
    commands={
        ("mulai", "start", "menu"): lambda turn, _: welcome(turn),
        ("bantuan", "help"): lambda turn, _: show_help(turn),
        ("batal", "cancel"): lambda turn, _: cancel(turn),
        ("layanan", "services"): services,
        ("bahasa", "language"): lambda turn, args: language(turn, split_first(args)[0]),
        ("tautkan", "link"): lambda turn, args: link(turn, split_first(args)[0]),
        ("ringkasan", "summary"): summary_command,
    },
    buttons={
        "cancel": Button(lambda turn, _: cancel(turn), exact=True),
        "menu:services": Button(lambda turn, _: services(turn, ""), exact=True),
        "menu:help": Button(lambda turn, _: show_help(turn), exact=True),
        "menu:start": Button(lambda turn, _: welcome(turn), exact=True),
        "lang": Button(language),
        "svcinfo": Button(service_info),
    },
)
