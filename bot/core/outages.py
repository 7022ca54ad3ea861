"""The up / degraded / down state machine of each service, and what a change sets off.

Flap protection: a service goes down after `down_after` failed readings in a row and
comes back after `up_after` good ones; up ↔ degraded also needs `up_after` readings.
Every change is a `StateChange` row.

Down (outside maintenance) opens an `Outage` and an incident whose priority follows the
service's criticality (`IMPACT_URGENCY`), raises a "service.down" alert with Akui to the
service's operator groups and, for critical services (kritikalitas tinggi), posts the
same alert to every recovery coordinator (koordinator pemulihan) on their linked chats.
Up closes the outage with its duration, notes it on the incident (left open for the
technical manager's root cause) and tells the users who reported the service meanwhile.
The service's subscribers (bot.core.subscriptions) hear of an unplanned down and its end.
Down inside a maintenance window is a planned outage: recorded, no incident, no alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import alerts, notices, recovery_offers, subscriptions, tickets
from bot.core.availability import add_interval, bump_days
from bot.core.readings import Reading
from bot.core.ticket_states import GANGGUAN, OPEN_STATES
from bot.i18n import fmt_dt, t
from storage.db import saved_id, session_scope
from storage.models import (
    Identity,
    MaintenanceService,
    MaintenanceWindow,
    Outage,
    OutageReporter,
    Person,
    Service,
    ServiceState,
    StateChange,
    Ticket,
)

log = logging.getLogger(__name__)

#: criticality → (impact, urgency): tinggi → P1, sedang → P2, rendah → P3.
IMPACT_URGENCY = {"tinggi": (1, 1), "sedang": (2, 1), "rendah": (2, 2)}


@dataclass(frozen=True)
class Policy:
    down_after: int = 3
    up_after: int = 2
    timezone: str = "Asia/Jakarta"


def duration_text(seconds: float, lang: str = "id") -> str:
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    if hours:
        return t("availability.duration.hm", lang, h=hours, m=minutes)
    return t("availability.duration.m", lang, m=minutes)


def in_maintenance(session: Session, service_ids: list[str], now: datetime) -> set[str]:
    """Services inside a (not cancelled) maintenance window at `now`."""
    if not service_ids:
        return set()
    rows = session.exec(
        select(MaintenanceService.service_id)
        .join(MaintenanceWindow, col(MaintenanceWindow.id) == col(MaintenanceService.window_id))
        .where(col(MaintenanceWindow.cancelled_at).is_(None))
        .where(col(MaintenanceWindow.starts_at) <= now, col(MaintenanceWindow.ends_at) > now)
        .where(col(MaintenanceService.service_id).in_(service_ids))
    )
    return set(rows)


def step(state: ServiceState, reading: str, policy: Policy) -> str | None:
    """Feed one reading; return the new state when the streak is long enough."""
    current = state.state
    if reading == current:
        state.candidate, state.streak = None, 0
        return None
    recovering = current == "down" and reading != "down" and state.candidate in ("up", "degraded")
    if reading == state.candidate or recovering:
        state.streak += 1
    else:
        state.streak = 1
    state.candidate = reading
    if current == "unknown" and reading != "down":
        needed = 1
    elif reading == "down":
        needed = policy.down_after
    else:
        needed = policy.up_after
    return reading if state.streak >= needed else None


def state_of(session: Session, service_id: str, now: datetime) -> ServiceState:
    st = session.get(ServiceState, service_id)
    if st is None:
        st = ServiceState(service_id=service_id, since=now, monitored_since=now)
        session.add(st)
        session.flush()
    return st


def record_readings(engine: Engine, readings: list[Reading], now: datetime, policy: Policy) -> None:
    """One probe round in one transaction; each state change in its own savepoint, so a
    failing side effect cannot lose the other services' readings."""
    if not readings:
        return
    with session_scope(engine) as s:
        ids = [r.service_id for r in readings]
        states = {
            st.service_id: st
            for st in s.exec(select(ServiceState).where(col(ServiceState.service_id).in_(ids)))
        }
        maint = in_maintenance(s, ids, now)
        day = now.astimezone(ZoneInfo(policy.timezone)).date()
        counters = []
        for r in readings:
            counters.append(
                {
                    "service_id": r.service_id,
                    "day": day,
                    "checks": 1,
                    "failures": int(r.state == "down"),
                    "latency_ms_sum": r.latency_ms or 0.0,
                }
            )
            st = states.get(r.service_id) or state_of(s, r.service_id, now)
            st.last_checked_at, st.last_latency_ms = now, r.latency_ms
            st.last_error = (r.error or "")[:500] or None
            if r.cert_expires_at is not None:
                st.cert_expires_at = r.cert_expires_at
            if _external_owner(s, st) and (st.state == "down" or r.state != "down"):
                s.add(st)
                # an Alertmanager outage is closed by Alertmanager's "resolved"; only a
                # probe that finds a degraded (warning) service down takes it further
                continue
            new = step(st, r.state, policy)
            s.add(st)
            if new is not None:
                try:
                    with s.begin_nested():
                        change(
                            s,
                            st,
                            new,
                            now,
                            source="probe",
                            reason=r.error,
                            planned=r.service_id in maint,
                            tz=policy.timezone,
                        )
                except Exception:  # retried at the next reading: the streak is still there
                    log.exception("state change of %s to %s failed", r.service_id, new)
                    s.refresh(st)
                    continue
            if "cert" in r.warnings and r.cert_expires_at is not None:
                cert_warning(s, r.service_id, r.cert_expires_at, now)
        bump_days(s, counters)


def _external_owner(session: Session, st: ServiceState) -> bool:
    outage = session.get(Outage, st.outage_id) if st.outage_id else None
    return outage is not None and outage.ended_at is None and outage.source != "probe"


def change(
    session: Session,
    st: ServiceState,
    new: str,
    now: datetime,
    *,
    source: str,
    reason: str | None,
    planned: bool,
    tz: str,
    external_key: str | None = None,
) -> Outage | None:
    old = st.state
    record_change(session, st, new, now, source=source, reason=reason)
    outage = None
    if new == "down" and old != "down" and st.outage_id is not None:
        close_outage(session, st, now, tz=tz, recovered=False)  # a degraded one turns down
    if new == "down":
        outage = open_outage(
            session,
            st,
            now,
            source=source,
            cause=reason,
            planned=planned,
            external_key=external_key,
        )
    elif old == "down":
        close_outage(session, st, now, tz=tz)
    session.flush()
    return outage


def record_change(
    session: Session, st: ServiceState, new: str, now: datetime, *, source: str, reason: str | None
) -> None:
    """The state change row and the state itself; what it sets off is the caller's."""
    session.add(
        StateChange(
            service_id=st.service_id,
            at=now,
            old=st.state,
            new=new,
            source=source,
            reason=(reason or "")[:500] or None,
        )
    )
    st.state, st.since, st.candidate, st.streak = new, now, None, 0
    session.add(st)


@dataclass(frozen=True)
class Opening:
    """How an outage that is not a probe's plain "down" opens (Alertmanager's severities):
    its state, the incident's priority, whether the public page shows it, the text added
    to the incident, and an open incident to link instead of opening one (flapping)."""

    state: str = "down"
    priority: int | None = None
    public: bool = True
    details: str = ""
    ticket: Ticket | None = None


#: priority → (impact, urgency) on the ITIL matrix (bot.core.priority)
PRIORITY_IMPACT_URGENCY = {1: (1, 1), 2: (1, 2), 3: (2, 2), 4: (2, 3)}


def open_outage(
    session: Session,
    st: ServiceState,
    now: datetime,
    *,
    source: str,
    cause: str | None,
    planned: bool,
    external_key: str | None = None,
    external_keys: list[str] | None = None,
    opening: Opening | None = None,
) -> Outage:
    service = session.get(Service, st.service_id)
    assert service is not None
    opening = opening or Opening()
    outage = Outage(
        service_id=service.id,
        started_at=now,
        planned=planned,
        source=source,
        cause=(cause or "")[:500] or None,
        external_keys=external_keys or ([external_key] if external_key else []),
        state=opening.state,
        public=opening.public,
        last_seen_at=now if source != "probe" else None,
    )
    session.add(outage)
    session.flush()
    st.outage_id = outage.id
    session.add(st)
    if planned:
        return outage
    if opening.ticket is not None:  # the same trouble again: one incident, not one per flap
        outage.ticket_id = opening.ticket.id
        note = t("availability.outage.again_note", service=service.name, at=fmt_dt(now))
        details = f"{note}\n\n{opening.details}" if opening.details else note
        tickets.comment(session, opening.ticket, tickets.SYSTEM, details, now=now)
        session.add(outage)
        return outage
    if opening.priority is not None:
        impact, urgency = PRIORITY_IMPACT_URGENCY[opening.priority]
    else:
        impact, urgency = IMPACT_URGENCY.get(service.criticality, (2, 1))
    description = t(
        "availability.outage.incident_description",
        service=service.name,
        at=fmt_dt(now),
        cause=cause or "-",
    )
    ticket = tickets.open_ticket(
        session,
        type_=GANGGUAN,
        service_id=service.id,
        impact=impact,
        urgency=urgency,
        title=t(
            "availability.outage.incident_title"
            if opening.state == "down"
            else "availability.outage.degraded_title",
            service=service.name,
        ),
        description=f"{description}\n\n{opening.details}" if opening.details else description,
        external_ref=f"outage:{outage.id}",
        alert=False,
        now=now,
    )
    alert = alerts.raise_alert(
        session,
        key=f"outage:{outage.id}",
        kind="service.down",
        ticket=ticket,
        service_id=service.id,
        priority=ticket.priority,
        now=now,
    )
    outage.ticket_id = ticket.id
    outage.alert_id = alert.id if alert else None
    session.add(outage)
    if alert is not None and service.criticality == "tinggi" and opening.state == "down":
        coordinators = recovery_offers.coordinator_chats(session)
        for ident in coordinators:
            alerts.post(session, alert, ident.channel, ident.external_id, now=now)
        recovery_offers.offer_plan(session, outage, coordinators, now=now)
    recovery_offers.offer_for_ticket(session, ticket, now=now)  # a P1 incident: once
    if not opening.public:
        return outage
    subscriptions.announce(
        session,
        service_id=service.id,
        topic="outage",
        dedupe_key=f"outage:{outage.id}:down",
        text_key="subscription.outage.down",
        params={"service": service.name, "since": now},
        now=now,
    )
    return outage


def close_outage(
    session: Session, st: ServiceState, now: datetime, *, tz: str, recovered: bool = True
) -> Outage | None:
    """`recovered=False` when the outage only changes kind (a window ended, still down)."""
    outage = session.get(Outage, st.outage_id) if st.outage_id else None
    st.outage_id = None
    session.add(st)
    if outage is None or outage.ended_at is not None:
        return None
    outage.ended_at = now
    outage.duration_s = int((now - outage.started_at).total_seconds())
    outage.external_keys = []
    session.add(outage)
    if outage.state == "down":  # degraded time is no down time
        add_interval(
            session,
            outage.service_id,
            outage.started_at,
            now,
            "planned_down_s" if outage.planned else "down_s",
            tz,
        )
    if not recovered:
        return outage
    service = session.get(Service, outage.service_id)
    name = service.name if service else outage.service_id
    ticket = session.get(Ticket, outage.ticket_id) if outage.ticket_id else None
    if ticket is not None and ticket.state in OPEN_STATES:
        note = t(
            "availability.outage.recovered_note",
            service=name,
            at=fmt_dt(now),
            duration=duration_text(outage.duration_s),
        )
        tickets.comment(session, ticket, tickets.SYSTEM, note, now=now)
        _ask_root_cause(session, ticket, name, outage)
    if (
        not outage.planned and outage.public
    ):  # subscribers heard of the window, not of a planned outage
        # first, so a chat that also reported gets the notice with its "Berhenti" button
        subscriptions.announce(
            session,
            service_id=outage.service_id,
            topic="outage",
            dedupe_key=f"outage:{outage.id}:back",
            text_key="subscription.outage.up",
            params={"service": name, "at": now},
            now=now,
            tz=tz,
        )
    _tell_reporters(session, outage, name, now)
    return outage


def _ask_root_cause(session: Session, ticket: Ticket, service_name: str, outage: Outage) -> None:
    person = session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
    if person is None:
        return
    text = t(
        "availability.outage.root_cause_request",
        person.lang,
        service=service_name,
        number=ticket.number,
    )
    for ident in session.exec(select(Identity).where(Identity.person_id == person.id)):
        notices.enqueue(
            session,
            channel=ident.channel,
            target=ident.external_id,
            kind="service.up",
            payload={"text": text, "ticket": ticket.number},
            dedupe_key=f"outage:{outage.id}:rootcause:{ident.channel}:{ident.external_id}",
        )


def _tell_reporters(session: Session, outage: Outage, service_name: str, now: datetime) -> None:
    """Everyone who reported the service while it was down hears that it is back."""
    targets: dict[tuple[str, str], int | None] = {}
    for r in session.exec(select(OutageReporter).where(OutageReporter.outage_id == outage.id)):
        targets[(r.channel, r.chat_id)] = r.person_id
    reported = session.exec(
        select(Ticket).where(
            Ticket.service_id == outage.service_id,
            col(Ticket.created_at) >= outage.started_at,
            col(Ticket.reporter_chat_id).is_not(None),
            col(Ticket.id) != (outage.ticket_id or 0),
        )
    )
    for tk in reported:
        if tk.reporter_channel and tk.reporter_chat_id:
            targets.setdefault((tk.reporter_channel, tk.reporter_chat_id), tk.reporter_id)
    for (channel, chat_id), person_id in targets.items():
        person = session.get(Person, person_id) if person_id else None
        lang = person.lang if person and person.lang else "id"
        text = t("availability.outage.back", lang, service=service_name, at=fmt_dt(now, lang))
        notices.enqueue(
            session,
            channel=channel,
            target=chat_id,
            kind="service.up",
            payload={"text": text},
            dedupe_key=f"outage:{outage.id}:back:{channel}:{chat_id}",
            now=now,
        )


def cert_warning(session: Session, service_id: str, expires: datetime, now: datetime) -> None:
    """Once per certificate (its expiry date), to the service's operator groups."""
    service = session.get(Service, service_id)
    days = max(0, (expires - now).days)
    text = t(
        "availability.cert_warning",
        service=service.name if service else service_id,
        at=fmt_dt(expires),
        days=days,
    )
    for dest in alerts.operator_channels(session, service_id):
        notices.enqueue(
            session,
            channel=dest.channel,
            target=dest.target,
            kind="service.cert",
            payload={"text": text},
            dedupe_key=f"cert:{service_id}:{expires.date().isoformat()}:{dest.channel}:{dest.target}",
            now=now,
        )


def open_outage_of(session: Session, service_id: str) -> Outage | None:
    return session.exec(
        select(Outage)
        .where(Outage.service_id == service_id, col(Outage.ended_at).is_(None))
        .order_by(col(Outage.id).desc())
    ).first()


def attach_reporter(
    session: Session,
    outage: Outage,
    person: Person | None,
    channel: str,
    chat_id: str,
    description: str,
    now: datetime,
) -> bool:
    """A user reports a service already known down: note it on the incident and remember
    to tell them when it is back. False if they had already reported this outage."""
    exists = session.exec(
        select(OutageReporter.id).where(
            OutageReporter.outage_id == outage.id,
            OutageReporter.channel == channel,
            OutageReporter.chat_id == chat_id,
        )
    ).first()
    if exists is not None:
        return False
    session.add(
        OutageReporter(
            outage_id=saved_id(outage),
            person_id=person.id if person else None,
            channel=channel,
            chat_id=chat_id,
            at=now,
        )
    )
    ticket = session.get(Ticket, outage.ticket_id) if outage.ticket_id else None
    if ticket is not None:
        note = t(
            "availability.outage.attached_comment",
            name=person.name if person else chat_id,
            channel=channel,
            description=description or "-",
        )
        tickets.comment(session, ticket, tickets.SYSTEM, note, now=now)
    session.flush()
    return True
