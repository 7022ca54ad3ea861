"""Questions in free text: answer, offer choices, or offer to report."""

from __future__ import annotations

from bot.core import learning
from bot.core.knowledge_base import KnowledgeBase
from bot.dialogue.flows import guided_report as reporting
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.turn import Turn

MAX_QUERY_KEEP = 300


def ask(turn: Turn, kb: KnowledgeBase, text: str) -> list[Reply]:
    decision = kb.current.decide(text, lang=turn.lang)
    query = text[:MAX_QUERY_KEEP]
    if decision.kind == "answer" and decision.matches:
        return answer(turn, decision.matches[0].article.id, kb, query)
    if decision.kind == "choices" and decision.matches:
        turn.go("faq_choose", query=query)
        choices = [
            Choice(m.article.question[:60], f"faq:pick:{m.article.id}")
            for m in decision.matches[:3]
        ]
        choices.append(turn.choice("faq.none_fit", "faq:none"))
        return turn.say(turn.t("faq.did_you_mean"), choices)
    turn.go("offer_report", query=query)
    return turn.say(
        turn.t("faq.no_match"),
        [turn.choice("faq.report_yes", "rep:start"), turn.choice("faq.report_no", "faq:drop")],
    )


def answer(turn: Turn, article_id: str, kb: KnowledgeBase, query: str) -> list[Reply]:
    article = kb.article(article_id)
    if article is None:
        turn.reset()
        return turn.say(turn.t("faq.article_gone"))
    turn.go("faq_feedback", query=query, article=article.id, service=article.service)
    turn.say(f"{article.question}\n\n{article.answer}")
    return turn.say(
        turn.t("faq.helpful"),
        [
            turn.choice("common.yes", f"faq:yes:{article.id}"),
            turn.choice("common.no", f"faq:no:{article.id}"),
        ],
    )


def picked(turn: Turn, kb: KnowledgeBase, article_id: str) -> list[Reply]:
    query = turn.data.get("query", "")
    if query and kb.article(article_id) is not None:
        learning.propose(turn.session, article_id, query, now=turn.now)
    return answer(turn, article_id, kb, query)


def feedback(turn: Turn, article_id: str, helpful: bool) -> list[Reply]:
    query = turn.data.get("query", "")
    service = turn.data.get("service")
    learning.record_feedback(turn.session, article_id, helpful, query, now=turn.now)
    if helpful:
        if query:
            learning.propose(turn.session, article_id, query, now=turn.now)
        turn.reset()
        return turn.say(turn.t("faq.glad"))
    turn.go("offer_report", query=query, service=service)
    return turn.say(
        turn.t("faq.sorry_offer_report"),
        [turn.choice("faq.report_yes", "rep:start"), turn.choice("faq.report_no", "faq:drop")],
    )


def start_report_from_query(turn: Turn) -> list[Reply]:
    return reporting.start(turn, turn.data.get("query", ""), turn.data.get("service"))
