"""Ticket life cycle, priority, assignment and the audit trail, through the core."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from bot.core import tickets
from bot.core.errors import InvalidTransition, NotAllowed, NotFound
from bot.core.priority import priority_for
from bot.core.tickets import Actor
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Notice, Person, ServiceTechnician, Ticket, TicketEvent

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def person(s: Session, email: str) -> Person:
    return s.exec(select(Person).where(Person.email == email)).one()


def a_user(s: Session) -> Person:
    return s.exec(select(Person).where(Person.roles == ["pengguna"])).first()  # type: ignore[arg-type]


def technicians(s: Session, service: str) -> list[Person]:
    return list(
        s.exec(
            select(Person)
            .join(ServiceTechnician, ServiceTechnician.person_id == Person.id)
            .where(ServiceTechnician.service_id == service)
        )
    )


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [
        (1, 1, 1),
        (1, 2, 2),
        (1, 3, 3),
        (2, 1, 2),
        (2, 2, 3),
        (2, 3, 4),
        (3, 1, 3),
        (3, 2, 4),
        (3, 3, 4),
    ],
)
def test_priority_matrix(impact: int, urgency: int, expected: int) -> None:
    assert priority_for(impact, urgency) == expected


def test_priority_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        priority_for(0, 4)


def test_numbers_are_per_type_and_year(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user = a_user(s)
        a = tickets.open_ticket(s, type_="gangguan", title="a", reporter=user, now=NOW)
        b = tickets.open_ticket(s, type_="gangguan", title="b", reporter=user, now=NOW)
        c = tickets.open_ticket(s, type_="permintaan", title="c", reporter=user, now=NOW)
        d = tickets.open_ticket(s, type_="keluhan", title="d", reporter=user, now=NOW)
        e = tickets.open_ticket(
            s, type_="gangguan", title="e", reporter=user, now=datetime(2027, 1, 1, tzinfo=UTC)
        )
    assert [a.number, b.number, c.number, d.number, e.number] == [
        "INC-2026-000001",
        "INC-2026-000002",
        "REQ-2026-000001",
        "KEL-2026-000001",
        "INC-2027-000001",
    ]


def test_auto_assignment_balances_open_tickets(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user = a_user(s)
        techs = technicians(s, "sso")
        assert len(techs) >= 2, "sample catalog: sso has several technical managers"
        opened = [
            tickets.open_ticket(
                s, type_="gangguan", title=f"t{i}", service_id="sso", reporter=user, now=NOW
            )
            for i in range(len(techs) * 2)
        ]
        counts = {t.id: 0 for t in techs}
        for t in opened:
            assert t.assignee_id in counts
            assert t.state == tickets.DITUGASKAN
            counts[t.assignee_id] += 1
    assert max(counts.values()) - min(counts.values()) <= 1


def test_assignment_prefers_the_needed_skill(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user = a_user(s)
        techs = technicians(s, "vpn")
        skilled = [p for p in techs if "vpn" in p.skills]
        t = tickets.open_ticket(
            s, type_="gangguan", title="x", service_id="vpn", reporter=user, now=NOW
        )
        assert t.assignee_id in {p.id for p in (skilled or techs)}


def test_full_life_cycle_is_audited_and_reporter_told(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user = a_user(s)
        tech = technicians(s, "email")[0]
        t = tickets.open_ticket(
            s,
            type_="gangguan",
            title="surel tidak terkirim",
            service_id="email",
            reporter=user,
            channel="web",
            chat_id="sess-1",
            impact=2,
            urgency=2,
            now=NOW,
        )
        actor = Actor(tech, "console")
        tickets.take(s, t, actor, now=NOW)
        tickets.hold_for_user(s, t, actor, "Kirim tangkapan layar galatnya?", now=NOW)
        tickets.comment(s, t, Actor(user, "web"), "ini tangkapan layarnya", now=NOW)
        assert t.state == tickets.DIKERJAKAN, "the reporter's answer resumes the work"
        with pytest.raises(InvalidTransition):
            tickets.resolve(s, t, actor, resolution="server antrean dibersihkan", now=NOW)
        tickets.resolve(
            s, t, actor, resolution="antrean surel dibersihkan", root_cause="disk penuh", now=NOW
        )
        tickets.close(s, t, Actor(user, "web"), now=NOW)
        number = t.number
    with Session(helpdesk.engine) as s:
        t = s.exec(select(Ticket).where(Ticket.number == number)).one()
        assert (
            t.state == tickets.DITUTUP and t.root_cause == "disk penuh" and t.closed_at is not None
        )
        events = s.exec(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id)
        ).all()
        states = [(e.old, e.new) for e in events if e.kind == "state"]
        assert states == [
            ("baru", "ditugaskan"),
            ("ditugaskan", "dikerjakan"),
            ("dikerjakan", "menunggu_pengguna"),
            ("menunggu_pengguna", "dikerjakan"),
            ("dikerjakan", "selesai"),
            ("selesai", "ditutup"),
        ]
        assert all(e.at is not None for e in events)
        assert {e.channel for e in events if e.kind == "state"} >= {"console", "web"}
        sent = s.exec(
            select(Notice).where(Notice.channel == "web", Notice.target == "sess-1")
        ).all()
        # besides the ticket's notices, the resolution asked for a rating (issue #13), once
        assert [n.kind for n in sent].count("csat.ask") == 1
        told = [n for n in sent if n.kind != "csat.ask"]
        # every state change by somebody else than the reporter, and the operator's question
        assert len(told) == 4
        assert any("selesai" in n.payload["text"] for n in told)


def test_invalid_transitions_are_refused(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user = a_user(s)
        tech = technicians(s, "vpn")[0]
        t = tickets.open_ticket(
            s, type_="permintaan", title="akun vpn baru", service_id="vpn", reporter=user, now=NOW
        )
        tickets.cancel(s, t, Actor(user, "web"), "tidak jadi", now=NOW)
        for action in (
            lambda: tickets.take(s, t, Actor(tech), now=NOW),
            lambda: tickets.close(s, t, Actor(tech), now=NOW),
            lambda: tickets.reopen(s, t, Actor(user), "lagi", now=NOW),
        ):
            with pytest.raises(InvalidTransition):
                action()
        assert t.state == tickets.DIBATALKAN


def test_service_requests_need_no_root_cause(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user = a_user(s)
        tech = technicians(s, "vpn")[0]
        t = tickets.open_ticket(
            s, type_="permintaan", title="akun vpn", service_id="vpn", reporter=user, now=NOW
        )
        tickets.resolve(s, t, Actor(tech), resolution="akun dibuat", now=NOW)
        assert t.state == tickets.SELESAI and t.acknowledged_at is not None


def test_pengguna_cannot_work_or_see_others_tickets(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        users = s.exec(select(Person).where(Person.roles == ["pengguna"])).all()  # type: ignore[arg-type]
        owner, other = users[0], users[1]
        t = tickets.open_ticket(
            s, type_="gangguan", title="x", service_id="vpn", reporter=owner, now=NOW
        )
        for action in (
            lambda: tickets.take(s, t, Actor(other), now=NOW),
            lambda: tickets.take(s, t, Actor(owner), now=NOW),
            lambda: tickets.resolve(s, t, Actor(owner), resolution="r", root_cause="c", now=NOW),
            lambda: tickets.hold_for_user(s, t, Actor(owner), "q", now=NOW),
            lambda: tickets.comment(s, t, Actor(other), "halo", now=NOW),
        ):
            with pytest.raises(NotAllowed):
                action()
        with pytest.raises(NotFound):
            tickets.find(s, t.number, other)
        assert tickets.find(s, t.number, owner).id == t.id


def test_reassignment_is_recorded(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user = a_user(s)
        first, second = technicians(s, "sso")[:2]
        t = tickets.open_ticket(
            s, type_="gangguan", title="x", service_id="sso", reporter=user, now=NOW
        )
        tickets.assign(s, t, first, Actor(second), now=NOW)
        tickets.assign(s, t, second, Actor(second), now=NOW)
        assigns = [e for e in tickets.history(s, t) if e.kind == "assign"]
        assert [e.new for e in assigns][-2:] == [str(first.id), str(second.id)]
        assert assigns[-1].actor_id == second.id


def test_two_operators_taking_at_once_apply_one_acknowledgement(helpdesk: Helpdesk) -> None:
    """The second change waits for the first one's row lock and sees its result."""
    import threading

    from tests.helpers import Chat

    with session_scope(helpdesk.engine) as s:
        t = tickets.open_ticket(
            s, type_="gangguan", title="x", service_id="sso", reporter=a_user(s), now=NOW
        )
        number = t.number
        first, second = technicians(s, "sso")[:2]
    a = Chat.as_person(helpdesk, "console", first.email or "")
    b = Chat.as_person(helpdesk, "slack", second.email or "")
    holding = threading.Event()
    release = threading.Event()

    def slow_take() -> None:
        with session_scope(helpdesk.engine) as s:
            ticket = tickets.find(s, number, first, for_update=True)
            tickets.take(s, ticket, Actor(first, "console"), now=NOW)
            holding.set()
            release.wait(10)

    worker = threading.Thread(target=slow_take)
    worker.start()
    assert holding.wait(10)

    def take_over() -> None:  # held by the first now: /ambil asks, the button confirms
        b.say(f"/ambil {number}")
        b.act(f"t:takeover:{number}")

    other = threading.Thread(target=take_over)
    other.start()
    other.join(0.5)
    release.set()
    worker.join(10)
    other.join(20)
    assert not other.is_alive()
    del a
    with Session(helpdesk.engine) as s:
        t = s.exec(select(Ticket).where(Ticket.number == number)).one()
        events = s.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id)).all()
    assert sum(1 for e in events if e.kind == "ack") == 1
    assert sum(1 for e in events if e.kind == "state" and e.new == "dikerjakan") == 1
    assert t.assignee_id == second.id  # the second operator took it over, recorded
    assert [e.new for e in events if e.kind == "assign"][-1] == str(second.id)


def test_a_system_note_does_not_resume_a_ticket_waiting_for_its_user(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        tech = technicians(s, "vpn")[0]
        t = tickets.open_ticket(
            s, type_="gangguan", title="vpn mati", service_id="vpn", now=NOW
        )  # no reporter
        tickets.take(s, t, Actor(tech), now=NOW)
        tickets.hold_for_user(s, t, Actor(tech), "menunggu vendor", now=NOW)
        tickets.comment(s, t, tickets.SYSTEM, "pengguna lain melaporkan layanan ini", now=NOW)
        assert t.state == tickets.MENUNGGU
