"""Escalation paths, alert repeats and acknowledgement, on SQLite and PostgreSQL.

People speak through the real conversation engine (Chat); notices are read from the
outbox or handed by the real Deliverer to a recording transport (the network edge)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.core import alerts, escalation, tickets
from bot.core.escalation import EscalationPolicy
from bot.delivery import Deliverer
from bot.jobs import Jobs
from bot.runtime import Helpdesk, build
from storage.db import session_scope
from storage.models import Alert, AlertPost, Notice, Person, Ticket, TicketEvent
from tests.helpers import Chat

WIB = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 3, 9, 9, tzinfo=WIB)  # Monday 09:00, inside VPN hours (06:00-20:00)
GROUP = "-1001"
EMAILS = {
    "budi": "budi.santoso@kementerian.go.id",  # pengelola teknis VPN
    "fajar": "fajar.nugroho@kementerian.go.id",  # pengelola teknis VPN
    "manager": "bambang.susilo@kementerian.go.id",  # pengelola layanan VPN
    "coordinator": "nur.hidayati@kementerian.go.id",  # koordinator layanan
}


class Recorder:
    """A channel at the network edge: remembers what it was handed."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, str]] = []  # kind, target, ref, text

    async def send(self, notice: Notice) -> str | None:
        ref = notice.payload.get("message_ref") or f"m{len(self.sent) + 1}"
        self.sent.append((notice.kind, notice.target, ref, notice.payload.get("text", "")))
        return ref


@pytest.fixture
def people(helpdesk: Helpdesk) -> dict[str, Chat]:
    chats = {k: Chat.as_person(helpdesk, "telegram", email) for k, email in EMAILS.items()}
    with session_scope(helpdesk.engine) as s:
        alerts.register_operator_channel(s, "telegram", GROUP, None, name="Petugas")
    return chats


def open_ticket(
    helpdesk: Helpdesk, impact: int, urgency: int, *, auto_assign: bool = True
) -> Ticket:
    with session_scope(helpdesk.engine) as s:
        return tickets.open_ticket(
            s,
            type_="gangguan",
            title="VPN tidak tersambung",
            service_id="vpn",
            impact=impact,
            urgency=urgency,
            auto_assign=auto_assign,
            now=T0,
        )


def reload(helpdesk: Helpdesk, ticket: Ticket) -> Ticket:
    with Session(helpdesk.engine) as s:
        return s.exec(select(Ticket).where(Ticket.id == ticket.id)).one()


def outbox(helpdesk: Helpdesk, **where: str) -> list[Notice]:
    with Session(helpdesk.engine) as s:
        stmt = select(Notice).order_by(col(Notice.id))
        for key, value in where.items():
            stmt = stmt.where(getattr(Notice, key) == value)
        return list(s.exec(stmt))


def person_id(helpdesk: Helpdesk, key: str) -> int:
    with Session(helpdesk.engine) as s:
        return s.exec(select(Person.id).where(Person.email == EMAILS[key])).one()  # type: ignore[return-value]


def tick(helpdesk: Helpdesk, at: datetime, policy: EscalationPolicy | None = None) -> None:
    escalation.sla_tick(helpdesk.engine, at, policy)
    escalation.alert_tick(helpdesk.engine, at, policy)


def test_unanswered_ticket_at_risk_goes_to_the_next_technician(
    helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    t = open_ticket(helpdesk, 2, 2)  # P3: response 240 min, at risk after 180
    first = t.assignee_id
    assert first in {person_id(helpdesk, "budi"), person_id(helpdesk, "fajar")}
    escalation.sla_tick(helpdesk.engine, t.response_risk_at - timedelta(seconds=1))
    assert reload(helpdesk, t).assignee_id == first
    escalation.sla_tick(helpdesk.engine, t.response_risk_at)
    after = reload(helpdesk, t)
    other = ({person_id(helpdesk, "budi"), person_id(helpdesk, "fajar")} - {first}).pop()
    assert after.assignee_id == other
    other_chat = next(c for c in people.values() if person_id(helpdesk, _key(people, c)) == other)
    risk = outbox(helpdesk, kind="sla.response_risk")
    assert [n.target for n in risk] == [other_chat.chat_id]
    assert (
        risk[0]
        .payload["text"]
        .startswith(
            f"⚠ {'Ticket' if other == person_id(helpdesk, 'fajar') else 'Tiket'} {t.number}"
        )
    )
    assert {c["action"] for c in risk[0].payload["choices"]} == {
        f"t:ack:{t.number}",
        f"t:take:{t.number}",
    }
    with Session(helpdesk.engine) as s:
        event = s.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == t.id, TicketEvent.kind == "assign")
            .order_by(col(TicketEvent.id).desc())
        ).first()
        assert event is not None and event.actor_id is None and event.channel == "sla"


def _key(people: dict[str, Chat], chat: Chat) -> str:
    return next(k for k, c in people.items() if c is chat)


def test_unassigned_ticket_at_risk_is_assigned(helpdesk: Helpdesk, people: dict[str, Chat]) -> None:
    t = open_ticket(helpdesk, 2, 2, auto_assign=False)
    assert t.assignee_id is None
    escalation.sla_tick(helpdesk.engine, t.response_risk_at)
    assert reload(helpdesk, t).assignee_id is not None
    assert len(outbox(helpdesk, kind="sla.response_risk")) == 1


def test_resolution_at_risk_tells_the_assigned_technician(
    helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    t = open_ticket(helpdesk, 2, 2)
    people["budi"].act(f"t:take:{t.number}", now=T0 + timedelta(minutes=5))
    t = reload(helpdesk, t)
    assert t.assignee_id == person_id(helpdesk, "budi") and t.acknowledged_at is not None
    escalation.sla_tick(helpdesk.engine, t.resolution_risk_at)
    risk = outbox(helpdesk, kind="sla.resolution_risk")
    assert [n.target for n in risk] == [people["budi"].chat_id]
    assert reload(helpdesk, t).assignee_id == person_id(
        helpdesk, "budi"
    )  # answered: no reassignment
    assert not outbox(helpdesk, kind="sla.response_risk")


def test_response_breach_alerts_operator_group_and_service_manager(
    helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    t = open_ticket(helpdesk, 2, 2)
    escalation.sla_tick(helpdesk.engine, t.response_due_at)
    with Session(helpdesk.engine) as s:
        alert = s.exec(select(Alert).where(Alert.kind == "sla.response_breach")).one()
    posts = [n for n in outbox(helpdesk, kind="alert.post") if n.payload["alert_id"] == alert.id]
    assert {n.target for n in posts} == {GROUP, people["manager"].chat_id}
    assert posts[0].payload["text"].startswith("⏰ Batas tanggapan terlewati · P3 · " + t.number)


def test_resolution_breach_goes_to_the_coordinator(
    helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    t = open_ticket(helpdesk, 2, 2)
    people["budi"].act(f"t:take:{t.number}", now=T0 + timedelta(minutes=5))
    escalation.sla_tick(helpdesk.engine, reload(helpdesk, t).resolution_due_at)
    with Session(helpdesk.engine) as s:
        alert = s.exec(select(Alert).where(Alert.kind == "sla.resolution_breach")).one()
    posts = [n for n in outbox(helpdesk, kind="alert.post") if n.payload["alert_id"] == alert.id]
    assert [n.target for n in posts] == [people["coordinator"].chat_id]
    assert f"a:ack:{alert.id}" in [c["action"] for c in posts[0].payload["choices"]]


def test_rules_per_priority_come_from_configuration(
    settings: Settings, helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    configured = settings.model_copy(update={"sla_escalation_rules": {3: ["resolution_breach"]}})
    policy = EscalationPolicy.from_settings(configured)
    t = open_ticket(helpdesk, 2, 2)
    before = len(outbox(helpdesk))
    escalation.sla_tick(helpdesk.engine, t.response_due_at, policy)
    assert len(outbox(helpdesk)) == before and reload(helpdesk, t).assignee_id == t.assignee_id
    escalation.sla_tick(helpdesk.engine, t.resolution_due_at, policy)
    with Session(helpdesk.engine) as s:
        assert [a.kind for a in s.exec(select(Alert))] == ["sla.resolution_breach"]
    with pytest.raises(ValueError, match="unknown steps"):
        EscalationPolicy.from_settings(
            settings.model_copy(update={"sla_escalation_rules": {1: ["panik"]}})
        )


def test_running_a_tick_twice_sends_nothing_twice(
    helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    t = open_ticket(helpdesk, 1, 1)  # P1: new-ticket alert, then every SLA step
    for at in (
        t.response_risk_at,
        t.response_due_at,
        T0 + timedelta(minutes=45),
        t.resolution_due_at,
    ):
        tick(helpdesk, at)
        count = len(outbox(helpdesk))
        tick(helpdesk, at)
        tick(helpdesk, at - timedelta(seconds=1))
        assert len(outbox(helpdesk)) == count
    keys = [n.dedupe_key for n in outbox(helpdesk)]
    assert len(keys) == len(set(keys))
    kinds = {n.kind for n in outbox(helpdesk)}
    assert {"sla.response_risk", "alert.post"} <= kinds


def test_unacknowledged_alert_repeats_and_climbs_levels(
    helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    policy = EscalationPolicy(repeat_minutes=(10, 20, 60, 120), escalate_after=(2, 2, 2, 2))
    open_ticket(helpdesk, 1, 1)  # P1 → "ticket.new" alert in the operator group

    def posts() -> list[tuple[str, int]]:
        return [(n.target, n.payload["seq"]) for n in outbox(helpdesk, kind="alert.post")]

    assert posts() == [(GROUP, 0)]
    escalation.alert_tick(helpdesk.engine, T0 + timedelta(minutes=9), policy)
    assert posts() == [(GROUP, 0)]
    escalation.alert_tick(helpdesk.engine, T0 + timedelta(minutes=10), policy)
    assert posts()[1:] == [(GROUP, 1)]
    escalation.alert_tick(
        helpdesk.engine, T0 + timedelta(minutes=20), policy
    )  # 2nd repeat: service manager
    assert posts()[2:] == [(GROUP, 2), (people["manager"].chat_id, 2)]
    escalation.alert_tick(helpdesk.engine, T0 + timedelta(minutes=30), policy)
    escalation.alert_tick(
        helpdesk.engine, T0 + timedelta(minutes=40), policy
    )  # 4th: coordinator too
    assert posts()[-3:] == [
        (GROUP, 4),
        (people["manager"].chat_id, 4),
        (people["coordinator"].chat_id, 4),
    ]
    with Session(helpdesk.engine) as s:
        alert = s.exec(select(Alert)).one()
        assert (alert.level, alert.repeats) == (2, 4)


async def test_one_acknowledgement_stops_repeats_everywhere(
    helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    policy = EscalationPolicy(repeat_minutes=(10, 20, 60, 120), escalate_after=(2, 2, 2, 2))
    recorder = Recorder()
    deliverer = Deliverer(helpdesk.engine)
    deliverer.register("telegram", recorder)
    t = open_ticket(helpdesk, 1, 1)
    for minutes in (1, 10, 20):
        escalation.alert_tick(helpdesk.engine, T0 + timedelta(minutes=minutes), policy)
        await deliverer.drain(T0 + timedelta(minutes=minutes))
    alert_posts = [r for r in recorder.sent if r[0] == "alert.post"]
    assert [r[1] for r in alert_posts] == [GROUP, GROUP, GROUP, people["manager"].chat_id]
    people["fajar"].act(f"t:ack:{t.number}", now=T0 + timedelta(minutes=25))
    await deliverer.drain(T0 + timedelta(minutes=25))
    edits = [r for r in recorder.sent if r[0] == "alert.edit"]
    assert sorted(r[2] for r in edits) == sorted(
        r[2] for r in alert_posts
    )  # every post, every repeat
    assert all("✔ Diakui oleh Fajar Nugroho (9 Mar 2026 09.25 WIB)" in r[3] for r in edits)
    sent = len(recorder.sent)
    tick(helpdesk, T0 + timedelta(hours=3), policy)
    await deliverer.drain(T0 + timedelta(hours=3))
    assert not [r for r in recorder.sent[sent:] if r[0] == "alert.post" and "🚨" in r[3]]
    with Session(helpdesk.engine) as s:
        assert s.exec(select(Alert).where(Alert.kind == "ticket.new")).one().next_repeat_at is None
        assert len(list(s.exec(select(AlertPost)))) >= 4


async def test_sla_alert_on_answered_ticket_is_acknowledged_by_its_own_button(
    helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    recorder = Recorder()
    deliverer = Deliverer(helpdesk.engine)
    deliverer.register("telegram", recorder)
    t = open_ticket(helpdesk, 2, 2)
    people["budi"].act(f"t:take:{t.number}", now=T0 + timedelta(minutes=5))
    due = reload(helpdesk, t).resolution_due_at
    tick(helpdesk, due)
    await deliverer.drain(due)
    with Session(helpdesk.engine) as s:
        alert = s.exec(select(Alert).where(Alert.kind == "sla.resolution_breach")).one()
    people["coordinator"].act(f"a:ack:{alert.id}", now=due + timedelta(minutes=3))
    assert "Peringatan diakui" in people["coordinator"].text
    await deliverer.drain(due + timedelta(minutes=3))
    edit = [r for r in recorder.sent if r[0] == "alert.edit"][-1]
    assert "✔ Diakui oleh Nur Hidayati" in edit[3] and "a:ack" not in edit[3]
    before = len(outbox(helpdesk, kind="alert.post"))
    tick(helpdesk, due + timedelta(hours=5))
    assert len(outbox(helpdesk, kind="alert.post")) == before


def test_alert_of_a_ticket_resolved_without_akui_stops_repeating(
    helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    t = open_ticket(helpdesk, 1, 1)
    with session_scope(helpdesk.engine) as s:
        ticket = s.get(Ticket, t.id)
        budi = s.exec(select(Person).where(Person.email == EMAILS["budi"])).one()
        tickets.resolve(
            s,
            ticket,
            tickets.Actor(budi, "console"),
            resolution="Sertifikat diperbarui",
            root_cause="Sertifikat kedaluwarsa",
            now=T0 + timedelta(minutes=4),
        )
    done = escalation.alert_tick(helpdesk.engine, T0 + timedelta(hours=2))
    assert done["repeated"] == 0
    assert len(outbox(helpdesk, kind="alert.post")) == 1
    with Session(helpdesk.engine) as s:
        assert s.exec(select(Alert)).one().acknowledged_at is not None


async def test_scheduler_runs_the_scan_and_the_repeats(
    settings: Settings, engine, people: dict[str, Chat]
) -> None:  # type: ignore[no-untyped-def]
    helpdesk = build(settings, upgrade=False, engine=engine)
    t = open_ticket(helpdesk, 1, 1)
    jobs = Jobs(helpdesk, Deliverer.from_settings(engine, settings))
    done = await jobs.sla_scan(t.response_due_at)
    assert done["sla.response_breach"] == 1 and done["reassigned"] == 1
    jobs.start()
    try:
        assert {"delivery", "sla"} <= {j.id for j in jobs.scheduler.get_jobs()}
    finally:
        jobs.shutdown()


def test_two_replicas_scanning_at_once_take_each_step_once(
    helpdesk: Helpdesk, people: dict[str, Chat]
) -> None:
    import threading

    opened = [open_ticket(helpdesk, 2, 2) for _ in range(30)]
    at = max(t.response_risk_at for t in opened)
    gate = threading.Barrier(2)
    results: list[int] = []

    def replica() -> None:
        gate.wait()
        results.append(escalation.sla_tick(helpdesk.engine, at, batch=5)["reassigned"])

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert sum(results) == 30  # every ticket reassigned once, by one replica or the other
    with Session(helpdesk.engine) as s:
        moved = s.exec(
            select(TicketEvent).where(TicketEvent.kind == "assign", TicketEvent.channel == "sla")
        )
        assert sorted(e.ticket_id for e in moved) == sorted(t.id for t in opened)
    assert len(outbox(helpdesk, kind="sla.response_risk")) == 30
