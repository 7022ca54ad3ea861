"""Change management (manajemen perubahan, guideline ch. 7.1.5): a change request is
recorded with its risk, tests and rollback plan, evaluated and authorised by the
approvers, implemented in a planned window, and reviewed afterwards.

Approvers are two parties: the koordinator layanan (anyone with that role) and the
pengelola layanan of the service. The rule per kind (settings) says whether one party
("any") or both ("all") must approve; "none" is pre-approved (standard changes).
Emergency (darurat) changes go ahead at once and must be reviewed within N working days.
Decisions lock the change's row, so two approvers deciding at once never lose one
another's decision. Every state change is a `ChangeEvent` (who, when, channel, old → new).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import change_posts, maintenance, tickets
from bot.core.change_policy import may_raise, parties_of, policy_for, required_parties
from bot.core.change_states import (
    DARURAT,
    DECISIONS,
    DIAJUKAN,
    DISETUJUI,
    DITOLAK,
    HOLDING_STATES,
    INFO,
    KINDS,
    PERLU_INFO,
    RISKS,
    SETUJU,
    TOLAK,
)
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed, NotFound
from bot.i18n import fmt_dt
from storage.db import saved_id
from storage.models import (
    ChangeApproval,
    ChangeEvent,
    ChangeRequest,
    MaintenanceService,
    MaintenanceWindow,
    Person,
    Service,
)

if TYPE_CHECKING:
    pass

MIN_TEXT = 10
#: what a request must say, each at least MIN_TEXT characters (the guideline asks for
#: functional, security and performance testing, ch. 7.1.5 e)
TEXT_FIELDS = ("description", "impact", "plan", "test_functional", "test_security",
               "test_performance", "rollback_plan")  # fmt: skip


@dataclass
class ChangeForm:
    service_id: str
    kind: str
    description: str
    risk: str
    impact: str
    plan: str
    test_functional: str
    test_security: str
    test_performance: str
    rollback_plan: str
    start: datetime
    end: datetime


def _id(person: Person | None) -> int | None:
    return person.id if person is not None else None


# -- finding and recording --------------------------------------------------------------


def find(session: Session, ref: str | int) -> ChangeRequest:
    """By number (CHG-2026-000001, any case) or id."""
    text = str(ref).strip().lstrip("#")
    change: ChangeRequest | None = None
    if text.isascii() and text.isdecimal() and len(text) <= 12:
        change = session.get(ChangeRequest, int(text))
    elif text:
        change = session.exec(
            select(ChangeRequest).where(ChangeRequest.number == text.upper()[:24])
        ).first()
    if change is None:
        raise NotFound("changes.not_found", ref=text[:40] or "-")
    return change


def locked(session: Session, change_id: int) -> ChangeRequest:
    """The row, locked until commit (PostgreSQL; SQLite writes one transaction at a time),
    read afresh: a decision waits for one made at the same moment and then sees it."""
    change = session.exec(
        select(ChangeRequest)
        .where(ChangeRequest.id == change_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if change is None:
        raise NotFound("changes.not_found", ref=str(change_id))
    return change


def record(
    session: Session,
    change: ChangeRequest,
    by: Person | None,
    channel: str | None,
    kind: str,
    *,
    old: str | None = None,
    new: str | None = None,
    note: str | None = None,
    now: datetime,
) -> ChangeEvent:
    event = ChangeEvent(
        change_id=saved_id(change),
        at=now,
        actor_id=_id(by),
        channel=channel,
        kind=kind,
        old=old,
        new=new,
        note=note,
    )
    session.add(event)
    session.flush()
    return event


def move(
    session: Session,
    change: ChangeRequest,
    by: Person | None,
    channel: str | None,
    new: str,
    now: datetime,
    note: str | None = None,
) -> ChangeEvent:
    """Conditional on the state the caller saw: a state somebody changed meanwhile is
    never overwritten."""
    old = change.state
    moved = session.execute(
        sa.update(ChangeRequest)
        .where(col(ChangeRequest.id) == change.id, col(ChangeRequest.state) == old)
        .values(state=new, updated_at=now)
        .returning(col(ChangeRequest.id))
    ).first()
    if moved is None:
        raise InvalidTransition("changes.state_changed", number=change.number)
    change.state, change.updated_at = new, now
    return record(session, change, by, channel, "state", old=old, new=new, note=note, now=now)


# -- raising ----------------------------------------------------------------------------


def _clean(text: str, limit: int = 4000) -> str:
    return text.strip()[:limit]


def check_window(
    session: Session,
    service_id: str,
    start: datetime,
    end: datetime,
    *,
    exclude: int | None = None,
    tz: str = "Asia/Jakarta",
) -> None:
    """Refuses a window that overlaps maintenance or another change of the same service,
    naming what it clashes with."""
    stmt = (
        select(ChangeRequest)
        .where(ChangeRequest.service_id == service_id)
        .where(col(ChangeRequest.state).in_(HOLDING_STATES))
        .where(col(ChangeRequest.planned_start) < end, col(ChangeRequest.planned_end) > start)
        .order_by(col(ChangeRequest.planned_start))
    )
    for other in session.exec(stmt):
        if other.id != exclude:
            raise HelpdeskError(
                "changes.clash_change",
                number=other.number,
                start=fmt_dt(other.planned_start, tz=tz),
                end=fmt_dt(other.planned_end, tz=tz),
            )
    mine = session.get(ChangeRequest, exclude) if exclude else None
    own = mine.maintenance_id if mine is not None else None
    for window, _sid in maintenance.overlapping(session, [service_id], start, end):
        if window.id != own:
            raise HelpdeskError(
                "changes.clash_maintenance",
                id=window.id,
                start=fmt_dt(window.starts_at, tz=tz),
                end=fmt_dt(window.ends_at, tz=tz),
            )


def validate(session: Session, form: ChangeForm, now: datetime) -> None:
    if session.get(Service, form.service_id) is None:
        raise NotFound("changes.unknown_service", service=form.service_id[:60])
    if form.kind not in KINDS:
        raise HelpdeskError("changes.bad_kind", kind=form.kind[:20])
    if form.risk not in RISKS:
        raise HelpdeskError("changes.bad_risk", risk=form.risk[:20])
    for name in TEXT_FIELDS:
        if len(getattr(form, name).strip()) < MIN_TEXT:
            raise HelpdeskError(f"changes.short.{name}", n=MIN_TEXT)
    if form.end <= form.start:
        raise HelpdeskError("changes.end_before_start")
    if form.kind != DARURAT and form.start <= now:
        raise HelpdeskError("changes.start_in_past")


def raise_change(
    session: Session, by: Person | None, channel: str | None, form: ChangeForm, *, now: datetime
) -> ChangeRequest:
    """`by=None` is the CLI. Standard changes (rule "none") are approved at once,
    emergency ones go ahead at once with a review due; the rest wait for the approvers."""
    if session.get(Service, form.service_id) is None:
        raise NotFound("changes.unknown_service", service=form.service_id[:60])
    if by is not None and not may_raise(session, by, form.service_id):
        raise NotAllowed("changes.not_allowed")
    validate(session, form, now)
    policy = policy_for(session)
    check_window(session, form.service_id, form.start, form.end, tz=policy.timezone)
    change = ChangeRequest(
        number=next_number_for(session, now, policy.timezone),
        service_id=form.service_id,
        kind=form.kind,
        title=_clean(form.description, 200).splitlines()[0][:200],
        description=_clean(form.description),
        risk=form.risk,
        impact=_clean(form.impact),
        plan=_clean(form.plan),
        test_functional=_clean(form.test_functional),
        test_security=_clean(form.test_security),
        test_performance=_clean(form.test_performance),
        rollback_plan=_clean(form.rollback_plan),
        planned_start=form.start,
        planned_end=form.end,
        state=DIAJUKAN,
        approval_rule=policy.rule_for(form.kind),
        requested_by=_id(by),
        requested_channel=channel,
        created_at=now,
        updated_at=now,
    )
    if form.kind == DARURAT:
        change.review_due_at = policy.review_due(max(form.end, now))
    session.add(change)
    session.flush()
    record(session, change, by, channel, "created", new=DIAJUKAN, note=change.kind, now=now)
    if change.approval_rule == "none":
        _approve(session, change, by, channel, now)
    change_posts.post_request(session, change, now, policy.timezone)
    return change


def next_number_for(session: Session, now: datetime, tz: str) -> str:
    """CHG-2026-000001: the ticket counters' table, with its own key per year."""
    return tickets.allocate_number(session, f"CHG-{now.astimezone(ZoneInfo(tz)).year}")


def _approve(
    session: Session, change: ChangeRequest, by: Person | None, channel: str | None, now: datetime
) -> None:
    """Approved: its maintenance window is scheduled (and announced as maintenance is)."""
    policy = policy_for(session)
    check_window(
        session,
        change.service_id,
        change.planned_start,
        change.planned_end,
        exclude=change.id,
        tz=policy.timezone,
    )
    move(session, change, by, channel, DISETUJUI, now)
    change.decided_at = now
    if change.planned_end > now:
        change.maintenance_id = _open_window(session, change, now, policy.timezone)
    session.add(change)
    session.flush()


def _open_window(session: Session, change: ChangeRequest, now: datetime, tz: str) -> int:
    impact = f"{change.number}: {change.impact}"[:500]
    if change.planned_start > now:
        window = maintenance.schedule(
            session,
            None,
            [change.service_id],
            change.planned_start,
            change.planned_end,
            impact,
            now=now,
            tz=tz,
        )
        return saved_id(window)
    # an emergency change already under way: its window is open now
    window = MaintenanceWindow(
        starts_at=change.planned_start, ends_at=change.planned_end, impact=impact, created_at=now
    )
    session.add(window)
    session.flush()
    session.add(MaintenanceService(window_id=saved_id(window), service_id=change.service_id))
    session.flush()
    return saved_id(window)


# -- deciding ---------------------------------------------------------------------------


def decide(
    session: Session,
    change_id: int,
    by: Person,
    channel: str | None,
    decision: str,
    *,
    note: str | None = None,
    now: datetime,
) -> ChangeRequest:
    """Setujui / Tolak / Minta info. One rejection rejects; a question sends it back to
    the requester; approvals count per party until the rule is met."""
    if decision not in DECISIONS:
        raise HelpdeskError("changes.bad_decision")
    change = locked(session, change_id)
    parties = parties_of(session, by, change)
    if not parties:
        raise NotAllowed("changes.not_approver")
    if change.requested_by is not None and change.requested_by == by.id:
        raise NotAllowed("changes.own_change")
    if change.state != DIAJUKAN:
        raise InvalidTransition("changes.not_pending", number=change.number)
    if decision in (TOLAK, INFO) and len((note or "").strip()) < 3:
        raise HelpdeskError("changes.need_note")
    earlier = list(
        session.exec(
            select(ChangeApproval)
            .where(ChangeApproval.change_id == change.id, ChangeApproval.decision == SETUJU)
            .order_by(col(ChangeApproval.id))
        )
    )
    if decision == SETUJU and any(a.person_id == by.id for a in earlier):
        raise HelpdeskError("changes.already_approved", number=change.number)
    approval = ChangeApproval(
        change_id=saved_id(change),
        person_id=saved_id(by),
        parties=parties,
        decision=decision,
        note=(note or "").strip()[:2000] or None,
        at=now,
        channel=channel,
    )
    session.add(approval)
    session.flush()
    record(session, change, by, channel, "approval", new=decision, note=approval.note, now=now)
    if decision == TOLAK:
        move(session, change, by, channel, DITOLAK, now, note=approval.note)
        change.decided_at = now
        session.add(change)
    elif decision == INFO:
        move(session, change, by, channel, PERLU_INFO, now, note=approval.note)
        change_posts.tell_requester(session, change, "changes.notice.info", now, note=note or "")
    else:
        covered = {p for a in [*earlier, approval] for p in a.parties}
        if change.approval_rule == "any" or covered >= required_parties(session, change):
            if change.planned_start <= now:  # approved too late: it needs a new window
                raise HelpdeskError("changes.window_passed", number=change.number)
            _approve(session, change, by, channel, now)
    session.flush()
    change_posts.request_changed(session, change, now)
    if change.state == DISETUJUI:
        change_posts.tell_requester(session, change, "changes.notice.approved", now)
    elif change.state == DITOLAK:
        change_posts.tell_requester(
            session, change, "changes.notice.rejected", now, note=note or ""
        )
    return change


def answer_info(
    session: Session,
    change: ChangeRequest,
    by: Person | None,
    channel: str | None,
    answer: str,
    *,
    now: datetime,
) -> ChangeRequest:
    """The requester answers the approvers' question: the request waits for them again."""
    change = locked(session, saved_id(change))
    if (
        by is not None
        and change.requested_by not in (None, by.id)
        and not may_raise(session, by, change.service_id)
    ):
        raise NotAllowed("changes.not_allowed")
    if change.state != PERLU_INFO:
        raise InvalidTransition("changes.no_question", number=change.number)
    if len(answer.strip()) < MIN_TEXT:
        raise HelpdeskError("changes.short.answer", n=MIN_TEXT)
    record(session, change, by, channel, "answer", note=answer.strip()[:2000], now=now)
    move(session, change, by, channel, DIAJUKAN, now)
    change_posts.request_changed(session, change, now)
    return change


def approvals(session: Session, change: ChangeRequest) -> list[ChangeApproval]:
    return list(
        session.exec(
            select(ChangeApproval)
            .where(ChangeApproval.change_id == change.id)
            .order_by(col(ChangeApproval.id))
        )
    )


def history(session: Session, change: ChangeRequest) -> list[ChangeEvent]:
    return list(
        session.exec(
            select(ChangeEvent)
            .where(ChangeEvent.change_id == change.id)
            .order_by(col(ChangeEvent.id))
        )
    )


def listing(
    session: Session, *, states: tuple[str, ...] | None = None, limit: int = 30
) -> list[ChangeRequest]:
    stmt = select(ChangeRequest)
    if states:
        stmt = stmt.where(col(ChangeRequest.state).in_(states))
    return list(session.exec(stmt.order_by(col(ChangeRequest.id).desc()).limit(limit)))
