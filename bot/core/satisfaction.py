"""Satisfaction ratings (kepuasan): the reporter of a resolved ticket is asked once, in the
chat they reported from, for a score from 1 to 5 and an optional comment.

The evaluation the guideline asks for (ch. 8, 10: "mengumpulkan dan menganalisis umpan
balik") needs the users' own judgement of how their reports were handled, beside the
figures the tickets give; the evaluation report reads `results`.

Rules that hold for every interface: one question per ticket (a reopened and again
resolved ticket is not asked twice), one rating per question (a second press changes
nothing), only the reporter may answer (anyone else is refused as if there were no
question, so ticket numbers cannot be probed), and the question never holds the ticket
up: closing does not wait for it and a closed ticket may still be rated.

Each step is written to the ticket's trail (`TicketEvent`), with who, when and where.
The events are written here rather than through `tickets.record`, because `tickets`
calls `ask` when it resolves a ticket and the two modules must not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import notices
from bot.core.errors import HelpdeskError, NotFound
from bot.i18n import t
from storage.db import insert_for
from storage.models import Person, SatisfactionSurvey, Ticket, TicketEvent, utcnow

#: the scale of a rating: 1 very dissatisfied … 5 very satisfied
SCORES: Final = (1, 2, 3, 4, 5)
#: a comment longer than this is cut: it is a remark, not a second report
MAX_COMMENT: Final = 1000
#: the button action of a rating: "csat:r:<ticket number>:<score>"
RATE_ACTION: Final = "csat:r"
#: what a reporter types to leave the comment out
SKIP_WORDS: Final = frozenset({"lewati", "skip", "tidak", "no", "-"})


def ask(session: Session, ticket: Ticket, resolver_id: int | None, *, now: datetime) -> bool:
    """Ask the reporter of a just-resolved ticket for a rating, unless this ticket was
    asked before or there is nobody to ask (no chat to answer in, or the reporter resolved
    it themselves). True if the question was sent. The survey row and its notice are
    written in the resolution's transaction, so a rolled-back resolution asks nothing."""
    if ticket.id is None or not ticket.reporter_channel or not ticket.reporter_chat_id:
        return False
    if ticket.reporter_id is not None and ticket.reporter_id == resolver_id:
        return False
    insert = insert_for(session)
    created = session.execute(
        insert(SatisfactionSurvey)
        .values(
            ticket_id=ticket.id,
            service_id=ticket.service_id,
            reporter_id=ticket.reporter_id,
            channel=ticket.reporter_channel,
            chat_id=ticket.reporter_chat_id,
            asked_at=now,
        )
        .on_conflict_do_nothing(index_elements=["ticket_id"])
        .returning(col(SatisfactionSurvey.id))
    ).scalar_one_or_none()
    if created is None:
        return False
    lang = _lang(session, ticket.reporter_id)
    choices = [
        {"label": t("csat.button", lang, score=n), "action": f"{RATE_ACTION}:{ticket.number}:{n}"}
        for n in SCORES
    ]
    notices.enqueue(
        session,
        channel=ticket.reporter_channel,
        target=ticket.reporter_chat_id,
        kind="csat.ask",
        payload={
            "text": t(
                "csat.ask", lang, number=ticket.number, title=notices.short_title(ticket.title)
            ),
            "choices": choices,
            "ticket": ticket.number,
        },
        dedupe_key=f"csat:{ticket.id}:ask",
        now=now,
    )
    _trail(session, ticket.id, None, "system", "rating_asked", now, new=ticket.reporter_channel)
    return True


def rate(
    session: Session,
    person: Person | None,
    channel: str,
    chat_id: str,
    number: str,
    score: int,
    *,
    now: datetime | None = None,
) -> SatisfactionSurvey:
    """Record the rating `person` gave ticket `number`. Refused: a score outside 1–5
    (`csat.bad_score`), no question for this person (`csat.not_found`, also when the
    ticket is someone else's), already rated (`csat.already_rated`, the first score
    stays)."""
    if score not in SCORES:
        raise HelpdeskError("csat.bad_score")
    now = now or utcnow()
    survey = _survey_of(session, person, channel, chat_id, number, lock=True)
    if survey.score is not None:
        raise HelpdeskError("csat.already_rated", number=_number(number))
    # conditional: of two presses racing past the check above, only one finds it unrated
    done = session.execute(
        sa.update(SatisfactionSurvey)
        .where(col(SatisfactionSurvey.id) == survey.id, col(SatisfactionSurvey.score).is_(None))
        .values(score=score, rated_at=now, rated_by=person.id if person else None)
        .returning(col(SatisfactionSurvey.id))
    ).scalar_one_or_none()
    if done is None:
        raise HelpdeskError("csat.already_rated", number=_number(number))
    session.refresh(survey)
    _trail(session, survey.ticket_id, person, channel, "rating", now, new=str(score))
    return survey


def add_comment(
    session: Session,
    person: Person | None,
    channel: str,
    chat_id: str,
    number: str,
    text: str,
    *,
    now: datetime | None = None,
) -> SatisfactionSurvey:
    """The optional remark after a rating: only once, only after the score."""
    now = now or utcnow()
    survey = _survey_of(session, person, channel, chat_id, number, lock=True)
    if survey.score is None or survey.comment is not None:
        raise HelpdeskError("csat.no_comment_now")
    comment = text.strip()[:MAX_COMMENT]
    survey.comment, survey.commented_at = comment, now
    session.add(survey)
    _trail(session, survey.ticket_id, person, channel, "rating_comment", now, note=comment)
    return survey


def is_skip(text: str) -> bool:
    return text.strip().lower() in SKIP_WORDS


def _number(number: str) -> str:
    return number.strip().upper()[:24]


def _survey_of(
    session: Session,
    person: Person | None,
    channel: str,
    chat_id: str,
    number: str,
    *,
    lock: bool,
) -> SatisfactionSurvey:
    """The survey of ticket `number` if it is this person's to answer: the reporter's, or
    for a reporter without a person record, the chat's it was sent to."""
    stmt = (
        select(SatisfactionSurvey)
        .join(Ticket, col(Ticket.id) == col(SatisfactionSurvey.ticket_id))
        .where(col(Ticket.number) == _number(number))
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=SatisfactionSurvey).execution_options(populate_existing=True)
    survey = session.exec(stmt).first()
    if survey is None or not _answers(survey, person, channel, chat_id):
        raise NotFound("csat.not_found", number=_number(number))
    return survey


def _answers(survey: SatisfactionSurvey, person: Person | None, channel: str, chat_id: str) -> bool:
    if survey.reporter_id is not None:
        return person is not None and person.id == survey.reporter_id
    return (survey.channel, survey.chat_id) == (channel, chat_id)


def _trail(
    session: Session,
    ticket_id: int,
    person: Person | None,
    channel: str | None,
    kind: str,
    now: datetime,
    *,
    new: str | None = None,
    note: str | None = None,
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket_id,
            at=now,
            actor_id=person.id if person else None,
            channel=channel,
            kind=kind,
            new=new,
            note=note,
        )
    )
    session.flush()


def _lang(session: Session, person_id: int | None) -> str:
    person = session.get(Person, person_id) if person_id else None
    return (person.lang if person and person.lang else None) or "id"


# --- results ------------------------------------------------------------------------------


@dataclass
class Results:
    """The ratings of surveys asked in a period, for one service (or all)."""

    asked: int = 0
    #: score → how many gave it
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SCORES, 0))

    @property
    def rated(self) -> int:
        return sum(self.counts.values())

    @property
    def response_rate(self) -> float | None:
        """Rated / asked, in percent."""
        return round(100.0 * self.rated / self.asked, 1) if self.asked else None

    @property
    def mean(self) -> float | None:
        if not self.rated:
            return None
        return round(sum(s * n for s, n in self.counts.items()) / self.rated, 2)

    def add(self, other: Results) -> None:
        self.asked += other.asked
        for s in SCORES:
            self.counts[s] += other.counts[s]


def results(
    session: Session, start: datetime, end: datetime, service_id: str | None = None
) -> dict[str | None, Results]:
    """Per service (None: tickets without one), the surveys asked in [start, end) and
    their scores, whenever the answer came: one grouped query."""
    stmt = (
        sa.select(
            col(SatisfactionSurvey.service_id), col(SatisfactionSurvey.score), sa.func.count()
        )
        .where(col(SatisfactionSurvey.asked_at) >= start, col(SatisfactionSurvey.asked_at) < end)
        .group_by(col(SatisfactionSurvey.service_id), col(SatisfactionSurvey.score))
    )
    if service_id:
        stmt = stmt.where(col(SatisfactionSurvey.service_id) == service_id)
    out: dict[str | None, Results] = {}
    for sid, score, n in session.execute(stmt).all():
        r = out.setdefault(sid, Results())
        r.asked += int(n)
        if score is not None:
            r.counts[int(score)] += int(n)
    return out
