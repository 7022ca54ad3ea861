"""The outbox. A notice is written in the same transaction as the change that causes
it, keyed for dedupe; the delivery tick hands it to the channel adapter later.

Pull channels (web chat, console) read their pending notices themselves.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import reporter_contact
from bot.core.ticket_states import SELESAI
from bot.i18n import t
from storage.db import insert_for
from storage.models import Identity, Notice, Person, Ticket, TicketEvent, utcnow

LEASE = timedelta(seconds=60)
#: a ticket's title in a notice: enough to recognise it on a phone's lock screen
TITLE_WIDTH = 60


def short_title(title: str) -> str:
    """Cut on a word boundary: half a word reads like a typo in the ticket."""
    return textwrap.shorten(title, width=TITLE_WIDTH, placeholder=" …")


def enqueue(
    session: Session,
    *,
    channel: str,
    target: str,
    kind: str,
    payload: dict[str, Any],
    dedupe_key: str,
    now: datetime | None = None,
) -> bool:
    """Insert unless a notice with this key exists. True if inserted."""
    now = now or utcnow()
    insert = insert_for(session)
    stmt = (
        insert(Notice)
        .values(
            dedupe_key=dedupe_key[:200],
            channel=channel,
            target=target,
            kind=kind,
            payload=payload,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notice.id)
    )
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING
    return session.execute(stmt).scalar_one_or_none() is not None


def _lang_of(session: Session, person_id: int | None) -> str:
    person = session.get(Person, person_id) if person_id else None
    return (person.lang if person and person.lang else None) or "id"


def tell_reporter(session: Session, ticket: Ticket, event: TicketEvent) -> None:
    """The reporter hears of each state change (and operator comments) where they reported."""
    if not ticket.reporter_channel or not ticket.reporter_chat_id:
        return
    if event.actor_id is not None and event.actor_id == ticket.reporter_id:
        return
    lang = _lang_of(session, ticket.reporter_id)
    if event.kind == "state":
        text = t(
            "notice.state_changed",
            lang,
            number=ticket.number,
            title=short_title(ticket.title),
            state=t(f"state.{event.new}", lang),
        )
        if event.note:
            text += "\n" + t("notice.note", lang, note=event.note)
        if event.new == SELESAI:
            text += "\n" + t("notice.resolved_hint", lang, number=ticket.number)
    else:
        text = t("notice.comment", lang, number=ticket.number, note=event.note or "")
    enqueue(
        session,
        channel=ticket.reporter_channel,
        target=ticket.reporter_chat_id,
        kind=f"ticket.{event.kind}",
        payload={"text": text, "ticket": ticket.number},
        dedupe_key=f"ticket:{ticket.id}:event:{event.id}:reporter",
        now=event.at,
    )


def tell_assignee(session: Session, ticket: Ticket, person: Person) -> None:
    """A technical manager hears of a ticket given to them, on every chat they linked."""
    lang = person.lang or "id"
    text = t(
        "notice.assigned",
        lang,
        number=ticket.number,
        title=short_title(ticket.title),
        priority=ticket.priority,
    )
    if contact := reporter_contact.operator_line(ticket, lang):
        text += "\n" + contact
    for ident in session.exec(select(Identity).where(Identity.person_id == person.id)):
        enqueue(
            session,
            channel=ident.channel,
            target=ident.external_id,
            kind="ticket.assigned",
            payload={"text": text, "ticket": ticket.number},
            dedupe_key=f"ticket:{ticket.id}:assigned:{person.id}:{ident.channel}:{ticket.updated_at.timestamp():.0f}",
        )


def tell_taken_over(session: Session, ticket: Ticket, previous: Person, taker: Person) -> None:
    """The operator a ticket was taken from hears it, so two people do not work on it."""
    lang = previous.lang or "id"
    text = t(
        "notice.taken_over",
        lang,
        number=ticket.number,
        title=short_title(ticket.title),
        name=taker.name,
    )
    for ident in session.exec(select(Identity).where(Identity.person_id == previous.id)):
        enqueue(
            session,
            channel=ident.channel,
            target=ident.external_id,
            kind="ticket.taken_over",
            payload={"text": text, "ticket": ticket.number},
            dedupe_key=f"ticket:{ticket.id}:taken:{previous.id}:{ident.channel}:{ticket.updated_at.timestamp():.0f}",
        )


def claim(
    session: Session,
    *,
    channels: set[str] | None = None,
    now: datetime | None = None,
    limit: int = 50,
    lease: timedelta = LEASE,
) -> list[Notice]:
    """Lease due notices to this worker. Another replica never gets the same row while the
    lease holds; a worker that dies leaves rows whose lease expires and are claimed again."""
    now = now or utcnow()
    due = sa.or_(
        sa.and_(col(Notice.status) == "pending", col(Notice.next_attempt_at) <= now),
        sa.and_(col(Notice.status) == "sending", col(Notice.locked_until) < now),
    )
    pick = select(Notice.id).where(due)
    if channels is not None:
        pick = pick.where(col(Notice.channel).in_(channels))
    pick = pick.order_by(col(Notice.id)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # A materialised CTE is run once. As `id IN (subquery)` the planner may rescan the
        # LIMIT … FOR UPDATE SKIP LOCKED subquery per row and lease far more than `limit`.
        picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        chosen = col(Notice.id) == picked.c.id
    else:
        chosen = col(Notice.id).in_(pick.scalar_subquery())
    stmt = (
        sa.update(Notice)
        .where(chosen)
        .where(due)
        .values(status="sending", locked_until=now + lease, attempts=Notice.attempts + 1)
        .returning(Notice)
    )
    rows = list(session.execute(stmt, execution_options={"synchronize_session": False}).scalars())
    return sorted(rows, key=lambda n: n.id or 0)


def mark_sent_many(session: Session, notice_ids: list[int], *, now: datetime | None = None) -> None:
    """One statement for a delivery batch."""
    if notice_ids:
        session.execute(
            sa.update(Notice)
            .where(col(Notice.id).in_(notice_ids))
            .values(status="sent", sent_at=now or utcnow(), locked_until=None, last_error=None)
        )


def mark_failed(
    session: Session,
    notice_id: int,
    error: str,
    *,
    permanent: bool,
    retry_at: datetime | None = None,
) -> None:
    values: dict[str, Any] = {"last_error": error[:1000], "locked_until": None}
    if permanent or retry_at is None:
        values["status"] = "failed"
    else:
        values.update(status="pending", next_attempt_at=retry_at)
    # only while still ours to settle: a row another replica sent meanwhile stays sent
    session.execute(
        sa.update(Notice)
        .where(col(Notice.id) == notice_id, col(Notice.status) == "sending")
        .values(**values)
    )


def release(session: Session, notice_id: int, *, at: datetime, reason: str | None = None) -> None:
    """Give a claimed notice back untried (a rate limit said "not yet"): no attempt is counted.
    `reason` (why its chat waits) is kept as the notice's last error."""
    values: dict[str, Any] = {
        "status": "pending",
        "next_attempt_at": at,
        "locked_until": None,
        "attempts": Notice.attempts - 1,
    }
    if reason is not None:
        values["last_error"] = reason[:1000]
    session.execute(
        sa.update(Notice)
        .where(col(Notice.id) == notice_id, col(Notice.status) == "sending")
        .values(**values)
    )


def pending_for(
    session: Session, channel: str, target: str, *, now: datetime | None = None
) -> list[Notice]:
    """Pull channels: take this chat's pending notices, marked sent in the same statement,
    so two polls at once never both show a notice."""
    stmt = (
        sa.update(Notice)
        .where(
            col(Notice.channel) == channel,
            col(Notice.target) == target,
            col(Notice.status) == "pending",
        )
        .values(status="sent", sent_at=now or utcnow(), locked_until=None)
        .returning(Notice)
    )
    rows = list(session.execute(stmt, execution_options={"synchronize_session": False}).scalars())
    return sorted(rows, key=lambda n: n.id or 0)


#: a receipt never goes back to an earlier one (a late "delivered" after "read"); a
#: failure stands whatever came before
RECEIPT_ORDER = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}


def record_ref(session: Session, notice_id: int, ref: str) -> None:
    """The platform's id of the message a notice became, so its receipts find it."""
    session.execute(
        sa.update(Notice).where(col(Notice.id) == notice_id).values(platform_ref=ref[:200])
    )


def sending_to(session: Session, channel: str, target: str) -> bool:
    """Whether a notice to this chat is being sent right now: a receipt that names no
    notice may be for it, its message id not recorded yet."""
    return (
        session.exec(
            select(Notice.id).where(
                Notice.channel == channel, Notice.target == target, Notice.status == "sending"
            )
        ).first()
        is not None
    )


def record_receipt(
    session: Session,
    channel: str,
    ref: str,
    receipt: str,
    *,
    at: datetime,
    error: str | None = None,
) -> Notice | None:
    """A platform's delivery receipt (sent, delivered, read, failed) on the notice whose
    message it names; None when no notice sent that message (a conversation reply).
    A failure after the platform had accepted the message fails the notice with the
    platform's reason, so the outbox shows what did not arrive."""
    if receipt not in RECEIPT_ORDER:
        raise ValueError(f"unknown receipt {receipt!r}")
    notice = session.exec(
        select(Notice).where(Notice.channel == channel, Notice.platform_ref == ref)
    ).first()
    if notice is None:
        return None
    if RECEIPT_ORDER.get(notice.receipt or "", 0) >= RECEIPT_ORDER[receipt]:
        return notice  # an older receipt arriving late, or the same one again
    notice.receipt, notice.receipt_at = receipt, at
    if receipt == "failed":
        notice.status = "failed"
        notice.last_error = (error or receipt)[:1000]
    session.add(notice)
    session.flush()
    return notice
