"""What the problem tick watches: fixed problems whose waiting period passed (verified,
or the service manager hears that incidents recurred) and clusters of similar incidents
offered to the service manager as a problem ("buat masalah dari N insiden ini?").

Functions of `now`: the scheduler calls `tick`; tests call it with chosen times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import notices, problem_clusters, problems
from bot.core.errors import HelpdeskError, NotFound
from bot.core.problems import DISELESAIKAN
from bot.core.ticket_states import DIBATALKAN, GANGGUAN
from bot.core.tickets import Actor
from bot.i18n import fmt_dt, t
from storage.db import session_scope
from storage.models import Identity, Person, Problem, ProblemSuggestion, Service, Ticket

if TYPE_CHECKING:
    from bot.config import Settings

#: (the manager's language, the service's name) -> (text, choices as {"label", "action"})
Render = Callable[[str, str], tuple[str, list[dict[str, str]]]]


@dataclass(frozen=True)
class Policy:
    """The settings the tick needs: the verification wait and what makes a cluster."""

    verify_days: int = 14
    window_hours: float = 24.0
    min_count: int = 3
    similarity: float = 0.7
    timezone: str = "Asia/Jakarta"

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            verify_days=settings.problem_verify_days,
            window_hours=settings.problem_cluster_window_hours,
            min_count=settings.problem_cluster_min_count,
            similarity=settings.problem_cluster_similarity,
            timezone=settings.timezone,
        )


def tell_service_manager(
    session: Session, service_id: str | None, *, kind: str, key: str, render: Render, now: datetime
) -> int:
    """A notice to the service's manager on every chat they linked; `key` dedupes it.
    Returns how many notices were written."""
    service = session.get(Service, service_id) if service_id else None
    if service is None or service.service_manager_id is None:
        return 0
    manager = session.get(Person, service.service_manager_id)
    if manager is None:
        return 0
    text, choices = render(manager.lang or "id", service.name)
    sent = 0
    for ident in session.exec(select(Identity).where(Identity.person_id == manager.id)):
        sent += notices.enqueue(
            session,
            channel=ident.channel,
            target=ident.external_id,
            kind=kind,
            payload={"text": text, "choices": choices},
            dedupe_key=f"{key}:{ident.channel}:{ident.external_id}",
            now=now,
        )
    return sent


# --- verification -------------------------------------------------------------------------


def recurrences(
    session: Session, problem: Problem, similarity: float, until: datetime
) -> list[Ticket]:
    """Incidents on the problem's service opened after the fix (up to `until`, the end of
    the waiting period) that are linked to it, or unlinked ones whose text is as similar
    to the problem's incidents as a cluster asks."""
    assert problem.fixed_at is not None
    linked = problems.incidents(session, problem)
    known_ids = {x.id for x in linked}
    stmt = (
        select(Ticket)
        .where(Ticket.type == GANGGUAN)
        .where(col(Ticket.created_at) > problem.fixed_at, col(Ticket.created_at) <= until)
        .where(col(Ticket.state) != DIBATALKAN)
        .order_by(col(Ticket.created_at), col(Ticket.id))
    )
    if problem.service_id is not None:
        stmt = stmt.where(Ticket.service_id == problem.service_id)
    else:
        stmt = stmt.where(col(Ticket.id).in_([i for i in known_ids if i is not None]))
    texts = [problem.title] + [problem_clusters.text_of(x) for x in linked]
    out = []
    for ticket in session.exec(stmt):
        if ticket.id in known_ids or (
            problems.problem_of(session, ticket) is None
            and problem_clusters.max_similarity(problem_clusters.text_of(ticket), texts)
            >= similarity
        ):
            out.append(ticket)
    return out


def verify_due(session: Session, now: datetime, policy: Policy) -> dict[str, int]:
    """Problems fixed at least `verify_days` ago: verified when no related incident came
    back; otherwise the service manager is told, once."""
    done = {"verified": 0, "recurred": 0}
    wait = timedelta(days=policy.verify_days)
    due = session.exec(
        select(Problem)
        .where(Problem.state == DISELESAIKAN)
        .where(col(Problem.recurred_at).is_(None))
        .where(col(Problem.fixed_at) <= now - wait)
        .order_by(col(Problem.id))
    )
    for problem in list(due):
        assert problem.fixed_at is not None
        fixed = problem.fixed_at
        back = recurrences(session, problem, policy.similarity, fixed + wait)
        if not back:
            problems.verify(session, problem, now=now)
            done["verified"] += 1
            continue
        numbers = ", ".join(x.number for x in back)
        problems.mark_recurred(session, problem, numbers, now=now)
        tell_service_manager(
            session,
            problem.service_id,
            kind="problem.recurred",
            key=f"problem:{problem.id}:recurred:{fixed.timestamp():.0f}",
            render=partial(_recurred_text, problem, numbers, policy.timezone),
            now=now,
        )
        done["recurred"] += 1
    return done


def _recurred_text(
    problem: Problem, numbers: str, tz: str, lang: str, service: str
) -> tuple[str, list[dict[str, str]]]:
    text = t(
        "problem.notice.recurred",
        lang,
        service=service,
        number=problem.number,
        title=problem.title,
        incidents=numbers,
        fixed=fmt_dt(problem.fixed_at, lang, tz),
    )
    return text, [{"label": t("problem.button.show", lang), "action": f"pb:show:{problem.number}"}]


# --- suggested problems -------------------------------------------------------------------


def suggest(session: Session, now: datetime, policy: Policy) -> int:
    """Offer each new cluster of similar incidents to its service manager, once: the
    suggestion keeps its incidents, and they are not offered again. Returns how many."""
    made = 0
    for group in problem_clusters.candidate_clusters(
        session,
        now,
        window_hours=policy.window_hours,
        min_count=policy.min_count,
        threshold=policy.similarity,
    ):
        service_id = group[0].service_id
        assert service_id is not None
        row = ProblemSuggestion(
            service_id=service_id,
            ticket_ids=[x.id for x in group if x.id is not None],
            created_at=now,
        )
        session.add(row)
        session.flush()

        tell_service_manager(
            session,
            service_id,
            kind="problem.suggested",
            key=f"problem-suggestion:{row.id}",
            render=partial(_suggestion_text, row, group),
            now=now,
        )
        made += 1
    return made


def _suggestion_text(
    row: ProblemSuggestion, group: list[Ticket], lang: str, service: str
) -> tuple[str, list[dict[str, str]]]:
    n = len(group)
    numbers = ", ".join(x.number for x in group)
    text = t(
        "problem.notice.suggested",
        lang,
        service=service,
        n=n,
        incidents=numbers,
        title=group[0].title,
    )
    label = t("problem.button.create_from", lang, n=n)
    return text, [{"label": label, "action": f"pb:sug:{row.id}"}]


def accept_suggestion(
    session: Session, suggestion_id: int, actor: Actor, *, now: datetime | None = None
) -> Problem:
    """The manager said yes: one problem linking the cluster's incidents that are still
    unlinked (some may have been linked by hand meanwhile)."""
    row = session.get(ProblemSuggestion, suggestion_id)
    if row is None:
        raise NotFound("problem.suggestion_not_found", id=suggestion_id)
    if row.problem_id is not None:
        done = session.get(Problem, row.problem_id)
        raise HelpdeskError("problem.suggestion_done", problem=done.number if done else "-")
    items = [
        x
        for x in (session.get(Ticket, i) for i in row.ticket_ids)
        if x is not None and problems.problem_of(session, x) is None
    ]
    problem = problems.create(session, items, actor, now=now)
    row.problem_id = problem.id
    session.add(row)
    return problem


def tick(engine: Engine, now: datetime, policy: Policy) -> dict[str, int]:
    """The scheduled problem work: verification, then suggested problems."""
    with session_scope(engine) as session:
        done = verify_due(session, now, policy)
    with session_scope(engine) as session:
        done["suggested"] = suggest(session, now, policy)
    return done
