"""The small commands of the conversation: menu, welcome, help, cancel, the service
catalog, language, account linking, the status summary and phrasing review."""

from __future__ import annotations

from bot.core import catalog, learning, people, summary
from bot.core.knowledge_base import KnowledgeBase
from bot.core.roles import is_operator
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.render import service_detail, service_line
from bot.dialogue.turn import Turn
from bot.i18n import LANGUAGES


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


def show_help(turn: Turn) -> list[Reply]:
    text = turn.t("help.user")
    if is_operator(turn.person):
        text += "\n\n" + turn.t("help.operator")
    return turn.say(text, menu(turn))


def cancel(turn: Turn) -> list[Reply]:
    was = turn.state
    turn.reset()
    key = "cancel.done" if was != "idle" else "cancel.nothing"
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
                [turn.choice("menu.report", "menu:report")],
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
    if not code:
        return turn.say(turn.t("usage.link"))
    person = people.redeem_link_code(
        turn.session,
        code,
        turn.msg.channel,
        turn.msg.user_id,
        display_name=turn.msg.display_name,
        now=turn.now,
    )
    turn.person = person
    return turn.say(
        turn.t(
            "link.done",
            name=person.name,
            roles=", ".join(turn.t(f"role.{r}") for r in person.roles),
        )
    )


def summary_command(turn: Turn, argument: str) -> list[Reply]:
    if not summary.may_ask(turn.person):
        return turn.say(turn.t("summary.not_allowed"))
    result = summary.build(turn.session, turn.now, turn.timezone, argument)
    turn.say(summary.render(result, turn.lang, turn.timezone, turn.now))
    turn.replies[-1].image = summary.chart(result)
    return turn.replies


def candidates(turn: Turn, kb: KnowledgeBase) -> list[Reply]:
    rows = learning.pending(turn.session, limit=5)
    if turn.person is None or not (set(turn.person.roles) & learning.REVIEWER_ROLES):
        return turn.say(turn.t("auth.reviewer_only"))
    if not rows:
        return turn.say(turn.t("kb.no_candidates"))
    for cand in rows:
        article = kb.article(cand.article_id)
        turn.say(
            turn.t(
                "kb.candidate",
                phrasing=cand.phrasing,
                article=article.question if article else cand.article_id,
                seen=cand.seen,
            ),
            [
                turn.choice("kb.approve", f"kb:ok:{cand.id}"),
                turn.choice("kb.reject", f"kb:no:{cand.id}"),
            ],
        )
    return turn.replies
