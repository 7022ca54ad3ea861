"""Properties of the SLA clocks of a ticket, through the hooks tickets.py calls: whatever
the service, priority, opening time and pauses, pausing never makes a ticket due earlier
and the business time used never exceeds the wall time since it was opened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core import sla
from storage import migrate
from storage.db import make_engine, session_scope
from storage.models import Service, Ticket

HOURS = [
    "senin-jumat 07:30-16:00",
    "senin-jumat 07:00-19:00",
    "24x7",
    "senin-kamis 07:30-16:00; jumat 07:30-16:30",
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("sla-props") / "sla.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with session_scope(engine) as s:
        for i, hours in enumerate(HOURS):
            s.add(Service(id=f"s{i}", name=f"Layanan {i}", business_hours=hours))
    yield engine
    engine.dispose()


INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)
SPANS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12))
PROPS = settings(max_examples=120, deadline=None)


def opened(s: Session, created: datetime, service: int, priority: int) -> Ticket:
    ticket = Ticket(
        number="X",
        type="gangguan",
        title="uji",
        service_id=f"s{service}",
        priority=priority,
        state="dikerjakan",
        created_at=created,
        updated_at=created,
    )
    sla.start(s, ticket)
    return ticket


@PROPS
@given(
    created=INSTANTS,
    service=st.integers(0, len(HOURS) - 1),
    priority=st.integers(1, 4),
    before=SPANS,
    pause=SPANS,
    after=SPANS,
)
def test_pausing_never_makes_a_ticket_due_earlier(
    engine: Engine,
    created: datetime,
    service: int,
    priority: int,
    before: timedelta,
    pause: timedelta,
    after: timedelta,
) -> None:
    with Session(engine) as s:
        ticket = opened(s, created, service, priority)
        due, risk = ticket.resolution_due_at, ticket.resolution_risk_at
        assert due is not None and risk is not None and risk <= due
        sla.state_changed(s, ticket, "menunggu_pengguna", created + before)
        frozen = sla.status(s, ticket, created + before + pause)
        sla.state_changed(s, ticket, "dikerjakan", created + before + pause)
        assert ticket.resolution_due_at is not None and ticket.resolution_due_at >= due
        assert ticket.response_due_at is not None and ticket.resolution_risk_at is not None
        assert ticket.resolution_risk_at >= risk
        now = created + before + pause + after
        used = sla.status(s, ticket, now).resolution.used
        assert used <= now - created  # never more than the wall time
        if HOURS[service] == "24x7":
            assert used <= (now - created) - pause  # the pause is not counted
        assert frozen.resolution.used <= before  # the clock stood still while paused


@PROPS
@given(created=INSTANTS, priority=st.integers(1, 4), elapsed=SPANS)
def test_24x7_clock_is_the_wall_clock(
    engine: Engine, created: datetime, priority: int, elapsed: timedelta
) -> None:
    with Session(engine) as s:
        ticket = opened(s, created, HOURS.index("24x7"), priority)
        targets = sla.policy_for(s).targets(s.get(Service, ticket.service_id), priority)
        assert ticket.resolution_due_at == created + targets.resolution
        assert ticket.response_due_at == created + targets.response
        clock = sla.status(s, ticket, created + elapsed).resolution
        assert clock.used == elapsed
        assert clock.state == (
            sla.BREACHED
            if elapsed > targets.resolution
            else sla.AT_RISK
            if elapsed >= targets.resolution * 0.75
            else sla.ON_TRACK
        )
