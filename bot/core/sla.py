"""SLA clocks of tickets: due times, pauses, business time used and state.

Targets come from the service's catalog entry (`Service.sla`, minutes per priority) or
from the configured defaults. The clock runs only inside the service's business calendar
and stops while the ticket waits for the user (menunggu_pengguna) or sits resolved
(selesai; a reopen resumes it). Closed and cancelled tickets stop for good.

Due times are stored on the ticket, together with the 75 % points and `sla_next_at`, the
next moment the scan must look at the ticket, so the scan is one indexed range query
("sla_next_at <= now") instead of a loop over every open ticket. `sla_next_at` is NULL
while nothing more can happen (paused, closed, every escalation sent).

The policy (defaults, calendar settings) is installed per engine by `install()`; code
that has only a session asks `policy_for(session)`. Without one, the Settings defaults hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from bot.core.business_calendar import Calendar, calendar
from bot.core.per_engine import PerEngine
from bot.core.ticket_states import (
    BARU,
    DIBATALKAN,
    DIKERJAKAN,
    DITUGASKAN,
    FINAL_STATES,
    MENUNGGU,
    SELESAI,
)
from storage.models import Service, Ticket

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.config import Settings

#: how each ticket state moves the clock (see the module docstring).
RUNNING = frozenset({BARU, DITUGASKAN, DIKERJAKAN})
PAUSED = frozenset({MENUNGGU, SELESAI})
STOPPED = FINAL_STATES

# Bits of Ticket.sla_notified: which escalation step was taken already.
RESPONSE_RISK, RESPONSE_BREACH, RESOLUTION_RISK, RESOLUTION_BREACH = 1, 2, 4, 8
EVENTS = ("response_risk", "response_breach", "resolution_risk", "resolution_breach")

ON_TRACK, AT_RISK, BREACHED, MET = "on_track", "at_risk", "breached", "met"


@dataclass(frozen=True)
class Targets:
    response: timedelta
    resolution: timedelta


@dataclass(frozen=True)
class Policy:
    """Configured SLA defaults and calendar settings (from `Settings`)."""

    response_minutes: tuple[int, ...] = (15, 30, 120, 240)
    resolution_minutes: tuple[int, ...] = (240, 480, 1440, 2880)
    default_hours: str = "senin-jumat 07:30-16:00"
    at_risk_ratio: float = 0.75
    timezone: str = "Asia/Jakarta"
    cuti_bersama: frozenset[date] = frozenset()
    package_cuti_bersama: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            response_minutes=tuple(settings.sla_response_minutes),
            resolution_minutes=tuple(settings.sla_resolution_minutes),
            default_hours=settings.sla_default_business_hours,
            at_risk_ratio=settings.sla_at_risk_ratio,
            timezone=settings.timezone,
            cuti_bersama=frozenset(settings.cuti_bersama),
            package_cuti_bersama=settings.cuti_bersama_from_holidays,
        )

    def calendar_for(self, service: Service | None) -> Calendar:
        hours = service.business_hours if service and service.business_hours else self.default_hours
        return calendar(hours, self.timezone, self.cuti_bersama, self.package_cuti_bersama)

    def targets(self, service: Service | None, priority: int) -> Targets:
        entry = (service.sla or {}).get(str(priority)) if service else None
        idx = min(max(priority, 1), len(self.response_minutes)) - 1
        response = (entry or {}).get("response") or self.response_minutes[idx]
        resolution = (entry or {}).get("resolution") or self.resolution_minutes[
            min(idx, len(self.resolution_minutes) - 1)
        ]
        return Targets(timedelta(minutes=response), timedelta(minutes=resolution))


DEFAULT = Policy()
_policies = PerEngine(DEFAULT)


def install(engine: Engine, policy: Policy) -> None:
    """Make `policy` the one every session on `engine` uses (runtime.build does this)."""
    _policies.install(engine, policy)


def policy_for(session: Session) -> Policy:
    return _policies.of(session)


def _context(session: Session, ticket: Ticket) -> tuple[Policy, Calendar, Targets]:
    policy = policy_for(session)
    service = session.get(Service, ticket.service_id) if ticket.service_id else None
    return policy, policy.calendar_for(service), policy.targets(service, ticket.priority)


# --- hooks called by bot.core.tickets ---------------------------------------------------


def start(session: Session, ticket: Ticket) -> None:
    """A new ticket: due times from its creation."""
    _plan(ticket, *_context(session, ticket))


def retarget(session: Session, ticket: Ticket, now: datetime) -> None:
    """Priority changed: new targets from the same start; steps whose moment moved into
    the future may be taken again."""
    _plan(ticket, *_context(session, ticket), now=now)


def acknowledged(ticket: Ticket) -> None:
    """First response: the response clock stops; only resolution steps remain."""
    ticket.sla_next_at = next_event_at(ticket)


def state_changed(session: Session, ticket: Ticket, new: str, now: datetime) -> None:
    """Pause on menunggu_pengguna/selesai, stop on ditutup/dibatalkan, resume otherwise."""
    if new in RUNNING:
        if ticket.sla_paused_at is not None:
            policy, cal, targets = _context(session, ticket)
            paused = cal.business_time(ticket.sla_paused_at, now)
            ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + math.ceil(
                paused.total_seconds()
            )
            ticket.sla_paused_at = None
            _plan(ticket, policy, cal, targets)
    elif ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
        ticket.sla_next_at = None


def plan_unplanned(session: Session, now: datetime, limit: int = 1000) -> int:
    """Open tickets from before the SLA clocks (migration 0003) get due times; the steps
    whose moment has passed count as taken, so old tickets show their state but do not
    flood anyone with escalations. Returns how many were planned."""
    rows = list(
        session.exec(
            select(Ticket)
            .where(col(Ticket.state).in_(RUNNING | PAUSED), col(Ticket.resolution_due_at).is_(None))
            .limit(limit)
        )
    )
    for ticket in rows:
        if ticket.state in PAUSED and ticket.sla_paused_at is None:
            ticket.sla_paused_at = ticket.resolved_at or ticket.updated_at
        _plan(ticket, *_context(session, ticket))
        for bit, at in _events(ticket):
            if at is not None and at <= now:
                ticket.sla_notified |= bit
        ticket.sla_next_at = next_event_at(ticket)
        session.add(ticket)
    return len(rows)


# --- planning ---------------------------------------------------------------------------


def _plan(
    ticket: Ticket, policy: Policy, cal: Calendar, targets: Targets, *, now: datetime | None = None
) -> None:
    start_at = ticket.created_at
    paused = timedelta(seconds=ticket.sla_paused_seconds or 0)
    ratio = policy.at_risk_ratio
    if ticket.acknowledged_at is None or ticket.response_due_at is None:
        ticket.response_due_at = cal.add(start_at, targets.response + paused)
        ticket.response_risk_at = cal.add(start_at, targets.response * ratio + paused)
    ticket.resolution_due_at = cal.add(start_at, targets.resolution + paused)
    ticket.resolution_risk_at = cal.add(start_at, targets.resolution * ratio + paused)
    if now is not None and ticket.sla_notified:
        for bit, at in _events(ticket):
            if at is not None and at > now:
                ticket.sla_notified &= ~bit
    ticket.sla_next_at = next_event_at(ticket) if ticket.sla_paused_at is None else None


def _events(ticket: Ticket) -> list[tuple[int, datetime | None]]:
    return [
        (RESPONSE_RISK, ticket.response_risk_at),
        (RESPONSE_BREACH, ticket.response_due_at),
        (RESOLUTION_RISK, ticket.resolution_risk_at),
        (RESOLUTION_BREACH, ticket.resolution_due_at),
    ]


def pending_events(ticket: Ticket) -> list[tuple[int, datetime]]:
    """Escalation steps not yet taken, in time order; response steps only until acknowledged."""
    out = []
    for bit, at in _events(ticket):
        if at is None or ticket.sla_notified & bit:
            continue
        if bit in (RESPONSE_RISK, RESPONSE_BREACH) and ticket.acknowledged_at is not None:
            continue
        out.append((bit, at))
    return sorted(out, key=lambda e: (e[1], e[0]))


def next_event_at(ticket: Ticket) -> datetime | None:
    if ticket.sla_paused_at is not None or ticket.state in STOPPED:
        return None
    events = pending_events(ticket)
    return events[0][1] if events else None


# --- reading the clock ------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """One clock (response or resolution) as it stands at a moment."""

    state: str  # on_track | at_risk | breached | met
    used: timedelta
    target: timedelta
    due_at: datetime | None
    running: bool

    @property
    def ratio(self) -> float:
        return self.used / self.target if self.target else 0.0


@dataclass(frozen=True)
class Status:
    state: str  # the worse of the two running clocks: on_track | at_risk | breached | met
    response: Clock
    resolution: Clock
    paused: bool


def _clock(
    cal: Calendar,
    target: timedelta,
    due: datetime | None,
    end: datetime,
    running: bool,
    ratio: float,
    finished: bool,
) -> Clock:
    if due is None:
        return Clock(ON_TRACK, timedelta(0), target, None, running)
    # business(start, due) == target + paused, so used == target - business(end, due)
    used = target - cal.signed_business_time(end, due)
    if used > target:
        state = BREACHED
    elif finished:
        state = MET
    elif used >= target * ratio:
        state = AT_RISK
    else:
        state = ON_TRACK
    return Clock(state, max(used, timedelta(0)), target, due, running)


_RANK = {MET: 0, ON_TRACK: 1, AT_RISK: 2, BREACHED: 3}


def status(session: Session, ticket: Ticket, now: datetime) -> Status:
    """Both clocks of `ticket` at `now`, with the business time used of each."""
    policy, cal, targets = _context(session, ticket)
    stopped_at = ticket.sla_paused_at
    end = min(now, stopped_at) if stopped_at else now
    acked = ticket.acknowledged_at
    response = _clock(
        cal,
        targets.response,
        ticket.response_due_at,
        min(end, acked) if acked else end,
        acked is None and stopped_at is None,
        policy.at_risk_ratio,
        acked is not None,
    )
    finished = ticket.resolved_at is not None or ticket.state in STOPPED
    resolution = _clock(
        cal,
        targets.resolution,
        ticket.resolution_due_at,
        end,
        stopped_at is None,
        policy.at_risk_ratio,
        finished,
    )
    clocks = [resolution] if acked else [response, resolution]
    worst = max(clocks, key=lambda c: _RANK[c.state]).state
    if worst == MET and not finished:
        worst = ON_TRACK
    return Status(
        worst, response, resolution, paused=ticket.sla_paused_at is not None and not finished
    )


def format_duration(value: timedelta, lang: str = "id") -> str:
    """ "2 j 05 m" / "2 h 05 m": business time is read by people, not parsed."""
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    unit = "j" if lang == "id" else "h"
    return f"{hours} {unit} {minutes:02d} m" if hours else f"{minutes} m"


def response_met(ticket: Ticket, now: datetime) -> bool | None:
    """Whether the response target was met; None while the outcome is still open (not
    acknowledged, not yet due). One rule for every report and review that counts it."""
    if ticket.response_due_at is None:
        return None
    if ticket.acknowledged_at is not None:
        return ticket.acknowledged_at <= ticket.response_due_at
    return False if now > ticket.response_due_at else None


def resolution_met(ticket: Ticket, now: datetime) -> bool | None:
    """Whether the resolution target was met; a cancelled ticket counts neither way."""
    if ticket.resolution_due_at is None or ticket.state == DIBATALKAN:
        return None
    if ticket.resolved_at is not None:
        return ticket.resolved_at <= ticket.resolution_due_at
    return False if now > ticket.resolution_due_at else None
