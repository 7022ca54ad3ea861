"""A document a web chat turn produced links to one route, live and after a reload; the
link serves its own session only, and says so once it has expired."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select
from starlette.testclient import TestClient

from bot.core import people, web_history
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import Person, WebChatLine

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(helpdesk: Helpdesk):  # type: ignore[no-untyped-def]
    return create_app(helpdesk, run_jobs=False)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        c.get("/chat")
        yield c


def post(client: TestClient, **body: object) -> list[dict]:  # type: ignore[type-arg]
    res = client.post("/api/chat", json=body)
    assert res.status_code == 200, res.text
    replies: list[dict] = res.json()["replies"]  # type: ignore[type-arg]
    return replies


def link_as_coordinator(client: TestClient, helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        person = s.exec(select(Person).where(Person.email.is_not(None))).all()  # type: ignore[union-attr]
        coordinator = next(p for p in person if "koordinator_layanan" in p.roles)
        code = people.issue_link_code(s, coordinator, ttl=timedelta(minutes=15))
    assert "tertaut" in post(client, text=f"/tautkan {code}")[0]["text"]


def test_the_live_link_and_the_history_link_are_one_route(
    client: TestClient, helpdesk: Helpdesk, app
) -> None:  # type: ignore[no-untyped-def]
    link_as_coordinator(client, helpdesk)
    (reply,) = [r for r in post(client, text="/laporan katalog") if r["document"]]
    document = reply["document"]
    assert document["name"].endswith(".pdf") and document["url"].startswith("/api/chat/documents/")
    got = client.get(document["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    assert got.content == base64.b64decode(document["data"])
    assert "attachment" in got.headers["content-disposition"]
    # after a reload the history links to the same route, and it still serves the bytes
    lines = client.get("/api/chat/history").json()["lines"]
    (kept,) = [x["document"] for x in lines if x["document"]]
    assert kept == {
        "name": document["name"],
        "data": None,
        "url": document["url"],
        "expired": False,
    }
    assert client.get(kept["url"]).content == got.content
    # another session (another browser) does not find it; another site may not ask
    with TestClient(app) as other:
        other.get("/chat")
        assert other.get(document["url"]).status_code == 404
    foreign = client.get(document["url"], headers={"Sec-Fetch-Site": "cross-site"})
    assert foreign.status_code == 403


def test_an_expired_link_says_so_in_the_history_and_at_the_route(
    client: TestClient, helpdesk: Helpdesk
) -> None:
    link_as_coordinator(client, helpdesk)
    (reply,) = [r for r in post(client, text="/laporan katalog") if r["document"]]
    url = reply["document"]["url"]
    with session_scope(helpdesk.engine) as s:  # the link's time runs out
        s.execute(sa.update(WebChatLine).values(document_until=T0))
    gone = client.get(url)
    assert gone.status_code == 410 and "kedaluwarsa" in gone.text
    lines = client.get("/api/chat/history").json()["lines"]
    (kept,) = [x["document"] for x in lines if x["document"]]
    assert kept["url"] is None and kept["expired"] is True
    assert kept["name"] == reply["document"]["name"]
    page = client.get("/chat").text  # the page has the words to say it
    assert "tautan unduhan sudah kedaluwarsa" in page


def test_the_bytes_go_once_the_link_expired(helpdesk: Helpdesk) -> None:
    line = web_history.Line("bot", "Laporan", document="a.pdf", document_data=b"%PDF-1")
    with session_scope(helpdesk.engine) as s:
        (first,) = web_history.record(s, "k", [line], T0)
        assert web_history.document(s, "k", first, T0 + timedelta(hours=1)) == ("a.pdf", b"%PDF-1")
        assert web_history.document(s, "other", first, T0) is None
        later = T0 + web_history.DOCUMENT_TTL + timedelta(minutes=1)
        assert web_history.document(s, "k", first, later) == ("a.pdf", None)
        (shown,) = web_history.recent(s, "k", later)
        assert shown.document_expired and shown.id == first
        web_history.record(s, "k", [web_history.Line("user", "lagi")], later)  # the next turn
    with session_scope(helpdesk.engine) as s:
        row = s.get(WebChatLine, first)
        assert row is not None and row.document == "a.pdf" and row.document_data is None
