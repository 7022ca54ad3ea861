"""`/ringkasan` against hand-computed fixtures, and its role check."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.core import summary, tickets
from bot.core.tickets import Actor
from bot.reports.charts import summary_availability
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import (
    Alert,
    MaintenanceService,
    MaintenanceWindow,
    Person,
    ServiceState,
    Ticket,
)
from tests.helpers import Chat
from tests.pinned import assert_pinned

NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)  # Wednesday 10:00 WIB


def person_with(helpdesk: Helpdesk, role: str) -> str:
    with Session(helpdesk.engine) as s:
        return next(
            p.email
            for p in s.exec(select(Person).order_by(Person.id))
            if role in p.roles and p.email
        )


def fixture(helpdesk: Helpdesk) -> None:
    """Open: VPN P1 breached (response due passed, not acked), VPN P3 at risk
    (resolution risk passed, due ahead), e-mail P4 on track; one resolved e-mail ticket;
    one unacknowledged alert (the P1's own); VPN down now; maintenance tomorrow for e-mail."""
    with session_scope(helpdesk.engine) as s:
        user = next(p for p in s.exec(select(Person)) if p.roles == ["pengguna"])

        def open_(title: str, svc: str, i: int, u: int, at: datetime) -> Ticket:
            return tickets.open_ticket(
                s,
                type_="gangguan",
                title=title,
                service_id=svc,
                impact=i,
                urgency=u,
                reporter=user,
                now=at,
                auto_assign=False,
            )

        a = open_("a", "vpn", 1, 1, NOW - timedelta(hours=2))
        b = open_("b", "vpn", 2, 2, NOW - timedelta(hours=1))
        c = open_("c", "email", 3, 3, NOW - timedelta(minutes=10))
        d = open_("d", "email", 3, 3, NOW - timedelta(hours=3))
        tech = next(p for p in s.exec(select(Person)) if "pengelola_teknis" in p.roles)
        tickets.resolve(
            s, d, Actor(tech), resolution="oke", root_cause="x", now=NOW - timedelta(hours=2)
        )
        for t, (resp_risk, resp_due, res_risk, res_due) in [
            (a, (-90, -60, 60, 120)),
            (b, (-50, 30, -5, 60)),
            (c, (30, 60, 600, 900)),
        ]:
            t.acknowledged_at = None if t is not b else NOW - timedelta(minutes=55)
            t.response_risk_at = NOW + timedelta(minutes=resp_risk)
            t.response_due_at = NOW + timedelta(minutes=resp_due)
            t.resolution_risk_at = NOW + timedelta(minutes=res_risk)
            t.resolution_due_at = NOW + timedelta(minutes=res_due)
            t.sla_paused_at = None
            s.add(t)
        assert (
            s.exec(select(Alert).where(Alert.ticket_id == a.id)).one().acknowledged_at is None
        )  # P1 raised it
        s.add(
            ServiceState(
                service_id="vpn",
                state="down",
                since=NOW - timedelta(minutes=30),
                monitored_since=NOW - timedelta(days=10),
            )
        )
        s.add(
            ServiceState(
                service_id="email",
                state="up",
                since=NOW - timedelta(days=3),
                monitored_since=NOW - timedelta(days=10),
            )
        )
        w = MaintenanceWindow(
            starts_at=NOW + timedelta(days=1),
            ends_at=NOW + timedelta(days=1, hours=2),
            impact="surel mati",
        )
        s.add(w)
        s.flush()
        s.add(MaintenanceService(window_id=w.id, service_id="email"))


def test_summary_figures(helpdesk: Helpdesk) -> None:
    fixture(helpdesk)
    with Session(helpdesk.engine) as s:
        result = summary.build(s, NOW, "Asia/Jakarta")
        vpn_only = summary.build(s, NOW, "Asia/Jakarta", "vpn")
    assert result.open_by_priority == {1: 1, 3: 1, 4: 1}
    assert result.open_by_state == {"baru": 3}
    assert (result.breached, result.at_risk, result.unacked_alerts) == (1, 1, 1)
    assert result.states == {"vpn": "down", "email": "up"}
    assert len(result.maintenance) == 1 and result.maintenance[0][2] == "surel mati"
    assert dict(result.top_categories)  # this week's tickets, grouped
    assert vpn_only.open_by_priority == {1: 1, 3: 1} and vpn_only.maintenance == []
    assert vpn_only.week_availability.keys() == {"vpn"}
    text = summary.render(result, "id", "Asia/Jakarta", NOW)
    assert (
        "Tiket terbuka: 3" in text
        and "1 berisiko, 1 terlewati" in text
        and "tidak tersedia: Akses Jarak Jauh (VPN)" in text
    )
    assert summary_availability(result).startswith(b"\x89PNG")


def test_ringkasan_in_chat_is_for_coordinators(helpdesk: Helpdesk, chat: Chat) -> None:
    fixture(helpdesk)
    chat.say("/ringkasan")
    assert "hanya untuk koordinator" in chat.text
    technician = Chat.as_person(helpdesk, "console", person_with(helpdesk, "pengelola_teknis"))
    technician.say("/ringkasan")
    assert "hanya untuk koordinator" in technician.text
    coordinator = Chat.as_person(helpdesk, "web", person_with(helpdesk, "koordinator_layanan"))
    coordinator.say("/ringkasan")
    assert "Ringkasan status" in coordinator.text and "Tiket terbuka" in coordinator.text
    coordinator.say("/summary Biro Umum")
    assert "Biro Umum" in coordinator.text
    coordinator.say("/ringkasan layanan-yang-tidak-ada-xyz")
    assert "tidak ditemukan" in coordinator.text


def test_report_documents_from_chat(helpdesk: Helpdesk, chat: Chat) -> None:
    chat.say("/laporan evaluasi")
    assert "hanya untuk koordinator" in chat.text and chat.replies[0].document is None
    coordinator = Chat.as_person(helpdesk, "web", person_with(helpdesk, "koordinator_layanan"))
    coordinator.say("/laporan")
    assert "Cara pakai" in coordinator.text
    coordinator.say("/laporan evaluasi 2026-03-01 2026-03-31 vpn")
    reply = coordinator.replies[-1]
    assert "Laporan Evaluasi" in reply.text and "2026-03-01 s.d. 2026-03-31" in reply.text
    assert (
        reply.document is not None and reply.document[0] == "evaluation-2026-03-01-2026-03-31.pdf"
    )
    assert reply.document[1].startswith(b"%PDF")
    coordinator.say("/laporan katalog")
    assert "Katalog Layanan SPBE" in coordinator.text
    coordinator.say("/laporan evaluasi 2026-03-31 2026-03-01")
    assert "sebelum" in coordinator.text


def _synthetic() -> dict[str, summary.Summary]:
    """Summaries no fixture produces: degraded services, a week with no figure, an
    impact-less window, nothing open, an unknown scope."""
    names = {"vpn": "VPN", "email": "Surel", "web": "Portal"}
    busy = summary.Summary(
        "Biro Umum",
        ["vpn", "email", "web"],
        open_by_priority={2: 4, 4: 1},
        open_by_state={"baru": 1, "dikerjakan": 3, "menunggu_pengguna": 1},
        at_risk=2,
        breached=0,
        unacked_alerts=5,
        states={"vpn": "degraded", "email": "down", "web": "up", "x": "unknown"},
        week_availability={"vpn": 99.5, "email": None, "web": 97.123, "x": 100.0},
        maintenance=[
            (NOW + timedelta(hours=1), NOW + timedelta(hours=2), ""),
            (NOW + timedelta(days=2), NOW + timedelta(days=2, hours=3), "portal mati"),
        ],
        top_categories=[("VPN", 4), ("sertifikat", 1)],
        names=names,
    )
    quiet = summary.Summary(None, None, week_availability={"vpn": None}, names=names)
    unknown = summary.Summary("xyz", [], open_by_priority={1: 1}, names=names)
    return {"busy": busy, "quiet": quiet, "unknown": unknown}


def _stable(result: summary.Summary) -> summary.Summary:
    """Rows in a fixed order: the databases return ties (two categories with two
    tickets each, services of one state) in different orders, and only the rendering
    is pinned here."""
    return replace(
        result,
        open_by_state=dict(sorted(result.open_by_state.items())),
        states=dict(sorted(result.states.items())),
        week_availability=dict(sorted(result.week_availability.items())),
        top_categories=sorted(result.top_categories, key=lambda cn: (-cn[1], cn[0])),
    )


def test_summary_text_is_pinned(helpdesk: Helpdesk) -> None:
    """The whole `/ringkasan` text, byte for byte, in both languages."""
    fixture(helpdesk)
    with Session(helpdesk.engine) as s:
        built = {
            "all": summary.build(s, NOW, "Asia/Jakarta"),
            "vpn": summary.build(s, NOW, "Asia/Jakarta", "vpn"),
        }
    for name, result in {**{k: _stable(v) for k, v in built.items()}, **_synthetic()}.items():
        for lang in ("id", "en"):
            assert_pinned(
                f"summary-{name}.{lang}.txt", summary.render(result, lang, "Asia/Jakarta", NOW)
            )
