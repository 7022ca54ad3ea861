"""The web chat's history: what the page showed comes back after a reload, the flow in
progress goes on, and the lines move with a rotated session and go with an ended one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from bot.core import people
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import Person, WebChatLine
from tests.helpers import Chat

DESCRIPTION = "Aplikasi tidak bisa dibuka sejak pagi, muncul pesan galat 502"


@pytest.fixture
def client(helpdesk: Helpdesk) -> Iterator[TestClient]:
    with TestClient(create_app(helpdesk, run_jobs=False)) as c:
        c.get("/chat")
        yield c


def post(client: TestClient, **body: object) -> list[dict[str, object]]:
    res = client.post("/api/chat", json=body)
    assert res.status_code == 200, res.text
    replies: list[dict[str, object]] = res.json()["replies"]
    return replies


def test_history_returns_lines_with_buttons_and_the_report_goes_on(
    client: TestClient, helpdesk: Helpdesk
) -> None:
    assert client.get("/api/chat/history").json() == {"lang": "id", "lines": []}
    post(client, text="/bahasa id", quiet=True)  # the page setting its language: not shown
    post(client, text=f"/lapor {DESCRIPTION}")
    service = next(a for a in helpdesk.kb.matcher().articles if a.service).service
    post(client, action=f"svc:{service}", label="Layanan X")
    lines = client.get("/api/chat/history").json()["lines"]
    # 2 turns × (the visitor's line + 1 reply) = 4 lines; the quiet turn adds none
    assert len(lines) == 4
    assert [x["who"] for x in lines] == ["user", "bot", "user", "bot"]
    assert lines[0]["text"] == f"/lapor {DESCRIPTION}"
    assert lines[2]["text"] == "Layanan X"  # a button press shows its label
    actions = [c["action"] for c in lines[3]["choices"]]
    assert actions == ["type:gangguan", "type:permintaan", "type:keluhan", "cancel"]
    # a "reload" (the same cookie) continues the report where it stood
    post(client, action="type:gangguan", label="Gangguan")
    post(client, action="imp:2", label="x")
    post(client, action="urg:1", label="x")
    post(client, text="Budi Santoso")  # an unlinked web reporter says how to be reached
    replies = post(client, text="budi@instansi.go.id")
    assert "Kirim laporan ini?" in str(replies[0]["text"])
    replies = post(client, action="rep:send", label="Kirim")
    assert "INC-" in str(replies[0]["text"])
    # 8 turns × 2 lines = 16
    assert len(client.get("/api/chat/history").json()["lines"]) == 16


def test_history_is_for_the_page_only(client: TestClient) -> None:
    res = client.get("/api/chat/history", headers={"sec-fetch-site": "cross-site"})
    assert res.status_code == 403
    client.cookies.set("hd_sid", "never-issued")
    assert client.get("/api/chat/history").status_code == 401


def test_bad_fields_are_refused(client: TestClient) -> None:
    assert client.post("/api/chat", json={"text": "halo", "label": 3}).status_code == 400
    assert client.post("/api/chat", json={"text": "halo", "quiet": "ya"}).status_code == 400


def test_lines_move_with_a_rotated_session_and_go_when_it_ends(
    client: TestClient, helpdesk: Helpdesk
) -> None:
    post(client, text="/bantuan")
    email = Chat.technician_of(helpdesk, "vpn")
    with session_scope(helpdesk.engine) as s:
        person = s.exec(select(Person).where(Person.email == email)).one()
        code = people.issue_link_code(s, person, ttl=timedelta(minutes=15))
    before = client.cookies.get("hd_sid")
    post(client, text=f"/tautkan {code}")
    assert client.cookies.get("hd_sid") != before  # rotated
    lines = client.get("/api/chat/history").json()["lines"]
    # /bantuan and /tautkan: 2 turns × 2 lines = 4, all under the new session
    assert len(lines) == 4 and lines[2]["text"] == f"/tautkan {code}"
    post(client, text="/keluar")
    with session_scope(helpdesk.engine) as s:
        assert s.exec(select(WebChatLine)).all() == []  # the ended session's page is gone


def test_old_lines_go_with_retention(helpdesk: Helpdesk) -> None:
    from datetime import UTC, datetime

    from bot.core import retention, web_history

    now = datetime(2026, 6, 1, tzinfo=UTC)
    with session_scope(helpdesk.engine) as s:
        web_history.record(s, "k", [web_history.Line("user", "lama")], now - timedelta(days=91))
        web_history.record(s, "k", [web_history.Line("user", "baru")], now - timedelta(days=89))
    # the default policy keeps 90 days: the line of 91 days ago goes, the one of 89 stays
    counts = retention.prune(helpdesk.engine, now, retention.Policy())
    assert counts["webchat_lines"] == 1
    with session_scope(helpdesk.engine) as s:
        assert [x.text for x in web_history.recent(s, "k")] == ["baru"]


def test_the_page_links_its_favicon_and_labels(client: TestClient) -> None:
    page = client.get("/chat").text
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    assert 'role="log" aria-live="polite"' in page
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_an_answer_committed_by_a_request_that_died_is_shown_on_reload(
    client: TestClient, helpdesk: Helpdesk
) -> None:
    """The request's turn commits, then the request dies before the page gets its answer
    (the process is killed, the connection drops): the turn's lines were written in the
    turn's own transaction, so the reload draws the answer."""
    from bot.channels import webchat
    from bot.core import web_sessions
    from bot.dialogue.messages import Incoming
    from storage.models import utcnow

    sid = web_sessions.chat_key(str(client.cookies.get("hd_sid")))
    now = utcnow()
    msg = Incoming(channel="webchat", chat_id=sid, user_id=sid, text="/bantuan")
    # what post_message runs in its thread; its answer never reaches the page
    answer = helpdesk.conversations.answer(msg, now, record=webchat.recorder(sid, msg.text, now)[0])
    assert answer.replies
    lines = client.get("/api/chat/history").json()["lines"]
    assert [x["who"] for x in lines] == ["user"] + ["bot"] * len(answer.replies)
    assert lines[0]["text"] == "/bantuan"
    assert lines[1]["text"] == answer.replies[0].text
    # a refused turn (rolled back) is recorded on its own, as before
    bad = Incoming(channel="webchat", chat_id=sid, user_id=sid, action="svc:no-such-service")
    refused = helpdesk.conversations.answer(bad, now, record=webchat.recorder(sid, "X", now)[0])
    lines = client.get("/api/chat/history").json()["lines"]
    assert lines[-1]["text"] == refused.replies[-1].text
