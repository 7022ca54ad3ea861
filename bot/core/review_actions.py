"""Follow-up actions of reviews: their life cycle (terbuka → dikerjakan → selesai |
dibatalkan), who may move them, and the reminder tick.

An action's owner moves it forward (also straight to selesai from the reminder's
button); coordinators may move any action and are the only ones who cancel. The tick
reminds the owner once before the due date and tells the coordinators once when the
action is overdue (its due day, local time, is over); each is recorded as an event and
keyed in the outbox, so two replicas or a rerun send nothing twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import reviews
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed, NotFound
from bot.core.roles import Role
from storage.db import session_scope
from storage.models import Person, Review, ReviewAction

TERBUKA = "terbuka"
DIKERJAKAN = "dikerjakan"
SELESAI = "selesai"
DIBATALKAN = "dibatalkan"
STATES = (TERBUKA, DIKERJAKAN, SELESAI, DIBATALKAN)
OPEN_STATES = (TERBUKA, DIKERJAKAN)
FINAL_STATES = (SELESAI, DIBATALKAN)
NEXT: dict[str, tuple[str, ...]] = {
    TERBUKA: (DIKERJAKAN, SELESAI, DIBATALKAN),
    DIKERJAKAN: (SELESAI, DIBATALKAN),
    SELESAI: (),
    DIBATALKAN: (),
}
#: what only coordinators may do
COORDINATOR_ONLY = frozenset({DIBATALKAN})
#: who hears of an overdue action
ESCALATION_ROLES = frozenset({Role.KOORDINATOR_LAYANAN.value})
DEFAULT_LEAD = timedelta(days=2)


def _id(action_id: int | str) -> int:
    text = str(action_id).strip().lstrip("#")
    if not text.isdecimal() or len(text) > 9:
        raise NotFound("review.action.not_found", id=text[:12])
    return int(text)


def find(
    session: Session, by: Person | None, action_id: int | str, *, for_update: bool = False
) -> ReviewAction:
    """An action its owner or a participant of reviews may see; others learn nothing,
    not even whether the number exists."""
    stmt = select(ReviewAction).where(ReviewAction.id == _id(action_id))
    if for_update:
        stmt = stmt.with_for_update()
    action = session.exec(stmt).first()
    outsider = by is not None and not reviews.may_take_part(by)
    if outsider and (action is None or action.owner_id != (by.id if by else None)):
        raise NotAllowed("review.action.not_allowed")
    if action is None:
        raise NotFound("review.action.not_found", id=str(action_id)[:12])
    return action


def may_move(by: Person | None, action: ReviewAction, new: str) -> bool:
    if by is None or reviews.may_coordinate(by):
        return True
    return action.owner_id == by.id and new not in COORDINATOR_ONLY


def change_state(
    session: Session,
    by: Person | None,
    action_id: int | str,
    new: str,
    *,
    now: datetime,
    channel: str | None = None,
    note: str | None = None,
) -> ReviewAction:
    if new not in STATES:
        raise HelpdeskError("review.action.bad_state", states=", ".join(STATES))
    action = find(session, by, action_id, for_update=True)
    if not may_move(by, action, new):
        raise NotAllowed("review.action.not_allowed")
    if new not in NEXT[action.state]:
        raise InvalidTransition(
            "review.action.bad_transition", id=action.id, old=action.state, new=new
        )
    old, action.state, action.updated_at = action.state, new, now
    session.add(action)
    review = session.get(Review, action.review_id)
    assert review is not None
    reviews.record(
        session,
        review,
        by,
        "state",
        now=now,
        channel=channel,
        action=action,
        old=old,
        new=new,
        note=note,
    )
    return action


def owned_by(session: Session, person: Person, *, open_only: bool = True) -> list[ReviewAction]:
    stmt = select(ReviewAction).where(ReviewAction.owner_id == person.id)
    if open_only:
        stmt = stmt.where(col(ReviewAction.state).in_(OPEN_STATES))
    return list(session.exec(stmt.order_by(col(ReviewAction.due_on), col(ReviewAction.id))))


def deadline(due_on: date, tz: str) -> datetime:
    """The end of the due day, local time: overdue from then on."""
    return reviews.bounds(due_on, due_on, tz)[1]


def review_tick(
    engine: Engine, now: datetime, tz: str, lead: timedelta = DEFAULT_LEAD
) -> Counter[str]:
    """Reminders due (`lead` before the deadline) and escalations of overdue actions;
    returns how many of each were recorded."""
    done: Counter[str] = Counter()
    last_day = reviews.today(now, tz) + timedelta(days=lead.days + 1)
    with session_scope(engine) as s:
        stmt = (
            select(ReviewAction)
            .where(col(ReviewAction.state).in_(OPEN_STATES))
            .where(col(ReviewAction.escalated_at).is_(None))
            .where(col(ReviewAction.due_on) <= last_day)
            .order_by(col(ReviewAction.id))
        )
        if s.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        for action in list(s.exec(stmt)):
            end = deadline(action.due_on, tz)
            if now >= end:
                _escalate(s, action, now, tz)
                done["escalated"] += 1
            elif action.reminded_at is None and now >= end - lead:
                _remind(s, action, now)
                done["reminded"] += 1
    return done


def _remind(session: Session, action: ReviewAction, now: datetime) -> None:
    owner = session.get(Person, action.owner_id)
    review = session.get(Review, action.review_id)
    assert review is not None
    action.reminded_at = now
    session.add(action)
    reviews.record(session, review, None, "reminded", now=now, channel=None, action=action)
    if owner is not None:
        reviews.tell(
            session,
            [owner],
            kind="review.reminder",
            key="review.notice.reminder",
            dedupe=f"review:action:{action.id}:remind",
            now=now,
            choices=[
                ("review.button.done", f"rv:act:{action.id}:{SELESAI}"),
                ("review.button.working", f"rv:act:{action.id}:{DIKERJAKAN}"),
            ],
            id=action.id,
            decision=action.decision[:200],
            due=action.due_on.isoformat(),
        )


def _escalate(session: Session, action: ReviewAction, now: datetime, tz: str) -> None:
    owner = session.get(Person, action.owner_id)
    review = session.get(Review, action.review_id)
    assert review is not None
    action.escalated_at = now
    session.add(action)
    reviews.record(session, review, None, "escalated", now=now, channel=None, action=action)
    reviews.tell(
        session,
        reviews.people_with(session, ESCALATION_ROLES),
        kind="review.overdue",
        key="review.notice.overdue",
        dedupe=f"review:action:{action.id}:overdue",
        now=now,
        id=action.id,
        decision=action.decision[:200],
        due=action.due_on.isoformat(),
        owner=owner.name if owner else "-",
        days=max(1, (reviews.today(now, tz) - action.due_on).days),
    )


def is_overdue(action: ReviewAction, now: datetime, tz: str) -> bool:
    return action.state in OPEN_STATES and now >= deadline(action.due_on, tz)
