"""The web app over HTTP (Starlette's TestClient runs the lifespan, scheduler included)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from bot.config import Settings
from bot.runtime import Helpdesk, build
from bot.web.app import create_app
from storage.db import make_engine


@pytest.fixture
def client(helpdesk: Helpdesk) -> Iterator[TestClient]:
    with TestClient(create_app(helpdesk)) as c:
        yield c


def say(client: TestClient, **payload: str) -> list[dict]:
    res = client.post("/api/chat", json=payload)
    assert res.status_code == 200, res.text
    return res.json()["replies"]


def test_healthz(client: TestClient) -> None:
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.json()["status"] == "ok"


def test_healthz_reports_an_unreachable_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
        _env_file=None,
    )
    helpdesk = build(settings, upgrade=False, engine=make_engine(settings.resolved_database_url))
    with TestClient(create_app(helpdesk, run_jobs=False)) as c:
        res = c.get("/healthz")
    assert res.status_code == 503 and res.json()["database"] == "unreachable"


def test_chat_page_sets_a_session(client: TestClient) -> None:
    res = client.get("/chat")
    assert res.status_code == 200
    assert "Layanan Bantuan SPBE" in res.text
    assert "hd_sid" in res.cookies
    assert client.get("/chat?lang=en").text.count("SPBE Helpdesk") >= 1


def test_api_needs_the_session_cookie(helpdesk: Helpdesk) -> None:
    with TestClient(create_app(helpdesk, run_jobs=False)) as c:
        res = c.post("/api/chat", json={"text": "halo"})
    assert res.status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[1,2]", 400),
        (b'{"text": 5}', 400),
        (b'{"text": "' + b"a" * 70000 + b'"}', 413),
    ],
)
def test_api_refuses_bad_bodies(client: TestClient, body: bytes, status: int) -> None:
    client.get("/chat")
    res = client.post("/api/chat", content=body, headers={"Content-Type": "application/json"})
    assert res.status_code == status


def test_report_through_the_web_api_and_poll_notices(
    client: TestClient, helpdesk: Helpdesk
) -> None:
    from tests.helpers import Chat

    client.get("/chat")
    replies = say(client, text="/mulai")
    assert any(c["action"] == "menu:report" for r in replies for c in r["choices"])
    say(client, text="/lapor aplikasi presensi tidak bisa dibuka")
    say(client, action="svc:presensi")
    say(client, action="type:gangguan")
    say(client, action="imp:2")
    say(client, action="urg:2")
    say(client, text="Budi Santoso")  # an unlinked web reporter says how to be reached
    say(client, text="budi@instansi.go.id")
    replies = say(client, action="rep:send")
    text = replies[0]["text"]
    assert "INC-" in text
    number = text.split("nomor ")[1].split(" ")[0]
    operator = Chat.as_person(helpdesk, "console", Chat.technician_of(helpdesk, "presensi"))
    operator.say(f"/ambil {number}")
    polled = client.get("/api/chat/notices").json()["replies"]
    assert any(
        number in r["text"] and "dikerjakan" in r["text"] and r["kind"] == "notice" for r in polled
    )
    assert client.get("/api/chat/notices").json()["replies"] == []


def test_root_redirects_to_chat(client: TestClient) -> None:
    res = client.get("/", follow_redirects=False)
    assert res.status_code in (302, 307) and res.headers["location"] == "/chat"


def test_availability_chart_is_served_for_channels_that_link_images(
    client: TestClient, helpdesk: Helpdesk
) -> None:
    from datetime import timedelta

    from storage.db import session_scope
    from storage.models import ServiceState, utcnow

    assert client.get("/charts/availability-7d.png").status_code == 404  # nothing monitored yet
    with session_scope(helpdesk.engine) as s:
        s.add(
            ServiceState(service_id="vpn", state="up", monitored_since=utcnow() - timedelta(days=2))
        )
    res = client.get("/charts/availability-7d.png?scope=vpn")
    assert res.status_code == 200 and res.headers["content-type"] == "image/png"
    assert res.content.startswith(b"\x89PNG")
