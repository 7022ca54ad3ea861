"""/maintenance.ics parsed back with the icalendar package: one VEVENT per window, UIDs
that stay the same across fetches, times in UTC, cancelled windows CANCELLED, and the
per-service feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from icalendar import Calendar
from starlette.testclient import TestClient

from bot.core import maintenance
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import utcnow

WIB = dt.timezone(dt.timedelta(hours=7))
# far enough ahead that the scheduler's "not in the past" holds whenever the test runs
START = dt.datetime(2030, 1, 7, 22, 0, tzinfo=WIB)  # 22:00 WIB = 15:00 UTC


@pytest.fixture
def client(helpdesk: Helpdesk) -> Iterator[TestClient]:
    with TestClient(create_app(helpdesk, run_jobs=False)) as c:
        yield c


def windows(helpdesk: Helpdesk) -> tuple[int, int, int]:
    with session_scope(helpdesk.engine) as s:
        now = utcnow()
        a = maintenance.schedule(
            s, None, ["sso"], START, START + dt.timedelta(hours=2), "SSO off", now=now
        )
        b = maintenance.schedule(
            s,
            None,
            ["vpn", "email"],
            START + dt.timedelta(days=1),
            START + dt.timedelta(days=1, hours=3),
            "patch",
            now=now,
        )
        c = maintenance.schedule(
            s,
            None,
            ["sso"],
            START + dt.timedelta(days=2),
            START + dt.timedelta(days=2, hours=1),
            "later",
            now=now,
        )
        s.flush()
        maintenance.cancel(s, None, c.id or 0, now=now)
        return a.id or 0, b.id or 0, c.id or 0


def events(client: TestClient, query: str = "") -> dict[str, dict[str, object]]:
    res = client.get(f"/maintenance.ics{query}")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(res.content)
    assert str(cal["version"]) == "2.0" and "prodid" in cal
    out = {}
    for ev in cal.walk("VEVENT"):
        out[str(ev["uid"])] = {
            "start": ev.decoded("dtstart"),
            "end": ev.decoded("dtend"),
            "status": str(ev["status"]),
            "summary": str(ev["summary"]),
            "description": str(ev["description"]),
            "raw_start": ev["dtstart"].to_ical(),
        }
    return out


def test_the_feed_holds_every_window_in_utc(client: TestClient, helpdesk: Helpdesk) -> None:
    a, b, c = windows(helpdesk)
    found = events(client)
    host = "127.0.0.1"  # the default public URL's host
    assert set(found) == {f"maintenance-{n}@{host}" for n in (a, b, c)}
    first = found[f"maintenance-{a}@{host}"]
    # 22:00 WIB (UTC+7) is 15:00 UTC; two hours later 17:00 UTC
    assert first["start"] == dt.datetime(2030, 1, 7, 15, 0, tzinfo=dt.UTC)
    assert first["end"] == dt.datetime(2030, 1, 7, 17, 0, tzinfo=dt.UTC)
    assert first["raw_start"] == b"20300107T150000Z"  # written in UTC, with the Z
    assert first["status"] == "CONFIRMED"
    assert first["summary"] == "Pemeliharaan: Akun Tunggal Pegawai (Single Sign-On)"
    assert "SSO off" in first["description"]
    second = found[f"maintenance-{b}@{host}"]
    assert second["start"] == dt.datetime(2030, 1, 8, 15, 0, tzinfo=dt.UTC)  # a day later
    assert second["end"] == dt.datetime(2030, 1, 8, 18, 0, tzinfo=dt.UTC)  # + 3 h
    # both services, by name in alphabetical order
    assert second["summary"] == (
        "Pemeliharaan: Akses Jarak Jauh (VPN), Surat Elektronik Dinas (Surel)"
    )
    assert found[f"maintenance-{c}@{host}"]["status"] == "CANCELLED"


def test_uids_are_stable_across_fetches(client: TestClient, helpdesk: Helpdesk) -> None:
    windows(helpdesk)
    assert events(client) == events(client)


def test_one_service_feed(client: TestClient, helpdesk: Helpdesk) -> None:
    a, b, c = windows(helpdesk)
    host = "127.0.0.1"
    assert set(events(client, "?service=sso")) == {f"maintenance-{n}@{host}" for n in (a, c)}
    assert set(events(client, "?service=email")) == {f"maintenance-{b}@{host}"}
    assert events(client, "?service=vicon") == {}
    assert client.get("/maintenance.ics?service=nope").status_code == 404
