"""Web chat sessions against fixation and cheap abuse: a new token when the session is
linked to a person, the `__Host-` cookie behind HTTPS, a notices poll that only our page's
script may make, polls that mostly only read, IPv6 addresses counted by their /64, the
proxy's X-Forwarded-For trusted as configured, and the body limit of /api/chat."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from sqlmodel import Session, select
from starlette.requests import Request
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bot.channels import webchat
from bot.cli import app as cli
from bot.config import Settings
from bot.core import notices, people, web_sessions
from bot.core.web_sessions import SessionPolicy
from bot.runtime import Helpdesk
from bot.web.app import create_app
from bot.web.limits import DEFAULT_LIMIT
from storage.db import session_scope
from storage.models import Conversation, Identity, Notice, Person, WebSession
from tests.helpers import Chat
from tests.unit.test_cli import env

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
COOKIE = "hd_sid"


@pytest.fixture
def client(helpdesk: Helpdesk) -> Iterator[TestClient]:
    with TestClient(create_app(helpdesk, run_jobs=False)) as c:
        yield c


def link_code(helpdesk: Helpdesk, email: str) -> tuple[str, int]:
    with session_scope(helpdesk.engine) as s:
        person = s.exec(select(Person).where(Person.email == email)).one()
        assert person.id is not None
        return people.issue_link_code(s, person, ttl=timedelta(minutes=15)), person.id


def pending_notice(helpdesk: Helpdesk, target: str, text: str) -> None:
    with session_scope(helpdesk.engine) as s:
        notices.enqueue(
            s,
            channel="web",
            target=target,
            kind="test",
            payload={"text": text},
            dedupe_key=f"test:{target}:{text}",
        )


def say(client: TestClient, token: str, text: str) -> Any:
    client.cookies.set(COOKIE, token)
    return client.post("/api/chat", json={"text": text})


# -- 1a: a link issues a new token --------------------------------------------------------


def test_a_planted_token_does_not_follow_the_link(client: TestClient, helpdesk: Helpdesk) -> None:
    planted = client.get("/chat").cookies[COOKIE]  # the attacker's real, server-issued token
    old = web_sessions.chat_key(planted)
    assert say(client, planted, "/bantuan").status_code == 200  # a conversation row exists
    pending_notice(helpdesk, old, "waiting for the chat")
    code, person_id = link_code(helpdesk, Chat.technician_of(helpdesk, "vpn"))

    res = say(client, planted, f"/tautkan {code}")  # the victim links in that browser
    assert res.status_code == 200
    fresh = res.cookies[COOKIE]
    assert fresh != planted
    new = web_sessions.chat_key(fresh)

    assert say(client, planted, "/antrian").json()["reload"] is True  # the attacker: 401
    client.cookies.set(COOKIE, planted)
    assert client.get("/api/chat/notices").status_code == 401
    with Session(helpdesk.engine) as s:
        (ident,) = s.exec(select(Identity).where(Identity.channel == "web")).all()
        assert (ident.external_id, ident.person_id) == (new, person_id)
        assert s.exec(select(Conversation).where(Conversation.chat_id == old)).all() == []
        assert s.exec(select(Conversation).where(Conversation.chat_id == new)).one()
        (notice,) = s.exec(select(Notice).where(Notice.channel == "web")).all()
        assert (notice.target, notice.status) == (new, "pending")
        old_row, new_row = s.get(WebSession, old), s.get(WebSession, new)
        assert old_row is not None and old_row.ended_at is not None
        assert old_row.person_id is None
        assert new_row is not None and new_row.ended_at is None
        assert new_row.person_id == person_id
    # the victim's browser goes on with the new cookie, as the person
    client.cookies.set(COOKIE, fresh)
    polled = client.get("/api/chat/notices").json()["replies"]
    assert [r["text"] for r in polled] == ["waiting for the chat"]
    res = say(client, fresh, "/antrian")
    assert res.status_code == 200 and COOKIE not in res.cookies  # nothing changed: no rotation
    assert "hanya untuk pengelola teknis" not in res.json()["replies"][0]["text"]


def test_a_refused_code_keeps_the_session(client: TestClient) -> None:
    token = client.get("/chat").cookies[COOKIE]
    res = say(client, token, "/tautkan WRONGCOD")
    assert res.status_code == 200 and COOKIE not in res.cookies
    assert say(client, token, "/bantuan").status_code == 200


def test_rotate_needs_a_live_session(helpdesk: Helpdesk) -> None:
    policy = SessionPolicy()
    with session_scope(helpdesk.engine) as s:
        token = web_sessions.issue(s, policy, NOW)
        key = web_sessions.chat_key(token)
        assert web_sessions.rotate(s, "no-such-key", policy, NOW) is None
        web_sessions.end(s, key, NOW)
        assert web_sessions.rotate(s, key, policy, NOW) is None


# -- 1b: the cookie's name behind HTTPS ---------------------------------------------------


def test_behind_https_the_cookie_is_host_prefixed(helpdesk: Helpdesk) -> None:
    settings = helpdesk.settings.model_copy(update={"public_url": "https://helpdesk.example"})
    app = create_app(dataclasses.replace(helpdesk, settings=settings), run_jobs=False)
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get("/chat")
        header = page.headers["set-cookie"]
        assert header.startswith("__Host-hd_sid=")
        attributes = [a.strip().lower() for a in header.split(";")[1:]]
        assert "secure" in attributes and "path=/" in attributes
        assert not any(a.startswith("domain") for a in attributes)
        token = page.cookies["__Host-hd_sid"]
        assert client.post("/api/chat", json={"text": "/bantuan"}).status_code == 200
        # a plain hd_sid (a sibling domain can set that one) is not read at all
        client.cookies.clear()
        client.cookies.set(COOKIE, token)
        assert client.post("/api/chat", json={"text": "/bantuan"}).status_code == 401


# -- 2: the notices poll is our page's fetch only ------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"},  # a typed or pasted URL
        {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "same-site"},  # a sibling's <img>
        {"Origin": "https://evil.example"},
    ],
)
def test_the_poll_refuses_navigations_and_other_sites(
    client: TestClient, headers: dict[str, str]
) -> None:
    token = client.get("/chat").cookies[COOKIE]
    helpdesk = client.app.state.helpdesk  # type: ignore[attr-defined]
    pending_notice(helpdesk, web_sessions.chat_key(token), "kept")
    assert client.get("/api/chat/notices", headers=headers).status_code == 403
    ours = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}
    replies = client.get("/api/chat/notices", headers=ours).json()["replies"]
    assert [r["text"] for r in replies] == ["kept"]  # nothing was taken by the refused one


# -- 3: polls mostly only read -------------------------------------------------------------


def last_seen(helpdesk: Helpdesk, token: str) -> datetime:
    with Session(helpdesk.engine) as s:
        row = s.get(WebSession, web_sessions.chat_key(token))
        assert row is not None
        return row.last_seen_at.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("idle", "quiet", "writes"),
    [
        (timedelta(days=30), timedelta(seconds=60), timedelta(seconds=61)),  # a minute
        (timedelta(hours=1), timedelta(seconds=36), timedelta(seconds=37)),  # 1 % of the idle
    ],
)
def test_touch_writes_at_most_once_a_minute(
    helpdesk: Helpdesk, idle: timedelta, quiet: timedelta, writes: timedelta
) -> None:
    policy = SessionPolicy(idle=idle)
    with session_scope(helpdesk.engine) as s:
        token = web_sessions.issue(s, policy, NOW)
    for step in (timedelta(seconds=5), quiet):
        with session_scope(helpdesk.engine) as s:
            assert web_sessions.touch(s, token, policy, NOW + step)
            assert not s.dirty  # nothing to write
        assert last_seen(helpdesk, token) == NOW
    with session_scope(helpdesk.engine) as s:
        assert web_sessions.touch(s, token, policy, NOW + writes)
    assert last_seen(helpdesk, token) == NOW + writes


# -- 4: IPv6 by its /64 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "counted"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_client_address_counts_ipv6_by_its_64(peer: str, counted: str) -> None:
    request = Request({"type": "http", "client": (peer, 50000), "headers": []})
    assert webchat.client_address(request) == counted


def test_a_session_records_the_64(helpdesk: Helpdesk) -> None:
    with TestClient(
        create_app(helpdesk, run_jobs=False), client=("2001:db8:1:2:aaaa::9", 50000)
    ) as client:
        token = client.get("/chat").cookies[COOKIE]
    with Session(helpdesk.engine) as s:
        row = s.get(WebSession, web_sessions.chat_key(token))
        assert row is not None and row.address == "2001:db8:1:2::/64"


# -- 5: the proxy's X-Forwarded-For ---------------------------------------------------------


def test_forwarded_allow_ips_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().forwarded_allow_ips == "127.0.0.1"  # uvicorn's own default
    monkeypatch.setenv("HELPDESK_FORWARDED_ALLOW_IPS", "10.0.0.5,10.0.0.6")
    assert Settings().forwarded_allow_ips == "10.0.0.5,10.0.0.6"


def test_helpdesk_run_trusts_the_configured_proxy(
    helpdesk: Helpdesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    passed: dict[str, Any] = {}

    def run(app: Any, **kwargs: Any) -> None:  # uvicorn's entry point, not ours
        passed.update(kwargs)
        config = uvicorn.Config(app, **kwargs)  # uvicorn accepts what we pass
        config.load()
        passed["config"] = config

    monkeypatch.setattr(uvicorn, "run", run)
    result = CliRunner().invoke(
        cli,
        ["run", "--port", "18099"],
        env={**env(helpdesk.settings), "HELPDESK_FORWARDED_ALLOW_IPS": "10.0.0.5"},
    )
    assert result.exit_code == 0, result.output
    assert passed["proxy_headers"] is True and passed["forwarded_allow_ips"] == "10.0.0.5"
    assert passed["port"] == 18099
    config = passed["config"]
    assert config.proxy_headers and config.forwarded_allow_ips == "10.0.0.5"


# -- 6: /api/chat's body limit is the web app's ---------------------------------------------


def test_a_chat_message_over_64_kib_is_refused(client: TestClient) -> None:
    client.get("/chat")
    body = b'{"text": "' + b"a" * (DEFAULT_LIMIT - 12) + b'"}'
    assert len(body) == DEFAULT_LIMIT
    headers = {"Content-Type": "application/json"}
    assert client.post("/api/chat", content=body, headers=headers).status_code == 200
    over = body[:-2] + b'a"}'
    assert len(over) == DEFAULT_LIMIT + 1
    assert client.post("/api/chat", content=over, headers=headers).status_code == 413
