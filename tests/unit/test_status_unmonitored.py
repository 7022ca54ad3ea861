"""The public status page says what is known: on a default install (probes off) no
service is monitored, so the page must not claim that all is well; an open incident a
user reported is a disruption of its service; monitoring's own incidents are shown as
the service being down, not counted twice."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select
from starlette.testclient import TestClient

from bot.core import outages, tickets
from bot.core.tickets import Actor
from bot.i18n import t
from bot.runtime import Helpdesk
from bot.web import status
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import Person, ServiceState, Ticket, utcnow

TZ = "Asia/Jakarta"


def _user(s: Session) -> Person:
    return next(p for p in s.exec(select(Person).order_by(Person.id)) if p.roles == ["pengguna"])


def _page(helpdesk: Helpdesk, lang: str = "id") -> str:
    with TestClient(create_app(helpdesk, run_jobs=False)) as client:
        res = client.get("/status" + ("?lang=en" if lang == "en" else ""))
        assert res.status_code == 200
        return res.text


def test_nothing_monitored_nothing_reported(helpdesk: Helpdesk) -> None:
    data = status.snapshot(helpdesk.engine, utcnow(), TZ)
    assert data["overall"] == "unmonitored" and data["unmonitored"] == 12
    assert {x["state"] for x in data["services"]} == {"unmonitored"}
    page = _page(helpdesk)
    assert t("status.all_up") not in page and t("status.none_monitored") in page


def test_a_user_report_is_a_disruption_of_an_unmonitored_service(helpdesk: Helpdesk) -> None:
    now = utcnow()
    with session_scope(helpdesk.engine) as s:
        user = _user(s)
        for minutes, title in ((90, "SIMPEG tidak bisa dibuka"), (30, "SIMPEG error 500")):
            tickets.open_ticket(
                s,
                type_="gangguan",
                title=title,
                service_id="simpeg",
                reporter=user,
                now=now - timedelta(minutes=minutes),
            )
        # a service request and a resolved incident are no disruption
        tickets.open_ticket(
            s, type_="permintaan", title="akun baru", service_id="email", reporter=user, now=now
        )
        done = tickets.open_ticket(
            s, type_="gangguan", title="presensi", service_id="presensi", reporter=user, now=now
        )
        tech = next(p for p in s.exec(select(Person)) if "pengelola_teknis" in p.roles)
        tickets.resolve(
            s, done, Actor(tech), resolution="server dimulai ulang", root_cause="memori", now=now
        )
    data = status.snapshot(helpdesk.engine, now, TZ)
    states = {x["id"]: x["state"] for x in data["services"]}
    assert states["simpeg"] == "reported"
    assert states["email"] == states["presensi"] == "unmonitored"
    assert data["overall"] == "reported"
    # two open reports on SIMPEG, the first 90 minutes ago
    assert [(r["service"], r["count"]) for r in data["reported"]] == [("simpeg", 2)]
    assert data["reported"][0]["since"] == (now - timedelta(minutes=90)).isoformat()
    page = _page(helpdesk)
    assert t("status.all_up") not in page and t("status.some_reported") in page
    assert "Sistem Informasi Kepegawaian" in page
    assert "gangguan dilaporkan pengguna sejak" in page
    english = _page(helpdesk, "en")
    assert t("status.some_reported", "en") in english and "reported by users since" in english


def test_monitoring_incident_is_down_not_reported(helpdesk: Helpdesk) -> None:
    now = utcnow()
    since = now - timedelta(days=10)
    with session_scope(helpdesk.engine) as s:
        st = ServiceState(service_id="vpn", state="up", since=since, monitored_since=since)
        s.add(st)
        email = ServiceState(service_id="email", state="up", since=since, monitored_since=since)
        s.add(email)
        s.flush()
        # e-mail: 72 min down 2 days ago, of 10 days monitored → 100 × (1 − 72/14,400) = 99.5 %
        outages.change(
            s, email, "down", now - timedelta(days=2), source="probe", reason="x",
            planned=False, tz=TZ,
        )  # fmt: skip
        outages.change(
            s, email, "up", now - timedelta(days=2) + timedelta(minutes=72), source="probe",
            reason=None, planned=False, tz=TZ,
        )  # fmt: skip
        outages.change(s, st, "down", now, source="probe", reason="x", planned=False, tz=TZ)
    data = status.snapshot(helpdesk.engine, now, TZ)
    states = {x["id"]: x["state"] for x in data["services"]}
    assert states["vpn"] == "down" and states["email"] == "up"
    assert data["reported"] == [] and data["overall"] == "down"
    assert data["unmonitored"] == 10
    # the page is read a moment after `now`: 72 min of just over 14,400 still shows 99,50
    assert "99,50% dalam 90 hari · target 99,5%" in _page(helpdesk)
    assert "99.50% over 90 days · target 99.5%" in _page(helpdesk, "en")


def test_all_monitored_up_but_some_unmonitored(helpdesk: Helpdesk) -> None:
    now = utcnow()
    with session_scope(helpdesk.engine) as s:
        s.add(ServiceState(service_id="vpn", state="up", since=now, monitored_since=now))
    data = status.snapshot(helpdesk.engine, now, TZ)
    assert data["overall"] == "up" and data["unmonitored"] == 11
    page = _page(helpdesk)
    assert t("status.monitored_up", n=11) in page and t("status.all_up") not in page


def test_availability_report_on_a_default_install(helpdesk: Helpdesk) -> None:
    """Nothing monitored: every service listed as not monitored, and the incidents users
    reported that were open in November noted under their service."""
    from datetime import UTC, date, datetime

    from bot.reports import build_report, to_html

    nov = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
    with session_scope(helpdesk.engine) as s:
        user = _user(s)
        tech = next(p for p in s.exec(select(Person)) if "pengelola_teknis" in p.roles)

        def report(service: str, at: datetime) -> str:
            ticket = tickets.open_ticket(
                s, type_="gangguan", title="x", service_id=service, reporter=user, now=at
            )
            return ticket.number

        open_in_nov = report("simpeg", nov)  # still open
        from_october = report("simpeg", nov - timedelta(days=20))  # open into November
        old = report("presensi", nov - timedelta(days=40))  # resolved in October
        done = s.exec(select(Ticket).where(Ticket.number == old)).one()
        tickets.resolve(
            s, done, Actor(tech), resolution="server dimulai ulang", root_cause="memori",
            now=nov - timedelta(days=35),
        )  # fmt: skip
        report("presensi", datetime(2026, 12, 2, 3, 0, tzinfo=UTC))  # after November
    with Session(helpdesk.engine) as s:
        result = build_report(
            "availability",
            s,
            start=date(2026, 11, 1),
            end=date(2026, 11, 30),
            tz=TZ,
            now=datetime(2026, 12, 3, 3, 0, tzinfo=UTC),
        )
    rows = result.tables[0].rows
    assert len(rows) == 12 and {r[-1] for r in rows} == {"tidak dipantau"}
    assert all(r[2:7] == [None] * 5 for r in rows)
    assert result.notes == [
        t("reports.availability.none_monitored"),
        t(
            "reports.availability.reported_unmonitored_note",
            service="Sistem Informasi Kepegawaian (SIMPEG)",
            n="2",
            numbers=f"{from_october}, {open_in_nov}",
        ),
    ]
    assert not result.charts
    html = to_html(result)
    assert html.count("<td>tidak dipantau</td>") == 12 and open_in_nov in html
