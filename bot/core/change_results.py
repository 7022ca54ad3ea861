"""After implementation: the result of a change (berhasil, gagal, dibatalkan,
dikembalikan), its post-implementation review, and the incidents opened on its service
during its window, linked to it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.core import change_posts, changes, maintenance
from bot.core.change_policy import may_implement, parties_of
from bot.core.change_states import DILAKSANAKAN, DISETUJUI, DITINJAU, RESULTS
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed
from bot.core.ticket_states import GANGGUAN
from storage.db import saved_id
from storage.models import ChangeIncident, ChangeRequest, MaintenanceWindow, Person, Ticket


def record_result(
    session: Session,
    change: ChangeRequest,
    by: Person | None,
    channel: str | None,
    result: str,
    *,
    note: str = "",
    now: datetime,
) -> ChangeRequest:
    if result not in RESULTS:
        raise HelpdeskError("changes.bad_result", result=result[:20])
    change = changes.locked(session, saved_id(change))
    if not may_implement(session, by, change):
        raise NotAllowed("changes.not_allowed")
    if change.state != DISETUJUI:
        raise InvalidTransition("changes.not_approved", number=change.number)
    change.result, change.result_note = result, note.strip()[:2000] or None
    change.implemented_at = now
    changes.record(
        session, change, by, channel, "result", new=result, note=change.result_note, now=now
    )
    changes.move(session, change, by, channel, DILAKSANAKAN, now)
    window = (
        session.get(MaintenanceWindow, change.maintenance_id) if change.maintenance_id else None
    )
    if (
        result == "dibatalkan"
        and window is not None
        and window.starts_at > now
        and window.cancelled_at is None
    ):
        maintenance.cancel(session, None, saved_id(window), now=now)
    session.add(change)
    session.flush()
    link_incidents(session, change, now)
    change_posts.request_changed(session, change, now)
    return change


def record_review(
    session: Session,
    change: ChangeRequest,
    by: Person | None,
    channel: str | None,
    text: str,
    *,
    now: datetime,
) -> ChangeRequest:
    """The post-implementation review (kaji ulang), by an approver."""
    change = changes.locked(session, saved_id(change))
    if by is not None and not parties_of(session, by, change):
        raise NotAllowed("changes.not_approver")
    if change.state != DILAKSANAKAN:
        raise InvalidTransition("changes.not_implemented", number=change.number)
    if len(text.strip()) < changes.MIN_TEXT:
        raise HelpdeskError("changes.short.review", n=changes.MIN_TEXT)
    link_incidents(session, change, now)
    change.review, change.reviewed_at, change.reviewed_by = (
        text.strip()[:4000],
        now,
        by.id if by else None,
    )
    changes.record(session, change, by, channel, "review", note=change.review, now=now)
    changes.move(session, change, by, channel, DITINJAU, now)
    session.add(change)
    session.flush()
    change_posts.request_changed(session, change, now)
    return change


def link_incidents(session: Session, change: ChangeRequest, now: datetime) -> int:
    """Incidents opened on the service during the window belong to the change; returns
    how many were newly linked (each is linked once, and recorded)."""
    if change.state not in (DISETUJUI, DILAKSANAKAN, DITINJAU):
        return 0
    known = set(
        session.exec(select(ChangeIncident.ticket_id).where(ChangeIncident.change_id == change.id))
    )
    found = session.exec(
        select(Ticket)
        .where(Ticket.service_id == change.service_id, Ticket.type == GANGGUAN)
        .where(col(Ticket.created_at) >= change.planned_start)
        .where(col(Ticket.created_at) < change.planned_end)
        .order_by(col(Ticket.id))
    )
    linked = 0
    for ticket in found:
        if ticket.id in known:
            continue
        session.add(
            ChangeIncident(change_id=saved_id(change), ticket_id=saved_id(ticket), linked_at=now)
        )
        changes.record(session, change, None, None, "link", new=ticket.number, now=now)
        linked += 1
    return linked


def incidents_of(session: Session, change: ChangeRequest) -> list[Ticket]:
    return list(
        session.exec(
            select(Ticket)
            .join(ChangeIncident, col(ChangeIncident.ticket_id) == col(Ticket.id))
            .where(ChangeIncident.change_id == change.id)
            .order_by(col(Ticket.id))
        )
    )
