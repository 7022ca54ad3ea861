"""The periodic review (reviu) of SPBE service management, levels 4 and 5 of guideline
ch. 3.6: a coordinator opens a review of a period, which freezes that period's
evaluation figures per service and invites the coordinators and service managers; the
meeting's attendees, findings and decisions are recorded, each decision becoming a
follow-up action (bot.core.review_actions); the review is closed (ditutup) once its
record is complete. Every step is a ReviewEvent with who, when and where.

`by=None` is the CLI (an administrator at the terminal): no role to check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core import catalog, notices, review_figures
from bot.core.errors import HelpdeskError, NotAllowed, NotFound
from bot.core.roles import Role, has_any
from bot.i18n import t
from storage.db import saved_id
from storage.models import (
    Identity,
    Person,
    Review,
    ReviewAction,
    ReviewAttendee,
    ReviewEvent,
    ReviewFigure,
    ReviewFinding,
    Service,
    Ticket,
)

DIBUKA = "dibuka"
DITUTUP = "ditutup"
STATES = (DIBUKA, DITUTUP)
#: what a ReviewEvent records
EVENT_KINDS = (
    "opened",
    "invited",
    "attendee",
    "finding",
    "decision",
    "state",
    "reminded",
    "escalated",
)

#: open and close reviews, cancel actions
COORDINATOR_ROLES = frozenset({Role.KOORDINATOR_LAYANAN.value, Role.ADMIN.value})
#: take part: read reviews, record attendees, findings and decisions
PARTICIPANT_ROLES = COORDINATOR_ROLES | {Role.PENGELOLA_LAYANAN.value}
#: who is invited when a review opens
INVITED_ROLES = frozenset({Role.KOORDINATOR_LAYANAN.value, Role.PENGELOLA_LAYANAN.value})
#: the shortest finding or decision worth a record
MIN_TEXT = 5
#: how far ahead a due date may be
MAX_DUE = timedelta(days=366)
#: the longest period one review covers
MAX_PERIOD_DAYS = 366

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})[- ]?(?:q|tw|t)([1-4])$|^(?:q|tw|t)([1-4])[- ]?(\d{4})$")
_TICKET = re.compile(r"^[A-Za-z]{2,5}-\d{4}-\d+$")


def may_coordinate(person: Person | None) -> bool:
    return has_any(person, COORDINATOR_ROLES)


def may_take_part(person: Person | None) -> bool:
    return has_any(person, PARTICIPANT_ROLES)


def _need(by: Person | None, roles: frozenset[str], key: str) -> None:
    if by is not None and not has_any(by, roles):
        raise NotAllowed(key)


def today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """A period of whole local days: [start 00:00, end+1 00:00) in the agency's zone."""
    zone = ZoneInfo(tz)
    return (
        datetime.combine(start, time(0), zone),
        datetime.combine(end + timedelta(days=1), time(0), zone),
    )


# -- periods ----------------------------------------------------------------------------


def _month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def parse_period(text: str) -> tuple[date, date]:
    """A month ("2026-11"), a quarter ("2026-Q4", "TW4 2026", "Q4-2026") or two dates
    ("2026-10-01 2026-10-31"). Refuses anything else with the usage."""
    words = text.strip().lower().replace("s.d.", " ").replace("–", " ").split()
    try:
        if len(words) == 2 and all(len(w) == 10 for w in words):
            start, end = date.fromisoformat(words[0]), date.fromisoformat(words[1])
        elif len(words) in (1, 2) and (m := _QUARTER.match("-".join(words))):
            year = int(m.group(1) or m.group(4))
            quarter = int(m.group(2) or m.group(3))
            start = date(year, 3 * quarter - 2, 1)
            end = _month_end(year, 3 * quarter)
        elif len(words) == 1 and (m := _MONTH.match(words[0])):
            year, month = int(m.group(1)), int(m.group(2))
            start, end = date(year, month, 1), _month_end(year, month)
        else:
            raise HelpdeskError("review.bad_period")
    except ValueError:
        raise HelpdeskError("review.bad_period") from None
    if start > end or start.year < 2000 or (end - start).days >= MAX_PERIOD_DAYS:
        raise HelpdeskError("review.bad_period")
    return start, end


def previous_periods(now: datetime, tz: str) -> list[tuple[str, str]]:
    """The last month and the last quarter before today, as (label, argument) pairs to
    offer as choices."""
    day = today(now, tz)
    last_month_end = day.replace(day=1) - timedelta(days=1)
    quarter = (day.month - 1) // 3  # this quarter's index 0..3
    year = day.year if quarter else day.year - 1
    last_quarter = quarter if quarter else 4
    month = f"{last_month_end.year}-{last_month_end.month:02d}"
    return [(month, month), (f"{year}-Q{last_quarter}", f"{year}-Q{last_quarter}")]


# -- records -----------------------------------------------------------------------------


def record(
    session: Session,
    review: Review,
    by: Person | None,
    kind: str,
    *,
    now: datetime,
    channel: str | None,
    action: ReviewAction | None = None,
    old: str | None = None,
    new: str | None = None,
    note: str | None = None,
) -> ReviewEvent:
    event = ReviewEvent(
        review_id=saved_id(review),
        action_id=action.id if action else None,
        at=now,
        actor_id=by.id if by else None,
        channel=channel,
        kind=kind,
        old=old,
        new=new,
        note=note[:1000] if note else None,
    )
    session.add(event)
    session.flush()
    return event


def tell(
    session: Session,
    people: Iterable[Person],
    *,
    kind: str,
    key: str,
    dedupe: str,
    now: datetime,
    choices: Sequence[tuple[str, str]] = (),
    **params: Any,
) -> int:
    """A notice to every chat each person linked, in the person's language; `choices`
    are (text key of the label, action). Returns how many were queued."""
    queued = 0
    for person in people:
        lang = person.lang or "id"
        payload: dict[str, Any] = {"text": t(key, lang, **params)}
        if choices:
            payload["choices"] = [{"label": t(k, lang), "action": a} for k, a in choices]
        for ident in session.exec(
            select(Identity).where(Identity.person_id == person.id).order_by(col(Identity.id))
        ):
            queued += notices.enqueue(
                session,
                channel=ident.channel,
                target=ident.external_id,
                kind=kind,
                payload=payload,
                dedupe_key=f"{dedupe}:{person.id}:{ident.channel}:{ident.external_id}",
                now=now,
            )
    return queued


def people_with(session: Session, roles: frozenset[str]) -> list[Person]:
    """People holding any of `roles` (a JSON list column: filtered here, the table is small)."""
    return [p for p in session.exec(select(Person).order_by(col(Person.id))) if has_any(p, roles)]


def label(review: Review) -> str:
    return f"{review.period_start.isoformat()} – {review.period_end.isoformat()}"


# -- the cycle --------------------------------------------------------------------------


def open_review(
    session: Session,
    by: Person | None,
    start: date,
    end: date,
    *,
    now: datetime,
    tz: str,
    channel: str | None = None,
) -> Review:
    """Opens the review of a period that is over, freezes its figures and invites the
    coordinators and service managers. One review per period."""
    _need(by, COORDINATOR_ROLES, "review.not_allowed")
    if end >= today(now, tz):
        raise HelpdeskError("review.period_not_over", end=end.isoformat())
    clash = session.exec(
        select(Review).where(Review.period_start == start, Review.period_end == end)
    ).first()
    if clash is not None:
        raise HelpdeskError("review.exists", id=clash.id, period=label(clash))
    review = Review(period_start=start, period_end=end, opened_by=by.id if by else None)
    review.opened_at = now
    session.add(review)
    session.flush()
    lo, hi = bounds(start, end, tz)
    for figures in review_figures.per_service(session, lo, hi, now, tz).values():
        session.add(ReviewFigure(review_id=saved_id(review), **vars(figures)))
    record(session, review, by, "opened", now=now, channel=channel, new=DIBUKA)
    invited = people_with(session, INVITED_ROLES)
    for person in invited:  # the invitation itself is evidence (ch. 3.6 level 4 b)
        record(session, review, by, "invited", now=now, channel=channel, new=person.name[:200])
    tell(
        session,
        invited,
        kind="review.invite",
        key="review.notice.invite",
        dedupe=f"review:{review.id}:invite",
        now=now,
        choices=[("review.button.show", f"rv:show:{review.id}")],
        id=review.id,
        period=label(review),
    )
    return review


def find(
    session: Session, by: Person | None, review_id: int | str, *, for_update: bool = False
) -> Review:
    """The review numbered `review_id`, for someone who takes part. The role is checked
    before the look-up, so an employee cannot probe which numbers exist."""
    _need(by, PARTICIPANT_ROLES, "review.not_allowed")
    text = str(review_id).strip().lstrip("#")
    if not text.isdecimal() or len(text) > 9:
        raise NotFound("review.not_found", id=text[:12])
    stmt = select(Review).where(Review.id == int(text))
    if for_update:
        stmt = stmt.with_for_update()
    review = session.exec(stmt).first()
    if review is None:
        raise NotFound("review.not_found", id=text)
    return review


def _still_open(review: Review) -> None:
    if review.state != DIBUKA:
        raise HelpdeskError("review.closed", id=review.id)


def clean_text(text: str) -> str:
    """A finding or a decision as recorded: one line, at least `MIN_TEXT` characters."""
    cleaned = " ".join(text.split())
    if len(cleaned) < MIN_TEXT:
        raise HelpdeskError("review.text_too_short", n=MIN_TEXT)
    return cleaned[:1000]


def add_attendee(
    session: Session,
    by: Person | None,
    review: Review,
    person: Person,
    *,
    now: datetime,
    channel: str | None = None,
) -> bool:
    """True if added, False if the person was recorded already."""
    _need(by, PARTICIPANT_ROLES, "review.not_allowed")
    _still_open(review)
    if session.get(ReviewAttendee, (review.id, person.id)) is not None:
        return False
    session.add(
        ReviewAttendee(
            review_id=saved_id(review),
            person_id=saved_id(person),
            added_by=by.id if by else None,
            added_at=now,
        )
    )
    record(session, review, by, "attendee", now=now, channel=channel, new=person.name[:200])
    return True


def find_people(session: Session, text: str) -> list[Person]:
    """People named by e-mail, id or (a unique part of) their name, comma-separated."""
    found: list[Person] = []
    for key in (k.strip() for k in text.split(",")):
        if not key:
            continue
        person = _person(session, key)
        if person.id not in {p.id for p in found}:
            found.append(person)
    if not found:
        raise HelpdeskError("review.no_person")
    return found


def _person(session: Session, key: str) -> Person:
    if "@" in key or key.isdecimal():
        person = (
            session.get(Person, int(key))
            if key.isdecimal() and len(key) < 10
            else session.exec(select(Person).where(Person.email == key.lower())).first()
        )
        if person is None:
            raise NotFound("review.unknown_person", who=key[:80])
        return person
    wanted = key.lower()
    matches = [p for p in session.exec(select(Person)) if wanted in p.name.lower()]
    if len(matches) != 1:
        raise NotFound("review.unknown_person", who=key[:80])
    return matches[0]


def add_finding(
    session: Session,
    by: Person | None,
    review: Review,
    text: str,
    *,
    service_id: str | None = None,
    now: datetime,
    channel: str | None = None,
) -> ReviewFinding:
    _need(by, PARTICIPANT_ROLES, "review.not_allowed")
    _still_open(review)
    if service_id is not None and session.get(Service, service_id) is None:
        raise NotFound("review.unknown_service", service=service_id[:64])
    finding = ReviewFinding(
        review_id=saved_id(review),
        text=clean_text(text),
        service_id=service_id,
        created_by=by.id if by else None,
        created_at=now,
    )
    session.add(finding)
    session.flush()
    record(session, review, by, "finding", now=now, channel=channel, note=finding.text)
    return finding


Target = tuple[str | None, int | None, str | None]


def parse_target(session: Session, text: str) -> Target:
    """What a decision targets, as written: "-" nothing, a ticket number (its service
    too), a service (id or name), or else a free reference (a problem record, a
    document). Returns (service id, ticket id, reference)."""
    text = " ".join(text.split())[:200]
    if text in ("", "-"):
        return None, None, None
    if _TICKET.match(text):
        ticket = session.exec(select(Ticket).where(Ticket.number == text.upper())).first()
        if ticket is None:
            raise NotFound("review.unknown_ticket", number=text.upper())
        return ticket.service_id, ticket.id, None
    service = session.get(Service, text.lower())
    if service is None:
        found = catalog.search_services(session, text, limit=2)
        if found and (len(found) == 1 or found[0][1] - found[1][1] >= 50):
            service = found[0][0]
    if service is not None:
        return service.id, None, None
    return None, None, text


def parse_due(text: str, now: datetime, tz: str) -> date:
    """A due date as written: 2026-12-31, 31/12/2026 or 31-12-2026; from today (local)
    to `MAX_DUE` ahead."""
    word = text.strip()
    try:
        if len(word) == 10 and word[2] in "/-." and word[5] == word[2]:
            day, month, year = word.split(word[2])
            due = date(int(year), int(month), int(day))
        else:
            due = date.fromisoformat(word)
    except ValueError:
        raise HelpdeskError("review.bad_due") from None
    check_due(due, now, tz)
    return due


def check_due(due: date, now: datetime, tz: str) -> None:
    day = today(now, tz)
    if due < day or due > day + MAX_DUE:
        raise HelpdeskError("review.bad_due")


def add_decision(
    session: Session,
    by: Person | None,
    review: Review,
    text: str,
    owner: Person,
    due_on: date,
    *,
    target: Target = (None, None, None),
    now: datetime,
    tz: str,
    channel: str | None = None,
) -> ReviewAction:
    """A decision becomes a follow-up action for `owner`, due on `due_on`; the owner is told."""
    _need(by, PARTICIPANT_ROLES, "review.not_allowed")
    _still_open(review)
    check_due(due_on, now, tz)
    service_id, ticket_id, reference = target
    if service_id is not None and session.get(Service, service_id) is None:
        raise NotFound("review.unknown_service", service=service_id[:64])
    if ticket_id is not None and session.get(Ticket, ticket_id) is None:
        raise NotFound("review.unknown_ticket", number=str(ticket_id))
    action = ReviewAction(
        review_id=saved_id(review),
        decision=clean_text(text),
        owner_id=saved_id(owner),
        due_on=due_on,
        service_id=service_id,
        ticket_id=ticket_id,
        reference=reference,
        created_by=by.id if by else None,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    record(
        session,
        review,
        by,
        "decision",
        now=now,
        channel=channel,
        action=action,
        new="terbuka",
        note=action.decision,
    )
    tell(
        session,
        [owner],
        kind="review.action",
        key="review.notice.assigned",
        dedupe=f"review:action:{action.id}:assigned",
        now=now,
        id=action.id,
        decision=action.decision[:200],
        due=due_on.isoformat(),
    )
    return action


#: what a review's record needs before it closes
RECORD_PARTS = ("attendees", "findings", "decisions")


def missing(session: Session, review: Review) -> list[str]:
    """The parts of `RECORD_PARTS` the record still lacks."""
    rid = saved_id(review)
    models: dict[str, Any] = {
        "attendees": ReviewAttendee,
        "findings": ReviewFinding,
        "decisions": ReviewAction,
    }
    return [
        part
        for part in RECORD_PARTS
        if session.exec(select(models[part]).where(models[part].review_id == rid).limit(1)).first()
        is None
    ]


def close(
    session: Session,
    by: Person | None,
    review: Review,
    *,
    now: datetime,
    channel: str | None = None,
    lang: str = "id",
) -> Review:
    """Closes a review whose record is complete; names what is missing otherwise."""
    _need(by, COORDINATOR_ROLES, "review.not_allowed")
    _still_open(review)
    lacking = missing(session, review)
    if lacking:
        raise HelpdeskError(
            "review.incomplete",
            id=review.id,
            missing=", ".join(t(f"review.missing.{part}", lang) for part in lacking),
        )
    review.state = DITUTUP
    review.closed_at = now
    review.closed_by = by.id if by else None
    session.add(review)
    record(session, review, by, "state", now=now, channel=channel, old=DIBUKA, new=DITUTUP)
    return review


# -- reading -----------------------------------------------------------------------------


def frozen(session: Session, review_id: int) -> dict[str, ReviewFigure]:
    return {
        f.service_id: f
        for f in session.exec(select(ReviewFigure).where(ReviewFigure.review_id == review_id))
    }


def open_reviews(session: Session) -> list[Review]:
    return list(session.exec(select(Review).where(Review.state == DIBUKA).order_by(col(Review.id))))


def of_period(session: Session, start: date, end: date, tz: str) -> list[Review]:
    """Reviews of a period overlapping [start, end] or held (opened) in it."""
    lo, hi = bounds(start, end, tz)
    return [
        r
        for r in session.exec(select(Review).order_by(col(Review.period_start), col(Review.id)))
        if (r.period_start <= end and r.period_end >= start) or lo <= r.opened_at < hi
    ]


def attendees(session: Session, review_id: int) -> list[Person]:
    return list(
        session.exec(
            select(Person)
            .join(ReviewAttendee, col(ReviewAttendee.person_id) == col(Person.id))
            .where(ReviewAttendee.review_id == review_id)
            .order_by(col(Person.name))
        )
    )


def findings(session: Session, review_id: int) -> list[ReviewFinding]:
    return list(
        session.exec(
            select(ReviewFinding)
            .where(ReviewFinding.review_id == review_id)
            .order_by(col(ReviewFinding.id))
        )
    )


def actions(session: Session, review_id: int) -> list[ReviewAction]:
    return list(
        session.exec(
            select(ReviewAction)
            .where(ReviewAction.review_id == review_id)
            .order_by(col(ReviewAction.id))
        )
    )
