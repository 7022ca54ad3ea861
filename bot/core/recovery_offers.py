"""A critical service goes down (guideline ch. 7.1.4): the recovery coordinator is offered
the service's recovery plan in chat, with a button that starts its recovery.

Two things make a disruption critical: an outage of a service of high criticality
(`outages.open_outage`), and a P1 incident (gangguan) on a service that has a plan —
opened at P1, raised to P1, or confirmed P1 in triage (`tickets.open_ticket`,
`tickets.set_impact_urgency`). When the outage opened the incident they are one
disruption, so the offer is keyed on the incident's ticket (`RecoveryOffer`, unique per
ticket): whichever notices it first offers it, and nothing offers it again — not a
redelivered event, not a priority that drops and comes back. The button of an outage's
incident starts the run from the outage (`rc:inc:OUTAGE`), the others from the ticket
(`rc:tk:TICKET`); both give a run linked to the same ticket, so there is one run."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from bot.core import notices
from bot.core.roles import Role
from bot.core.ticket_states import GANGGUAN, OPEN_STATES
from bot.i18n import t
from knowledge.recovery_plans import PLANS_DIR, PlanError, RecoveryPlan, load_plan
from storage.db import insert_for
from storage.models import (
    Identity,
    Outage,
    Person,
    RecoveryOffer,
    Service,
    Ticket,
    utcnow,
)

#: the priority whose incidents are offered a recovery
CRITICAL_PRIORITY = 1


def _plan(service: Service, plans: Path) -> RecoveryPlan | None:
    try:
        return load_plan(service.id, plans)
    except PlanError:  # `helpdesk kb check` reports it; an alert is no place for it
        return None


def claim(
    session: Session,
    ticket_id: int,
    service_id: str,
    *,
    outage_id: int | None = None,
    now: datetime | None = None,
) -> int | None:
    """The offer's row for this incident, or None when it was offered already."""
    stmt = (
        insert_for(session)(RecoveryOffer)
        .values(
            ticket_id=ticket_id,
            service_id=service_id,
            outage_id=outage_id,
            offered_at=now or utcnow(),
            chats=0,
        )
        .on_conflict_do_nothing(index_elements=["ticket_id"])
        .returning(RecoveryOffer.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def coordinator_chats(session: Session, owner_id: int | None = None) -> list[Identity]:
    """The linked chats of the service's recovery owner; of every recovery coordinator
    when the catalog names no owner (or the owner has no chat linked yet)."""
    if owner_id is not None:
        owned = list(
            session.exec(
                select(Identity).where(Identity.person_id == owner_id).order_by(col(Identity.id))
            )
        )
        if owned:
            return owned
    people_ids = [
        p.id
        for p in session.exec(select(Person))
        if Role.KOORDINATOR_PEMULIHAN.value in (p.roles or [])
    ]
    if not people_ids:
        return []
    return list(
        session.exec(
            select(Identity)
            .where(col(Identity.person_id).in_(people_ids))
            .order_by(col(Identity.id))
        )
    )


def offer_plan(
    session: Session,
    outage: Outage,
    coordinators: list[Identity],
    *,
    now: datetime | None = None,
    plans: Path = PLANS_DIR,
) -> int:
    """A critical service went down: each recovery coordinator's chat gets its plan with
    a button that starts the recovery of this outage. Nothing when the service has no
    (sound) plan, or when its incident was offered already. Returns notices queued."""
    service = session.get(Service, outage.service_id)
    plan = _plan(service, plans) if service is not None else None
    if service is None or plan is None:
        return 0
    offer_id = None
    if outage.ticket_id is not None:
        offer_id = claim(session, outage.ticket_id, service.id, outage_id=outage.id, now=now)
        if offer_id is None:
            return 0
    return _queue(
        session,
        service,
        plan,
        coordinators,
        offer_id=offer_id,
        text_key="recovery.offer",
        params={},
        action=f"rc:inc:{outage.id}",
        dedupe=f"outage:{outage.id}:recovery",
        now=now,
    )


def offer_for_ticket(
    session: Session, ticket: Ticket, *, now: datetime | None = None, plans: Path = PLANS_DIR
) -> int:
    """A ticket became a P1 incident: the service's recovery owner is offered its plan,
    once per incident. Returns notices queued."""
    if (
        ticket.id is None
        or ticket.type != GANGGUAN
        or ticket.priority != CRITICAL_PRIORITY
        or ticket.state not in OPEN_STATES
        or ticket.service_id is None
    ):
        return 0
    service = session.get(Service, ticket.service_id)
    plan = _plan(service, plans) if service is not None else None
    if service is None or plan is None:
        return 0
    outage = session.exec(
        select(Outage)
        .where(Outage.ticket_id == ticket.id)
        .where(col(Outage.ended_at).is_(None))
        .where(col(Outage.planned).is_(False))
    ).first()
    offer_id = claim(
        session, ticket.id, service.id, outage_id=outage.id if outage else None, now=now
    )
    if offer_id is None:
        return 0
    targets = coordinator_chats(session, service.recovery_owner_id)
    if outage is not None:  # the outage's own offer, as if it had been critical
        text_key, params, action = "recovery.offer", {}, f"rc:inc:{outage.id}"
    else:
        text_key = "recovery.offer_incident"
        params = {"number": ticket.number, "ticket": ticket.title}
        action = f"rc:tk:{ticket.id}"
    return _queue(
        session,
        service,
        plan,
        targets,
        offer_id=offer_id,
        text_key=text_key,
        params=params,
        action=action,
        dedupe=f"ticket:{ticket.id}:recovery",
        now=now,
    )


def _queue(
    session: Session,
    service: Service,
    plan: RecoveryPlan,
    targets: list[Identity],
    *,
    offer_id: int | None,
    text_key: str,
    params: Mapping[str, object],
    action: str,
    dedupe: str,
    now: datetime | None,
) -> int:
    queued = 0
    for ident in targets:
        who = session.get(Person, ident.person_id)
        lang = (who.lang if who else None) or "id"
        text = t(
            text_key,
            lang,
            service=service.name,
            title=plan.title,
            steps=len(plan.steps),
            expected=plan.expected_minutes,
            rto=service.rto_minutes if service.rto_minutes else "-",
            **params,
        )
        choices = [{"label": t("recovery.btn_begin", lang), "action": action}]
        queued += notices.enqueue(
            session,
            channel=ident.channel,
            target=ident.external_id,
            kind="recovery.offer",
            payload={"text": text, "choices": choices},
            dedupe_key=f"{dedupe}:{ident.channel}:{ident.external_id}",
            now=now,
        )
    if offer_id is not None:
        row = session.get(RecoveryOffer, offer_id)
        if row is not None:
            row.chats = queued
            session.add(row)
    return queued
