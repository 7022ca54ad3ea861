"""Questions in free text: answer, offer choices, or offer to report."""

from __future__ import annotations

import textwrap

from bot.core import learning
from bot.dialogue.flows import guided_report as reporting
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.router import Button, Flow, Text
from bot.dialogue.turn import Turn

#: the user picks one of the articles offered
CHOOSE = "faq_choose"
#: an article was shown: was it helpful?
FEEDBACK = "faq_feedback"
#: nothing helped: report it?
OFFER_REPORT = "offer_report"
STATES = (CHOOSE, FEEDBACK, OFFER_REPORT)

MAX_QUERY_KEEP = 300
#: longest suggestion label; buttons on small screens cut longer ones mid-word
MAX_LABEL = 60


def label_of(question: str) -> str:
    """A suggestion's label, shortened at a word boundary so it still reads as words."""
    return textwrap.shorten(question, width=MAX_LABEL, placeholder=" …")


def ask(turn: Turn, text: str) -> list[Reply]:
    decision = turn.kb.current.decide(text, lang=turn.lang)
    query = text[:MAX_QUERY_KEEP]
    if decision.kind == "answer" and decision.matches:
        return answer(turn, decision.matches[0].article.id, query)
    if decision.kind == "choices" and decision.matches:
        turn.go(CHOOSE, keep=False, query=query)
        choices = [
            Choice(label_of(m.article.question), f"faq:pick:{m.article.id}")
            for m in decision.matches[:3]
        ]
        choices.append(turn.choice("faq.none_fit", "faq:none"))
        return turn.say(turn.t("faq.did_you_mean"), choices)
    turn.go(OFFER_REPORT, keep=False, query=query)
    return turn.say(
        turn.t("faq.no_match"),
        [turn.choice("faq.report_yes", "rep:start"), turn.choice("faq.report_no", "faq:drop")],
    )


def ask_afresh(turn: Turn, text: str) -> list[Reply]:
    """Free text nothing else claims is a new question: whatever flow was left open ends."""
    turn.reset()
    return ask(turn, text)


def answer(turn: Turn, article_id: str, query: str) -> list[Reply]:
    article = turn.kb.article(article_id)
    if article is None:
        turn.reset()
        return turn.say(turn.t("faq.article_gone"))
    turn.go(FEEDBACK, keep=False, query=query, article=article.id, service=article.service)
    turn.say(f"**{article.question}**\n\n{article.answer}", markdown=True)
    return turn.say(
        turn.t("faq.helpful"),
        [
            turn.choice("common.yes", f"faq:yes:{article.id}"),
            turn.choice("common.no", f"faq:no:{article.id}"),
        ],
    )


def picked(turn: Turn, article_id: str) -> list[Reply]:
    query = turn.data.get("query", "")
    if query and turn.kb.article(article_id) is not None:
        learning.propose(turn.session, article_id, query, now=turn.now)
    return answer(turn, article_id, query)


def feedback(turn: Turn, article_id: str, helpful: bool) -> list[Reply]:
    query = turn.data.get("query", "")
    service = turn.data.get("service")
    learning.record_feedback(turn.session, article_id, helpful, query, now=turn.now)
    if helpful:
        if query:
            learning.propose(turn.session, article_id, query, now=turn.now)
        turn.reset()
        return turn.say(turn.t("faq.glad"))
    turn.go(OFFER_REPORT, keep=False, query=query, service=service)
    return turn.say(
        turn.t("faq.sorry_offer_report"),
        [turn.choice("faq.report_yes", "rep:start"), turn.choice("faq.report_no", "faq:drop")],
    )


def start_report_from_query(turn: Turn) -> list[Reply]:
    return reporting.start(turn, turn.data.get("query", ""), turn.data.get("service"))


def _feedback_button(helpful: bool) -> Button:
    """Yes/no counts only for the article last shown, not one named by a forged button."""

    def run(turn: Turn, article_id: str) -> list[Reply] | None:
        if turn.data.get("article") != article_id:
            return None
        return feedback(turn, article_id, helpful)

    return Button(run, states=(FEEDBACK,))


def none_fit(turn: Turn) -> list[Reply]:
    """No article was shown, so the reply must not speak of one that did not help."""
    turn.go(OFFER_REPORT, keep=False, query=turn.data.get("query", ""))
    return turn.say(
        turn.t("faq.none_fit_offer_report"),
        [turn.choice("faq.report_yes", "rep:start"), turn.choice("faq.report_no", "faq:drop")],
    )


def drop(turn: Turn) -> list[Reply]:
    turn.reset()
    return turn.say(turn.t("faq.ok_anything_else"))


FLOW = Flow(
    name="faq",
    buttons={
        "faq:pick": Button(picked, states=(CHOOSE,), offered=True),
        "faq:yes": _feedback_button(True),
        "faq:no": _feedback_button(False),
        "faq:none": Button(lambda turn, _: none_fit(turn), states=(CHOOSE,)),
        "faq:drop": Button(lambda turn, _: drop(turn)),
        "rep:start": Button(
            lambda turn, _: start_report_from_query(turn),
            states=(OFFER_REPORT, CHOOSE, FEEDBACK),
            exact=True,
        ),
    },
    states={CHOOSE: Text.AS_IDLE, FEEDBACK: Text.AS_IDLE, OFFER_REPORT: Text.AS_IDLE},
    fallback=ask_afresh,
)
