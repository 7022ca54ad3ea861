"""Phrasing review: /kandidat lists what users asked in words the knowledge base did not
know yet, and the approve/reject buttons teach it (role checks in bot.core.learning)."""

from __future__ import annotations

from bot.core import learning
from bot.dialogue.messages import Reply
from bot.dialogue.router import Button, Flow
from bot.dialogue.turn import Turn


def candidates(turn: Turn) -> list[Reply]:
    rows = learning.pending(turn.session, limit=5)
    if turn.person is None or not (set(turn.person.roles) & learning.REVIEWER_ROLES):
        return turn.say(turn.t("auth.reviewer_only"))
    if not rows:
        return turn.say(turn.t("kb.no_candidates"))
    for cand in rows:
        article = turn.kb.article(cand.article_id)
        text = (
            turn.t("problem.candidate", question=cand.phrasing, answer=cand.answer)
            if cand.answer  # a new article: a problem's workaround (bot.core.problems)
            else turn.t(
                "kb.candidate",
                phrasing=cand.phrasing,
                article=article.question if article else cand.article_id,
                seen=cand.seen,
            )
        )
        turn.say(
            text,
            [
                turn.choice("kb.approve", f"kb:ok:{cand.id}"),
                turn.choice("kb.reject", f"kb:no:{cand.id}"),
            ],
        )
    return turn.replies


def _decision(approve: bool) -> Button:
    """The candidate id comes from a button anyone could forge: only a short number counts."""

    def run(turn: Turn, cid: str) -> list[Reply] | None:
        if not (cid.isascii() and cid.isdecimal() and len(cid) <= 12):
            return None
        cand = learning.decide(turn.session, int(cid), approve, turn.person, now=turn.now)
        key = "kb.candidate_approved" if approve else "kb.candidate_rejected"
        return turn.say(turn.t(key, phrasing=cand.phrasing))

    return Button(run)


FLOW = Flow(
    name="review",
    commands={("kandidat", "candidates"): lambda turn, _: candidates(turn)},
    buttons={"kb:ok": _decision(True), "kb:no": _decision(False)},
)
