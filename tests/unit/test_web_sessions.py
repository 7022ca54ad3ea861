"""Web chat sessions the server issues, their end (/keluar, an admin's /lepaskan, the CLI),
the operator's shorter idle time, and the API's Origin and Content-Type checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.core import web_sessions
from bot.core.web_sessions import SessionPolicy
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import Identity, Person, WebSession
from tests.helpers import Chat
from tests.unit.test_cli import env

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
ADMIN = "wahyu.ramadhan@kementerian.go.id"


@pytest.fixture
def client(helpdesk: Helpdesk) -> Iterator[TestClient]:
    with TestClient(create_app(helpdesk, run_jobs=False)) as c:
        yield c


def test_an_invented_cookie_is_replaced_not_adopted(client: TestClient) -> None:
    client.cookies.set("hd_sid", "my-own-chosen-session-id")
    res = client.post("/api/chat", json={"text": "/bantuan"})
    assert res.status_code == 401 and res.json()["reload"] is True
    assert client.get("/api/chat/notices").status_code == 401
    page = client.get("/chat")
    issued = page.cookies["hd_sid"]
    assert issued != "my-own-chosen-session-id" and len(issued) >= 40
    client.cookies.set("hd_sid", issued)
    assert client.post("/api/chat", json={"text": "/bantuan"}).status_code == 200
    assert "hd_sid" not in client.get("/chat").cookies  # a live session is kept
    with Session(client.app.state.helpdesk.engine) as s:  # type: ignore[attr-defined]
        (row,) = s.exec(select(WebSession)).all()
    assert row.id_hash == web_sessions.chat_key(issued) and issued not in row.id_hash


def test_logout_ends_the_web_session(client: TestClient) -> None:
    client.get("/chat")
    replies = client.post("/api/chat", json={"text": "/keluar"}).json()["replies"]
    assert "Sesi Anda sudah diakhiri" in replies[0]["text"]
    assert client.post("/api/chat", json={"text": "halo"}).status_code == 401
    assert "hd_sid" in client.get("/chat").cookies


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example", "Content-Type": "application/json"}, 403),
        ({"Origin": "null", "Content-Type": "application/json"}, 403),
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({"Origin": "http://127.0.0.1:8080", "Content-Type": "application/json"}, 200),
        ({"Origin": "http://testserver", "Content-Type": "application/json; charset=utf-8"}, 200),
    ],
)
def test_api_takes_json_from_our_origin_only(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    client.get("/chat")
    res = client.post("/api/chat", content=b'{"text": "/bantuan"}', headers=headers)
    assert res.status_code == status, res.text


def test_operator_sessions_expire_sooner(helpdesk: Helpdesk) -> None:
    policy = SessionPolicy(idle=timedelta(days=30), operator_idle=timedelta(hours=2))
    email = Chat.technician_of(helpdesk, "vpn")
    with session_scope(helpdesk.engine) as s:
        visitor = web_sessions.issue(s, policy, NOW)
        operator = web_sessions.issue(s, policy, NOW)
        tech = s.exec(select(Person).where(Person.email == email))
        s.add(
            Identity(
                person_id=tech.one().id, channel="web", external_id=web_sessions.chat_key(operator)
            )
        )
    later = NOW + timedelta(hours=3)
    with session_scope(helpdesk.engine) as s:
        assert web_sessions.touch(s, visitor, policy, later) == web_sessions.chat_key(visitor)
        assert web_sessions.touch(s, operator, policy, later) is None
    with session_scope(helpdesk.engine) as s:
        assert web_sessions.touch(s, visitor, policy, later + timedelta(days=31)) is None
        assert s.exec(select(Identity).where(Identity.channel == "web")).all() == []


def test_logout_elsewhere_unlinks_that_chat_account(helpdesk: Helpdesk) -> None:
    staff = Chat.as_person(helpdesk, "telegram", Chat.technician_of(helpdesk, "vpn"))
    staff.say("/keluar", now=NOW)
    assert "tidak lagi tertaut" in staff.text
    staff.say("/antrian", now=NOW)
    assert "hanya untuk pengelola teknis" in staff.text
    staff.say("/keluar", now=NOW)
    assert "tidak tertaut ke akun pegawai mana pun" in staff.text


def test_admin_unlinks_from_chat_and_others_may_not(helpdesk: Helpdesk, chat: Chat) -> None:
    email = Chat.technician_of(helpdesk, "vpn")
    staff = Chat.as_person(helpdesk, "telegram", email)
    chat.say(f"/lepaskan {email}", now=NOW)
    assert "hanya untuk admin" in chat.text
    admin = Chat.as_person(helpdesk, "console", ADMIN)
    admin.say(f"/lepaskan {email} telegram", now=NOW)
    assert "Tautan 1 akun chat" in admin.text
    staff.say("/antrian", now=NOW)
    assert "hanya untuk pengelola teknis" in staff.text
    admin.say("/lepaskan nobody@x.go.id", now=NOW)
    assert "Tidak ada pegawai" in admin.text


def test_cli_unlinks_a_person(helpdesk: Helpdesk) -> None:
    email = Chat.technician_of(helpdesk, "vpn")
    Chat.as_person(helpdesk, "telegram", email)
    Chat.as_person(helpdesk, "web", email)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["people", "unlink", email, "--channel", "web"], env=env(helpdesk.settings)
    )
    assert result.exit_code == 0 and "unlinked 1 chat account" in result.output, result.output
    result = runner.invoke(cli, ["people", "unlink", email], env=env(helpdesk.settings))
    assert result.exit_code == 0 and "unlinked 1 chat account" in result.output
    with Session(helpdesk.engine) as s:
        person = s.exec(select(Person).where(Person.email == email)).one()
        assert s.exec(select(Identity).where(Identity.person_id == person.id)).all() == []
