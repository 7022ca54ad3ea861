"""Problem management (masalah, guideline ch. 7.1.2): identify the cause behind incidents,
diagnose it, record the known error's workaround, fix it, and verify afterwards that no
related incident recurred.

Every change goes through this module and appends a `ProblemEvent` (who, when, through
which channel, old → new), as tickets record theirs. Chat flows, the CLI and the tick
call these functions; a refusal is a `HelpdeskError` with a text key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlmodel import Session, col, select

from bot.core import notices, tickets
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed, NotFound
from bot.core.roles import is_operator
from bot.core.ticket_states import GANGGUAN, MIN_NOTE
from bot.core.tickets import SYSTEM, Actor
from bot.i18n import t
from storage.models import (
    KbCandidate,
    Person,
    Problem,
    ProblemEvent,
    ProblemIncident,
    Ticket,
    utcnow,
)

# --- states -------------------------------------------------------------------------------

BARU: Final = "baru"
DIDIAGNOSIS: Final = "didiagnosis"
DIKETAHUI: Final = "diketahui"  # a known error: root cause and workaround recorded
DISELESAIKAN: Final = "diselesaikan"
DIVERIFIKASI: Final = "diverifikasi"
DITUTUP: Final = "ditutup"

STATES: Final = (BARU, DIDIAGNOSIS, DIKETAHUI, DISELESAIKAN, DIVERIFIKASI, DITUTUP)
#: not yet verified: lists of open problems show these.
OPEN_STATES: Final = (BARU, DIDIAGNOSIS, DIKETAHUI, DISELESAIKAN)
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    BARU: frozenset({DIDIAGNOSIS}),
    DIDIAGNOSIS: frozenset({DIKETAHUI, DISELESAIKAN}),
    DIKETAHUI: frozenset({DISELESAIKAN}),
    # back to diagnosis when related incidents recurred after the fix
    DISELESAIKAN: frozenset({DIVERIFIKASI, DIDIAGNOSIS}),
    DIVERIFIKASI: frozenset({DITUTUP}),
    DITUTUP: frozenset(),
}
#: the text of each state (literal keys, so the catalogue check finds every one)
STATE_TEXT: Final = {
    BARU: "problem.state.baru",
    DIDIAGNOSIS: "problem.state.didiagnosis",
    DIKETAHUI: "problem.state.diketahui",
    DISELESAIKAN: "problem.state.diselesaikan",
    DIVERIFIKASI: "problem.state.diverifikasi",
    DITUTUP: "problem.state.ditutup",
}
PREFIX: Final = "PRB"


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _require_operator(actor: Actor) -> None:
    """Technical managers, service managers and coordinators work problems."""
    if actor is not SYSTEM and not is_operator(actor.person):
        raise NotAllowed("auth.operator_only")


def _note(text: str | None, key: str) -> str:
    """A diagnosis, root cause, workaround or fix of a few words at least."""
    text = " ".join((text or "").split())
    if len(text) < MIN_NOTE:
        raise HelpdeskError(key, n=MIN_NOTE)
    return text


def next_number(session: Session, year: int) -> str:
    """PRB-2026-000001: the ticket counters' table, under its own key."""
    return tickets.allocate_number(session, f"{PREFIX}-{year}")


def record(
    session: Session,
    problem: Problem,
    actor: Actor,
    kind: str,
    *,
    old: str | None = None,
    new: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> ProblemEvent:
    assert problem.id is not None, "events belong to a flushed problem"
    event = ProblemEvent(
        problem_id=problem.id,
        at=_now(now),
        actor_id=actor.person_id,
        channel=actor.channel,
        kind=kind,
        old=old[:200] if old else old,
        new=new[:200] if new else new,
        note=note,
    )
    session.add(event)
    session.flush()
    return event


def _change_state(
    session: Session, problem: Problem, new: str, actor: Actor, *, note: str | None, now: datetime
) -> None:
    old = problem.state
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(
            "problem.invalid_transition", number=problem.number, old=old, new=new
        )
    problem.state = new
    problem.updated_at = now
    session.add(problem)
    record(session, problem, actor, "state", old=old, new=new, note=note, now=now)


def _set_text(
    session: Session, problem: Problem, field: str, value: str, actor: Actor, now: datetime
) -> None:
    """Diagnosis, root cause, workaround, fix: each change is an event with old → new."""
    old = getattr(problem, field)
    if old == value:
        return
    setattr(problem, field, value)
    problem.updated_at = now
    session.add(problem)
    # old and new are cut at 200 characters; a longer new text is kept whole in the note
    note = value if len(value) > 200 else None
    record(session, problem, actor, field, old=old, new=value, note=note, now=now)


# --- finding ------------------------------------------------------------------------------


def find(
    session: Session, number: str, viewer: Person | None, *, for_update: bool = False
) -> Problem:
    """Problem records are the operators' work: anyone else is refused before a look-up,
    so numbers cannot be probed."""
    if not is_operator(viewer):
        raise NotAllowed("auth.operator_only")
    return get(session, number, for_update=for_update)


def get(session: Session, number: str, *, for_update: bool = False) -> Problem:
    """By number, with no role check: for `find` and the CLI (run by whoever administers
    the server)."""
    wanted = number.strip().upper()
    stmt = select(Problem).where(Problem.number == wanted)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    problem = session.exec(stmt).first()
    if problem is None:
        raise NotFound("problem.not_found", number=wanted[:40])
    return problem


def problem_of(session: Session, ticket: Ticket) -> Problem | None:
    return session.exec(
        select(Problem)
        .join(ProblemIncident, col(ProblemIncident.problem_id) == col(Problem.id))
        .where(ProblemIncident.ticket_id == ticket.id)
    ).first()


def incidents(session: Session, problem: Problem) -> list[Ticket]:
    return list(
        session.exec(
            select(Ticket)
            .join(ProblemIncident, col(ProblemIncident.ticket_id) == col(Ticket.id))
            .where(ProblemIncident.problem_id == problem.id)
            .order_by(col(Ticket.created_at), col(Ticket.id))
        )
    )


def open_problems(session: Session, *, limit: int = 20) -> list[Problem]:
    return list(
        session.exec(
            select(Problem)
            .where(col(Problem.state).in_(OPEN_STATES))
            .order_by(col(Problem.created_at).desc(), col(Problem.id).desc())
            .limit(limit)
        )
    )


def history(session: Session, problem: Problem) -> list[ProblemEvent]:
    return list(
        session.exec(
            select(ProblemEvent)
            .where(ProblemEvent.problem_id == problem.id)
            .order_by(col(ProblemEvent.id))
        )
    )


# --- creating and linking -----------------------------------------------------------------


def _check_linkable(session: Session, ticket: Ticket) -> None:
    if ticket.type != GANGGUAN:
        raise HelpdeskError("problem.not_incident", number=ticket.number)
    linked = problem_of(session, ticket)
    if linked is not None:
        raise HelpdeskError("problem.already_linked", number=ticket.number, problem=linked.number)


def create(
    session: Session, incidents_: Sequence[Ticket], actor: Actor, *, now: datetime | None = None
) -> Problem:
    """A problem from one incident (or a suggested cluster): its title and service come
    from the first one."""
    _require_operator(actor)
    if not incidents_:
        raise HelpdeskError("problem.no_incidents")
    for ticket in incidents_:
        _check_linkable(session, ticket)
    now = _now(now)
    first = incidents_[0]
    problem = Problem(
        number=next_number(session, now.year),
        title=first.title,
        service_id=first.service_id,
        created_by=actor.person_id,
        created_at=now,
        updated_at=now,
    )
    session.add(problem)
    session.flush()
    record(session, problem, actor, "created", new=BARU, note=first.number, now=now)
    for ticket in incidents_:
        _link(session, problem, ticket, actor, now)
    return problem


def _link(session: Session, problem: Problem, ticket: Ticket, actor: Actor, now: datetime) -> None:
    assert ticket.id is not None and problem.id is not None
    session.add(
        ProblemIncident(
            problem_id=problem.id, ticket_id=ticket.id, linked_at=now, linked_by=actor.person_id
        )
    )
    session.flush()
    record(session, problem, actor, "link", new=ticket.number, now=now)
    tickets.record(session, ticket, actor, "problem", new=problem.number, now=now)


def link(
    session: Session, problem: Problem, ticket: Ticket, actor: Actor, *, now: datetime | None = None
) -> None:
    _require_operator(actor)
    if problem.state == DITUTUP:
        raise InvalidTransition("problem.closed", number=problem.number)
    linked = problem_of(session, ticket)
    if linked is not None and linked.id == problem.id:
        raise HelpdeskError("problem.link_exists", number=ticket.number, problem=problem.number)
    _check_linkable(session, ticket)
    _link(session, problem, ticket, actor, _now(now))


def unlink(
    session: Session, problem: Problem, ticket: Ticket, actor: Actor, *, now: datetime | None = None
) -> None:
    """A wrongly linked incident comes off; a problem keeps at least one incident."""
    _require_operator(actor)
    if problem.state == DITUTUP:
        raise InvalidTransition("problem.closed", number=problem.number)
    row = session.get(ProblemIncident, (problem.id, ticket.id))
    if row is None:
        raise HelpdeskError("problem.not_linked", number=ticket.number, problem=problem.number)
    if len(incidents(session, problem)) <= 1:
        raise HelpdeskError("problem.last_incident", number=ticket.number, problem=problem.number)
    now = _now(now)
    session.delete(row)
    session.flush()
    record(session, problem, actor, "unlink", old=ticket.number, now=now)
    tickets.record(session, ticket, actor, "problem", old=problem.number, now=now)


# --- the life cycle -----------------------------------------------------------------------


def diagnose(
    session: Session, problem: Problem, actor: Actor, diagnosis: str, *, now: datetime | None = None
) -> None:
    """Record (or correct) the diagnosis; a new problem moves to didiagnosis."""
    _require_operator(actor)
    text = _note(diagnosis, "problem.diagnosis_required")
    now = _now(now)
    if problem.state not in (BARU, DIDIAGNOSIS, DIKETAHUI):
        raise InvalidTransition(
            "problem.invalid_transition", number=problem.number, old=problem.state, new=DIDIAGNOSIS
        )
    _set_text(session, problem, "diagnosis", text, actor, now)
    if problem.state == BARU:
        _change_state(session, problem, DIDIAGNOSIS, actor, note=None, now=now)


def mark_known(
    session: Session,
    problem: Problem,
    actor: Actor,
    *,
    root_cause: str,
    workaround: str,
    now: datetime | None = None,
) -> None:
    """A known error: the root cause is found and users have a workaround until the fix."""
    _require_operator(actor)
    cause = _note(root_cause, "problem.root_cause_required")
    work = _note(workaround, "problem.workaround_required")
    now = _now(now)
    if DIKETAHUI not in TRANSITIONS[problem.state]:
        raise InvalidTransition(
            "problem.invalid_transition", number=problem.number, old=problem.state, new=DIKETAHUI
        )
    _set_text(session, problem, "root_cause", cause, actor, now)
    _set_text(session, problem, "workaround", work, actor, now)
    problem.known_at = now
    _change_state(session, problem, DIKETAHUI, actor, note=None, now=now)


def mark_fixed(
    session: Session,
    problem: Problem,
    actor: Actor,
    *,
    fix: str,
    root_cause: str | None = None,
    now: datetime | None = None,
) -> None:
    """The cause is removed. Verification (bot.core.problem_watch) waits the configured
    days for a recurring incident; the reporters of the linked incidents are told where
    they reported."""
    _require_operator(actor)
    text = _note(fix, "problem.fix_required")
    cause = _note(root_cause or problem.root_cause, "problem.root_cause_required")
    now = _now(now)
    if DISELESAIKAN not in TRANSITIONS[problem.state]:
        raise InvalidTransition(
            "problem.invalid_transition", number=problem.number, old=problem.state, new=DISELESAIKAN
        )
    _set_text(session, problem, "root_cause", cause, actor, now)
    _set_text(session, problem, "fix", text, actor, now)
    problem.fixed_at = now
    problem.recurred_at = None
    problem.verified_at = None
    _change_state(session, problem, DISELESAIKAN, actor, note=None, now=now)
    tell_reporters_fixed(session, problem)


def reopen(
    session: Session, problem: Problem, actor: Actor, reason: str, *, now: datetime | None = None
) -> None:
    """Related incidents came back after the fix: the diagnosis starts again."""
    _require_operator(actor)
    text = _note(reason, "problem.reason_required")
    now = _now(now)
    _change_state(session, problem, DIDIAGNOSIS, actor, note=text, now=now)
    problem.fixed_at = None
    problem.recurred_at = None


def close(session: Session, problem: Problem, actor: Actor, *, now: datetime | None = None) -> None:
    """Closed only once verified: nothing related broke after the fix."""
    _require_operator(actor)
    now = _now(now)
    _change_state(session, problem, DITUTUP, actor, note=None, now=now)
    problem.closed_at = now


# --- publishing the workaround and telling reporters --------------------------------------


def article_id(problem: Problem) -> str:
    return f"masalah-{problem.number.lower()}"


def publish_workaround(
    session: Session, problem: Problem, actor: Actor, *, now: datetime | None = None
) -> KbCandidate:
    """The known error's workaround becomes a candidate FAQ article (question: the
    problem's title), reviewed with the phrasings in /kandidat before anyone sees it."""
    _require_operator(actor)
    if not problem.workaround or problem.state in (BARU, DIDIAGNOSIS):
        raise HelpdeskError("problem.no_workaround", number=problem.number)
    if problem.kb_candidate_id is not None:
        raise HelpdeskError("problem.already_published", number=problem.number)
    now = _now(now)
    cand = KbCandidate(
        article_id=article_id(problem),
        phrasing=problem.title[:500],
        answer=problem.workaround,
        status="pending",
        created_at=now,
    )
    session.add(cand)
    session.flush()
    problem.kb_candidate_id = cand.id
    problem.updated_at = now
    session.add(problem)
    record(session, problem, actor, "published", new=str(cand.id), now=now)
    return cand


def _lang_of(session: Session, person_id: int | None) -> str:
    person = session.get(Person, person_id) if person_id else None
    return (person.lang if person and person.lang else None) or "id"


def tell_reporters_fixed(session: Session, problem: Problem) -> int:
    """Each linked incident's reporter hears, in the chat where they reported, that the
    cause is fixed. Returns how many notices were written."""
    assert problem.fixed_at is not None
    sent = 0
    for ticket in incidents(session, problem):
        if not ticket.reporter_channel or not ticket.reporter_chat_id:
            continue
        lang = _lang_of(session, ticket.reporter_id)
        text = t(
            "problem.notice.fixed",
            lang,
            number=ticket.number,
            title=ticket.title,
            fix=problem.fix or "",
        )
        sent += notices.enqueue(
            session,
            channel=ticket.reporter_channel,
            target=ticket.reporter_chat_id,
            kind="problem.fixed",
            payload={"text": text, "ticket": ticket.number, "problem": problem.number},
            dedupe_key=f"problem:{problem.id}:fixed:{ticket.id}:{problem.fixed_at.timestamp():.0f}",
            now=problem.fixed_at,
        )
    return sent


# --- what the verification tick decides (bot.core.problem_watch) --------------------------


def verify(session: Session, problem: Problem, *, now: datetime) -> None:
    """The waiting period passed without a related incident: verified."""
    problem.verified_at = now
    _change_state(session, problem, DIVERIFIKASI, SYSTEM, note=None, now=now)


def mark_recurred(session: Session, problem: Problem, numbers: str, *, now: datetime) -> None:
    """Related incidents came back after the fix: recorded once; the tick looks no more
    until someone reopens the problem (`reopen`) and fixes it again."""
    problem.recurred_at = now
    problem.updated_at = now
    session.add(problem)
    record(session, problem, SYSTEM, "recurred", note=numbers, now=now)
