"""Availability figures from recorded outages and windows, /ketersediaan in chat, and the
Alertmanager webhook (token, firing, resolved)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bot.core import availability, maintenance, outages
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import Outage, ServiceState, Ticket
from tests.helpers import Chat

WIB = ZoneInfo("Asia/Jakarta")
TZ = "Asia/Jakarta"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=WIB)


def test_split_days_at_local_midnight() -> None:
    assert availability.split_days(at(2, 23, 30), at(3, 0, 45), TZ) == [
        (dt.date(2026, 3, 2), 1800),
        (dt.date(2026, 3, 3), 2700),
    ]
    assert availability.split_days(at(2, 1), at(2, 1), TZ) == []


def down_between(
    helpdesk: Helpdesk, service_id: str, start: dt.datetime, end: dt.datetime | None
) -> None:
    with session_scope(helpdesk.engine) as s:
        st = outages.state_of(s, service_id, start)
        planned = bool(outages.in_maintenance(s, [service_id], start))
        outages.change(s, st, "down", start, source="probe", reason="test", planned=planned, tz=TZ)
        if end is not None:
            outages.change(s, st, "up", end, source="probe", reason=None, planned=False, tz=TZ)


def test_figures_with_and_without_maintenance(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        s.add(ServiceState(service_id="vpn", state="up", since=at(1, 0), monitored_since=at(1, 0)))
        maintenance.schedule(s, None, ["vpn"], at(3, 22), at(4, 0), "x", now=at(1, 0))
    down_between(helpdesk, "vpn", at(2, 10), at(2, 10, 30))  # unplanned: 30 min
    down_between(helpdesk, "vpn", at(3, 23), at(3, 23, 30))  # inside the window: planned, 30 min
    maintenance.maintenance_tick(helpdesk.engine, at(4, 0, 1))
    down_between(helpdesk, "vpn", at(4, 11), None)  # still open at "now"
    now = at(4, 12)
    with Session(helpdesk.engine) as s:
        month = availability.figures(s, at(1, 0), now, now, TZ)["vpn"]
        day = availability.figures(s, at(4, 0), now, now, TZ)["vpn"]
        bars = availability.daily(s, now, TZ, days=5)["vpn"]
    period = (now - at(1, 0)).total_seconds()
    assert (month.down_s, month.planned_down_s, month.maintenance_s) == (5400, 1800, 7200)
    assert month.without_maintenance == pytest.approx(100 * (1 - 5400 / (period - 7200)))
    assert month.with_maintenance == pytest.approx(100 * (1 - 7200 / period))
    assert month.target == 99.0 and month.meets_target is False
    assert day.down_s == 3600 and day.without_maintenance == pytest.approx(
        100 * (1 - 3600 / (12 * 3600))
    )
    assert [b.day for b in bars] == [dt.date(2026, 2, 28) + dt.timedelta(days=i) for i in range(5)]
    assert bars[0].availability is None  # before monitoring began
    assert bars[2].availability == pytest.approx(100 * (1 - 1800 / 86400))
    assert bars[3].maintenance_s == 7200 and bars[3].availability == 100.0


def test_availability_in_chat(helpdesk: Helpdesk, chat: Chat) -> None:
    with session_scope(helpdesk.engine) as s:
        s.add(ServiceState(service_id="vpn", state="up", since=at(1, 0), monitored_since=at(1, 0)))
        s.add(
            ServiceState(service_id="email", state="up", since=at(1, 0), monitored_since=at(1, 0))
        )
    down_between(helpdesk, "vpn", at(2, 10), None)
    now = at(2, 12)
    chat.say("/ketersediaan", now=now)
    assert (
        "Akses Jarak Jauh (VPN)" in chat.text
        and "di bawah target" in chat.text
        and "100,00%" in chat.text
    )
    chat.say("/ketersediaan vpn", now=now)
    assert (
        "Hari ini" in chat.text
        and "Bulan ini" in chat.text
        and "Gangguan berjalan sejak" in chat.text
    )
    chat.say("/availability wifi", now=now)
    assert "belum dipantau" in chat.text
    chat.say("/language en")
    chat.say("/availability vpn", now=now)
    assert "excluding maintenance" in chat.text


def test_alertmanager_webhook(helpdesk: Helpdesk) -> None:
    helpdesk.settings.alertmanager_token = SecretStr("s3cret")
    app = create_app(helpdesk, run_jobs=False)

    def body(status: str, fp: str, service: str = "sso") -> dict[str, object]:
        return {
            "version": "4",
            "status": status,
            "alerts": [
                {
                    "status": status,
                    "labels": {"alertname": "SSOLoginFailing", "service": service},
                    "annotations": {"summary": "login gagal"},
                    "startsAt": "2026-03-02T01:00:00Z",
                    "endsAt": "2026-03-02T01:20:00Z"
                    if status == "resolved"
                    else "0001-01-01T00:00:00Z",
                    "fingerprint": fp,
                }
            ],
        }

    with TestClient(app) as client:
        assert client.post("/alerts/alertmanager", json=body("firing", "a")).status_code == 401
        bad = client.post(
            "/alerts/alertmanager",
            json=body("firing", "a"),
            headers={"Authorization": "Bearer nope"},
        )
        assert bad.status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert client.post("/alerts/alertmanager", content=b"{", headers=auth).status_code == 400

        def post(status: str, fp: str, service: str = "sso") -> None:
            """Stored and acknowledged at once; applied by the inbox's worker."""
            r = client.post("/alerts/alertmanager", json=body(status, fp, service), headers=auth)
            assert r.status_code == 200 and r.json() == {"status": "accepted"}
            client.portal.call(app.state.intake.idle)

        def outages() -> list[tuple[str, bool]]:
            with Session(helpdesk.engine) as s:
                return [(o.service_id, o.ended_at is None) for o in s.exec(select(Outage))]

        post("firing", "a")
        assert outages() == [("sso", True)]  # opened
        post("firing", "b")
        assert outages() == [("sso", True)]  # the same outage
        post("firing", "x", "nope")
        assert outages() == [("sso", True)]  # an unknown service is ignored
        post("resolved", "a")
        assert outages() == [("sso", True)]  # b still fires: nothing closed
        with Session(helpdesk.engine) as s:
            outage = s.exec(select(Outage)).one()
            assert (
                outage.ended_at is None
                and outage.source == "alertmanager"
                and outage.external_keys == ["b"]
            )
            ticket = s.get(Ticket, outage.ticket_id)
            assert ticket is not None and ticket.priority == 1  # SSO is critical
        post("resolved", "b")
        assert outages() == [("sso", False)]  # closed
    with Session(helpdesk.engine) as s:
        outage = s.exec(select(Outage)).one()
        assert outage.started_at == dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
        assert (
            outage.ended_at == dt.datetime(2026, 3, 2, 1, 20, tzinfo=dt.UTC)
            and outage.duration_s == 1200
        )
        assert s.get(ServiceState, "sso").state == "up"  # type: ignore[union-attr]
