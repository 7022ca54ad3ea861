"""SLA clocks on real tickets (SQLite and PostgreSQL): due times at open, pause while the
ticket waits for the user, priority changes, first response, and what chat shows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.core import sla, tickets
from bot.core.tickets import Actor
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Person, Service, ServiceTechnician, Ticket
from tests.helpers import Chat

WIB = ZoneInfo("Asia/Jakarta")


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=WIB)


def add_service(helpdesk: Helpdesk, hours: str = "senin-jumat 07:30-16:00") -> None:
    """A service with hand-picked targets: P3 response 60 min, resolution 480 min."""
    with session_scope(helpdesk.engine) as s:
        tech = s.exec(select(Person).where(Person.email == "budi.santoso@kementerian.go.id")).one()
        s.add(
            Service(
                id="uji",
                name="Layanan Uji",
                business_hours=hours,
                sla={
                    "1": {"response": 15, "resolution": 120},
                    "3": {"response": 60, "resolution": 480},
                },
            )
        )
        s.flush()
        s.add(ServiceTechnician(service_id="uji", person_id=tech.id))


def technician(s: Session) -> Actor:
    return Actor(
        s.exec(select(Person).where(Person.email == "budi.santoso@kementerian.go.id")).one(),
        "console",
    )


def open_p3(s: Session, at: datetime) -> Ticket:
    return tickets.open_ticket(
        s, type_="gangguan", title="Aplikasi lambat", service_id="uji", impact=2, urgency=2, now=at
    )


def test_due_times_at_open_follow_the_service_calendar(helpdesk: Helpdesk) -> None:
    add_service(helpdesk)
    with session_scope(helpdesk.engine) as s:
        t = open_p3(s, wib(2026, 3, 6, 15))  # Friday 15:00
        number = t.number
    with Session(helpdesk.engine) as s:
        t = s.exec(select(Ticket).where(Ticket.number == number)).one()
        assert t.priority == 3
        assert t.response_due_at == wib(2026, 3, 6, 16)  # 60 min: Friday until closing
        assert t.response_risk_at == wib(2026, 3, 6, 15, 45)
        # 8 h: 1 h Friday, 7 h Monday from 07:30
        assert t.resolution_due_at == wib(2026, 3, 9, 14, 30)
        assert t.resolution_risk_at == wib(2026, 3, 9, 12, 30)  # 6 h
        assert t.sla_next_at == t.response_risk_at


def test_defaults_per_priority_for_a_ticket_without_service(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        t = tickets.open_ticket(
            s, type_="permintaan", title="Minta akun", impact=3, urgency=3, now=wib(2026, 3, 9, 9)
        )
        # P4 defaults: 240 / 2880 min on "senin-jumat 07:30-16:00"
        assert t.response_due_at == wib(2026, 3, 9, 13)
        # 48 h = 7 h Mon 9 + 8.5 h × 4 (Tue–Fri) = 41 h, then Mon 16 07:30 + 7 h
        assert t.resolution_due_at == wib(2026, 3, 16, 14, 30)


def test_pause_while_waiting_for_the_user(helpdesk: Helpdesk) -> None:
    add_service(helpdesk)
    with session_scope(helpdesk.engine) as s:
        t = open_p3(s, wib(2026, 3, 9, 9))  # Monday 09:00; resolution due Tue 08:30
        assert t.resolution_due_at == wib(2026, 3, 10, 8, 30)
        tickets.take(s, t, technician(s), now=wib(2026, 3, 9, 9, 20))
        tickets.hold_for_user(
            s, t, technician(s), "Mohon kirim tangkapan layar", now=wib(2026, 3, 9, 11)
        )
        assert t.sla_paused_at == wib(2026, 3, 9, 11) and t.sla_next_at is None
        held = sla.status(s, t, wib(2026, 3, 9, 15))
        assert held.paused and held.resolution.used == timedelta(hours=2)  # frozen at 2 h
        assert held.response.state == sla.MET
        # The reporter answers on Tuesday 09:00: paused 5 h Monday + 1.5 h Tuesday = 6.5 h.
        reporter = Person(name="Pelapor", roles=["pengguna"])
        s.add(reporter)
        s.flush()
        t.reporter_id = reporter.id
        tickets.comment(
            s, t, Actor(reporter, "web"), "Ini tangkapan layarnya", now=wib(2026, 3, 10, 9)
        )
        assert t.state == "dikerjakan" and t.sla_paused_at is None
        assert t.sla_paused_seconds == 6.5 * 3600
        # 6 h left from Tuesday 09:00 → 15:00; at risk after 6 h used (4 h more) → 13:00
        assert t.resolution_due_at == wib(2026, 3, 10, 15)
        assert t.resolution_risk_at == wib(2026, 3, 10, 13)
        assert t.sla_next_at == wib(2026, 3, 10, 13)
        assert sla.status(s, t, wib(2026, 3, 10, 12)).state == sla.ON_TRACK  # 5 h of 8
        risky = sla.status(s, t, wib(2026, 3, 10, 13, 30))
        assert risky.state == sla.AT_RISK and risky.resolution.used == timedelta(hours=6.5)
        late = sla.status(s, t, wib(2026, 3, 11, 8))  # 2 h Mon + 7 h Tue (09–16) + 0.5 h Wed
        assert late.state == sla.BREACHED and late.resolution.used == timedelta(hours=9.5)


def test_resolved_tickets_stop_the_clock_and_reopen_resumes_it(helpdesk: Helpdesk) -> None:
    add_service(helpdesk)
    with session_scope(helpdesk.engine) as s:
        t = open_p3(s, wib(2026, 3, 9, 9))
        tickets.resolve(
            s,
            t,
            technician(s),
            resolution="Cache dibersihkan",
            root_cause="Cache penuh",
            now=wib(2026, 3, 9, 10),
        )
        done = sla.status(s, t, wib(2026, 3, 20, 10))
        assert done.state == sla.MET and done.resolution.used == timedelta(hours=1)
        assert t.sla_next_at is None
        tickets.reopen(s, t, technician(s), "Masih lambat", now=wib(2026, 3, 9, 13))
        # 3 h paused while resolved: due moves from Tue 08:30 to Tue 11:30
        assert t.resolution_due_at == wib(2026, 3, 10, 11, 30)
        assert t.sla_next_at == t.resolution_risk_at == wib(2026, 3, 10, 9, 30)


def test_priority_change_retargets_from_the_same_start(helpdesk: Helpdesk) -> None:
    add_service(helpdesk)
    with session_scope(helpdesk.engine) as s:
        t = open_p3(s, wib(2026, 3, 9, 9))
        tickets.set_impact_urgency(s, t, technician(s), 1, 1, now=wib(2026, 3, 9, 9, 5))
        assert t.priority == 1
        assert t.response_due_at == wib(2026, 3, 9, 9, 15)
        assert t.resolution_due_at == wib(2026, 3, 9, 11)
        assert t.sla_next_at == t.response_risk_at == wib(2026, 3, 9, 9, 11) + timedelta(seconds=15)


def test_first_response_stops_the_response_clock(helpdesk: Helpdesk) -> None:
    add_service(helpdesk, "24x7")
    with session_scope(helpdesk.engine) as s:
        t = open_p3(s, wib(2026, 3, 9, 9))
        tickets.acknowledge(s, t, technician(s), now=wib(2026, 3, 9, 9, 50))
        assert t.sla_next_at == wib(
            2026, 3, 9, 15
        )  # only the resolution steps remain (75 % of 8 h)
        st = sla.status(s, t, wib(2026, 3, 9, 12))
        assert st.response.state == sla.MET and st.response.used == timedelta(minutes=50)
        assert st.state == sla.ON_TRACK


def test_chat_shows_due_times_state_and_business_time_used(helpdesk: Helpdesk) -> None:
    chat = Chat.as_person(helpdesk, "console", "budi.santoso@kementerian.go.id")
    add_service(helpdesk)
    with session_scope(helpdesk.engine) as s:
        number = open_p3(s, wib(2026, 3, 9, 9)).number
    chat.say(f"/status {number}", now=wib(2026, 3, 9, 9, 30))
    assert (
        "Batas tanggapan: 9 Mar 2026 10.00 WIB · batas penyelesaian: 10 Mar 2026 08.30 WIB"
        in chat.text
    )
    assert "SLA: sesuai target · waktu kerja terpakai 30 m dari 8 j 00 m (6 %)" in chat.text
    assert "Tanggapan pertama: sesuai target" in chat.text
    chat.say(f"/status {number}", now=wib(2026, 3, 9, 14))
    assert "SLA: terlewati · waktu kerja terpakai 5 j 00 m dari 8 j 00 m (62 %)" in chat.text
    assert "Tanggapan pertama: terlewati" in chat.text


async def test_tickets_from_before_the_sla_clocks_are_planned_once_without_a_flood(
    helpdesk: Helpdesk,
) -> None:
    from bot.core import escalation
    from bot.delivery import Deliverer
    from bot.jobs import Jobs

    add_service(helpdesk)
    with session_scope(helpdesk.engine) as s:
        old = open_p3(s, wib(2026, 3, 2, 9))  # a week old: every step long past
        new = open_p3(s, wib(2026, 3, 9, 9))
        for t in (old, new):  # as migration 0003 found them
            t.response_due_at = t.resolution_due_at = t.response_risk_at = t.resolution_risk_at = (
                None
            )
            t.sla_next_at = None
            s.add(t)
    jobs = Jobs(helpdesk, Deliverer(helpdesk.engine))
    assert await jobs.plan_unplanned(wib(2026, 3, 9, 9, 30)) == 2
    with Session(helpdesk.engine) as s:
        old, new = (s.get(Ticket, t.id) for t in (old, new))
        assert old.resolution_due_at == wib(2026, 3, 3, 8, 30) and old.sla_next_at is None
        assert new.resolution_due_at == wib(2026, 3, 10, 8, 30) and new.sla_next_at == wib(
            2026, 3, 9, 9, 45
        )
    assert escalation.sla_tick(helpdesk.engine, wib(2026, 3, 9, 9, 30))["tickets"] == 0
