"""The scheduled side of change management: incidents opened during a change's window
are linked to it, and emergency changes are chased for their post-implementation
review: a reminder once the window is over (to the requester and the service manager),
an escalation once the review is overdue (to the koordinator layanan). Each is sent
once: a conditional UPDATE of the change's `review_notified` bits claims it, so
replicas running the tick together never send it twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import change_policy, change_posts, change_results, changes
from bot.core.change_states import DARURAT, DILAKSANAKAN, DISETUJUI, DITINJAU
from bot.core.escalation import people_with_role
from bot.core.roles import Role
from bot.i18n import fmt_dt
from storage.db import session_scope
from storage.models import ChangeRequest, Service

REMINDER, ESCALATION = 1, 2
#: incidents are still linked this long after a window ended (a late-reported one)
LINK_GRACE = timedelta(days=1)


def _claim(session: Session, change: ChangeRequest, bit: int) -> bool:
    claimed = session.execute(
        sa.update(ChangeRequest)
        .where(col(ChangeRequest.id) == change.id)
        .where(col(ChangeRequest.review_notified).op("&")(bit) == 0)
        .values(review_notified=col(ChangeRequest.review_notified).op("|")(bit))
        .returning(col(ChangeRequest.id))
    ).first()
    return claimed is not None


def _params(session: Session, change: ChangeRequest, tz: str) -> dict[str, str]:
    service = session.get(Service, change.service_id)
    return {
        "number": change.number,
        "title": change.title,
        "service": service.name if service else change.service_id,
        "due": fmt_dt(change.review_due_at, "id", tz),
    }


def remind_reviews(session: Session, now: datetime) -> Counter[str]:
    done: Counter[str] = Counter()
    tz = change_policy.policy_for(session).timezone
    due = session.exec(
        select(ChangeRequest)
        .where(ChangeRequest.kind == DARURAT)
        .where(col(ChangeRequest.state).in_((DISETUJUI, DILAKSANAKAN)))
        .where(col(ChangeRequest.reviewed_at).is_(None))
        .where(col(ChangeRequest.review_due_at).is_not(None))
        .where(col(ChangeRequest.planned_end) <= now)
        .where(col(ChangeRequest.review_notified) < REMINDER + ESCALATION)
        .order_by(col(ChangeRequest.id))
    )
    for change in list(due):
        assert change.review_due_at is not None
        params = _params(session, change, tz)
        if _claim(session, change, REMINDER):
            service = session.get(Service, change.service_id)
            people = {change.requested_by, service.service_manager_id if service else None}
            for pid in sorted(p for p in people if p is not None):
                change_posts.tell_person(
                    session, pid, "changes.notice.review_reminder",
                    f"change:{change.id}:review:reminder", now, **params,
                )  # fmt: skip
            changes.record(session, change, None, None, "notice", new="review_reminder", now=now)
            done["reminder"] += 1
        if now >= change.review_due_at and _claim(session, change, ESCALATION):
            for person in people_with_role(session, Role.KOORDINATOR_LAYANAN):
                change_posts.tell_person(
                    session, person.id, "changes.notice.review_overdue",
                    f"change:{change.id}:review:overdue", now, **params,
                )  # fmt: skip
            changes.record(session, change, None, None, "notice", new="review_overdue", now=now)
            done["escalation"] += 1
    return done


def link_recent(session: Session, now: datetime) -> int:
    found = session.exec(
        select(ChangeRequest)
        .where(col(ChangeRequest.state).in_((DISETUJUI, DILAKSANAKAN, DITINJAU)))
        .where(col(ChangeRequest.planned_start) <= now)
        .where(col(ChangeRequest.planned_end) >= now - LINK_GRACE)
        .order_by(col(ChangeRequest.id))
    )
    return sum(change_results.link_incidents(session, change, now) for change in list(found))


def change_tick(engine: Engine, now: datetime) -> Counter[str]:
    """What the scheduler calls; a function of `now`, so tests pick the time."""
    with session_scope(engine) as s:
        done = remind_reviews(s, now)
        linked = link_recent(s, now)
        if linked:
            done["linked"] += linked
    return done
