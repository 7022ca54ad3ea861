"""The state machine against a real HTTP server that goes down, flaps and recovers:
incidents, alerts, the recovery coordinator, users who reported, and maintenance."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from bot.core import alerts, maintenance
from bot.core.probes import Prober
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import (
    Alert,
    Identity,
    Notice,
    Outage,
    OutageReporter,
    Person,
    Service,
    ServiceDay,
    ServiceState,
    StateChange,
    Ticket,
    TicketEvent,
)
from tests.helpers import Chat
from tests.probe_servers import FakeHttp

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 08:00 WIB
STEP = dt.timedelta(seconds=10)


def watch(helpdesk: Helpdesk, service_id: str, url: str) -> None:
    with session_scope(helpdesk.engine) as s:
        for svc in s.exec(select(Service)):
            svc.probe = (
                {"type": "http", "target": url, "interval": 10}
                if svc.id == service_id
                else {"type": "none"}
            )
            s.add(svc)
        alerts.register_operator_channel(s, "telegram", "-100777", None, name="Operator")


class Clock:
    def __init__(self, prober: Prober) -> None:
        self.prober = prober
        self.now = T0

    async def tick(self, n: int = 1) -> None:
        for _ in range(n):
            await self.prober.tick(self.now)
            self.now += STEP


def state(helpdesk: Helpdesk, service_id: str) -> str:
    with Session(helpdesk.engine) as s:
        st = s.get(ServiceState, service_id)
        return st.state if st else "none"


async def test_down_flap_and_recovery(helpdesk: Helpdesk, chat: Chat) -> None:
    server = await FakeHttp().start()
    watch(helpdesk, "vpn", server.url)
    prober = Prober(helpdesk.engine, timeout=2, down_after=3, up_after=2)
    clock = Clock(prober)
    try:
        await clock.tick(2)
        assert state(helpdesk, "vpn") == "up"
        server.status = 500  # two failures, then fine again: a flap, no outage
        await clock.tick(2)
        server.status = 200
        await clock.tick(1)
        assert state(helpdesk, "vpn") == "up"
        with Session(helpdesk.engine) as s:
            assert s.exec(select(Outage)).first() is None

        await server.stop()
        await clock.tick(2)
        assert state(helpdesk, "vpn") == "up"
        await clock.tick(1)
        assert state(helpdesk, "vpn") == "down"
        with Session(helpdesk.engine) as s:
            outage = s.exec(select(Outage)).one()
            ticket = s.get(Ticket, outage.ticket_id)
            assert ticket is not None and ticket.type == "gangguan" and ticket.service_id == "vpn"
            assert (ticket.impact, ticket.urgency, ticket.priority) == (
                2,
                1,
                2,
            )  # criticality sedang
            assert ticket.assignee_id is not None
            kinds = [a.kind for a in s.exec(select(Alert))]
            assert kinds == ["service.down"]  # no separate "ticket.new" alert
            posts = list(s.exec(select(Notice).where(Notice.kind == "alert.post")))
            assert [(n.channel, n.target) for n in posts] == [("telegram", "-100777")]
            assert "VPN" in posts[0].payload["text"]
            assert f"t:ack:{ticket.number}" in [c["action"] for c in posts[0].payload["choices"]]
            incident_number = ticket.number

        # a user reports the VPN meanwhile: told it is known, attached, no second ticket
        chat.say("/lapor vpn tidak bisa konek dari rumah")
        chat.press("svc:vpn")
        chat.press("type:gangguan")
        assert incident_number in chat.text and "sudah ditangani" in chat.text
        chat.say("/lapor")
        chat.press("svc:vpn")
        chat.press("type:gangguan")
        assert "sudah tercatat" in chat.text
        with Session(helpdesk.engine) as s:
            assert len(list(s.exec(select(Ticket)))) == 1
            assert len(list(s.exec(select(OutageReporter)))) == 1

        await server.start()  # same port
        await clock.tick(1)
        assert state(helpdesk, "vpn") == "down"
        await clock.tick(1)
        assert state(helpdesk, "vpn") == "up"
    finally:
        await prober.aclose()
        await server.stop()

    with Session(helpdesk.engine) as s:
        outage = s.exec(select(Outage)).one()
        assert outage.ended_at is not None and outage.duration_s == int(
            (outage.ended_at - outage.started_at).total_seconds()
        )
        assert outage.duration_s > 0
        ticket = s.get(Ticket, outage.ticket_id)
        assert ticket is not None and ticket.state in (
            "ditugaskan",
            "baru",
        )  # waits for the root cause
        notes = [
            e.note or ""
            for e in s.exec(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "comment"
                )
            )
        ]
        assert any("Laporan tambahan" in n for n in notes) and any("pulih" in n for n in notes)
        changes = [
            (c.old, c.new) for c in s.exec(select(StateChange).order_by(col(StateChange.id)))
        ]
        assert changes == [("unknown", "up"), ("up", "down"), ("down", "up")]
        day = s.exec(select(ServiceDay).where(ServiceDay.service_id == "vpn")).one()
        assert day.down_s == outage.duration_s and day.failures == 5 and day.checks == 10
        assignee = s.get(Person, ticket.assignee_id)
        assert assignee is not None
    back = [n.text for n in chat.notices()]
    assert any("sudah dapat digunakan kembali" in text for text in back)


async def test_critical_service_reaches_recovery_coordinator(helpdesk: Helpdesk) -> None:
    server = await FakeHttp().start()
    watch(helpdesk, "eoffice", server.url)
    with session_scope(helpdesk.engine) as s:
        teguh = next(p for p in s.exec(select(Person)) if "koordinator_pemulihan" in p.roles)
        s.add(Identity(person_id=teguh.id, channel="telegram", external_id="5550001"))
    prober = Prober(helpdesk.engine, timeout=2, down_after=2, up_after=1)
    clock = Clock(prober)
    try:
        await clock.tick(1)
        server.status = 503
        await clock.tick(2)
    finally:
        await prober.aclose()
        await server.stop()
    with Session(helpdesk.engine) as s:
        ticket = s.exec(select(Ticket)).one()
        assert ticket.priority == 1
        targets = {
            (n.channel, n.target) for n in s.exec(select(Notice).where(Notice.kind == "alert.post"))
        }
        assert targets == {("telegram", "-100777"), ("telegram", "5550001")}


async def test_down_inside_maintenance_is_planned_until_the_window_ends(helpdesk: Helpdesk) -> None:
    server = await FakeHttp().start()
    watch(helpdesk, "vpn", server.url)
    with session_scope(helpdesk.engine) as s:
        window = maintenance.schedule(
            s,
            None,
            ["vpn"],
            T0 + dt.timedelta(seconds=5),
            T0 + dt.timedelta(seconds=65),
            "VPN tidak dapat diakses",
            now=T0 - dt.timedelta(hours=2),
        )
        window_id = window.id
    prober = Prober(helpdesk.engine, timeout=2, down_after=2, up_after=1)
    clock = Clock(prober)
    try:
        await clock.tick(1)
        server.status = 500
        await clock.tick(3)  # inside the window
        with Session(helpdesk.engine) as s:
            outage = s.exec(select(Outage)).one()
            assert outage.planned and outage.ticket_id is None
            assert s.exec(select(Alert)).first() is None
        maintenance.maintenance_tick(helpdesk.engine, T0 + dt.timedelta(seconds=70))
    finally:
        await prober.aclose()
        await server.stop()
    with Session(helpdesk.engine) as s:
        rows = list(s.exec(select(Outage).order_by(col(Outage.id))))
        assert [(o.planned, o.ended_at is None) for o in rows] == [(True, False), (False, True)]
        assert rows[0].ended_at == rows[1].started_at == T0 + dt.timedelta(seconds=65)
        assert rows[1].ticket_id is not None
        win = s.get(maintenance.MaintenanceWindow, window_id)
        assert win is not None and win.rolled_up and win.announced == "end"
        day = s.exec(select(ServiceDay).where(ServiceDay.service_id == "vpn")).one()
        assert day.maintenance_s == 60 and day.planned_down_s == rows[0].duration_s


async def test_certificate_expiry_warns_operators_once(helpdesk: Helpdesk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.probe_servers import make_tls

    server_ctx, client_ctx, not_after = make_tls(tmp_path, days=3)
    server = await FakeHttp(server_ctx).start()
    watch(helpdesk, "website", server.url)
    prober = Prober(helpdesk.engine, timeout=2, verify=client_ctx, cert_warn_days=14)
    clock = Clock(prober)
    clock.now = not_after - dt.timedelta(days=3)  # the certificate is real: probe in its lifetime
    try:
        await clock.tick(3)
    finally:
        await prober.aclose()
        await server.stop()
    with Session(helpdesk.engine) as s:
        warned = list(s.exec(select(Notice).where(Notice.kind == "service.cert")))
        assert [(n.channel, n.target) for n in warned] == [("telegram", "-100777")]
        assert (
            "Sertifikat TLS" in warned[0].payload["text"]
            and "hari lagi" in warned[0].payload["text"]
        )
        st = s.get(ServiceState, "website")
        assert st is not None and st.state == "up" and st.cert_expires_at == not_after
