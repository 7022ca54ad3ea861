"""Learning from use: phrasings users confirmed become candidate alternates that a
service manager approves; "Tidak" answers are counted to find articles that fail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core.errors import NotAllowed, NotFound
from bot.core.roles import Role, has_any
from storage.db import insert_for
from storage.models import KbCandidate, KbFeedback, Person, utcnow

REVIEWER_ROLES = frozenset({Role.PENGELOLA_LAYANAN, Role.KOORDINATOR_LAYANAN, Role.ADMIN})
MAX_PHRASING = 300


def record_feedback(
    session: Session, article_id: str, helpful: bool, query: str, now: datetime | None = None
) -> None:
    session.add(
        KbFeedback(article_id=article_id, helpful=helpful, query=query[:500], at=now or utcnow())
    )


def propose(session: Session, article_id: str, phrasing: str, now: datetime | None = None) -> None:
    """Keep the user's words as a candidate alternate; repeated ones count up."""
    phrasing = " ".join(phrasing.split())[:MAX_PHRASING]
    if len(phrasing) < 3:
        return
    insert = insert_for(session)
    stmt = insert(KbCandidate).values(
        article_id=article_id,
        phrasing=phrasing,
        status="pending",
        seen=1,
        created_at=now or utcnow(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["article_id", "phrasing"], set_={"seen": KbCandidate.seen + 1}
    )
    session.execute(stmt)


def pending(session: Session, limit: int = 20) -> list[KbCandidate]:
    return list(
        session.exec(
            select(KbCandidate)
            .where(KbCandidate.status == "pending")
            .order_by(col(KbCandidate.seen).desc(), col(KbCandidate.id))
            .limit(limit)
        )
    )


def decide(
    session: Session,
    candidate_id: int,
    approve: bool,
    reviewer: Person | None,
    now: datetime | None = None,
    *,
    cli: bool = False,
) -> KbCandidate:
    """Chat callers pass the reviewer, whose role is checked; only the CLI (run by whoever
    administers the server) passes cli=True and no reviewer."""
    if not cli and not has_any(reviewer, REVIEWER_ROLES):
        raise NotAllowed("auth.reviewer_only")
    cand = session.get(KbCandidate, candidate_id)
    if cand is None or cand.status != "pending":
        raise NotFound("kb.candidate_not_found", id=candidate_id)
    cand.status = "approved" if approve else "rejected"
    cand.decided_at = now or utcnow()
    cand.decided_by = reviewer.id if reviewer else None
    session.add(cand)
    session.flush()
    return cand


def failing_articles(
    session: Session, min_answers: int = 3, limit: int = 20
) -> list[tuple[str, int, int]]:
    """(article id, "Tidak" count, total) for articles most often not helpful."""
    no = sa.func.sum(sa.case((col(KbFeedback.helpful).is_(False), 1), else_=0))
    rows = session.execute(
        sa.select(col(KbFeedback.article_id), no, sa.func.count())
        .group_by(KbFeedback.article_id)
        .having(sa.func.count() >= min_answers)
        .order_by((no * 1.0 / sa.func.count()).desc(), no.desc())
        .limit(limit)
    ).all()
    return [(r[0], int(r[1] or 0), int(r[2])) for r in rows if (r[1] or 0) > 0]
