"""Request bodies are refused by their declared length before anything reads them, and
cut at the route's limit while they stream in (bot.web.limits), on every POST route:
the web chat, Slack events, the Telegram webhook and Alertmanager. Our app runs under
uvicorn on 127.0.0.1 with the platforms faked, and is spoken to over raw sockets, so a
body can be announced and never sent, or streamed without an end."""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from bot.channels import slack, telegram, webchat
from bot.runtime import Helpdesk
from bot.web import alertmanager_hook
from bot.web.app import create_app
from bot.web.limits import DEFAULT_LIMIT
from tests.channels.fake_slack import SECRET as SLACK_SECRET
from tests.channels.fake_slack import TOKEN as SLACK_TOKEN
from tests.channels.fake_slack import FakeSlack, signed_headers
from tests.channels.fake_telegram import FakeBotApi
from tests.servers import serve

TG_SECRET = "s3cret-webhook_token"
AM_TOKEN = "am-s3cret"
HUGE = 250 * 1024 * 1024
CHUNK = 64 * 1024
POST_ROUTES = ["/api/chat", "/slack/events", "/telegram/webhook", "/alerts/alertmanager"]


@pytest.fixture
def base(helpdesk: Helpdesk) -> Iterator[str]:
    """Every channel with HTTP routes, in one app."""
    with FakeSlack() as fake_slack:
        api = FakeBotApi().start()
        settings = helpdesk.settings.model_copy(
            update={
                "slack_bot_token": SecretStr(SLACK_TOKEN),
                "slack_signing_secret": SecretStr(SLACK_SECRET),
                "slack_api_base_url": fake_slack.base_url,
                "telegram_bot_token": SecretStr(api.token),
                "telegram_api_base_url": api.url,
                "telegram_webhook_url": "https://helpdesk.example.go.id/telegram/webhook",
                "telegram_webhook_secret": SecretStr(TG_SECRET),
                "alertmanager_token": SecretStr(AM_TOKEN),
            }
        )
        app = create_app(
            dataclasses.replace(helpdesk, settings=settings),
            channels=[webchat.SPEC, slack.SPEC, telegram.SPEC],
            run_jobs=False,
        )
        try:
            with serve(app) as url:
                yield url
        finally:
            api.stop()


def exchange(
    url: str, head: str, chunks: Iterable[bytes] = (), timeout: float = 20.0
) -> tuple[int, bytes]:
    """Send a request head (and any body chunks as given, possibly not the whole body),
    then read the answer without finishing the body: the status and what came back."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1"))
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed mid-upload: that is the point
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        except ConnectionResetError:
            pass
    assert received.startswith(b"HTTP/1.1 "), received[:200]
    return int(received.split(b" ", 2)[1]), received


def head(path: str, headers: dict[str, str]) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


def auth_headers(path: str, base: str) -> dict[str, str]:
    """What a genuine sender would send, so only the size can be the reason to refuse
    (the web chat's session is one the server issued, as a browser gets it)."""
    if path == "/telegram/webhook":
        return {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    if path == "/alerts/alertmanager":
        return {"Authorization": f"Bearer {AM_TOKEN}"}
    if path == "/api/chat":
        issued = httpx.get(f"{base}/chat").cookies[webchat.COOKIE]
        return {"Cookie": f"{webchat.COOKIE}={issued}", "Content-Type": "application/json"}
    return {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"}


@pytest.mark.parametrize("path", POST_ROUTES)
def test_a_huge_content_length_is_refused_before_the_body(base: str, path: str) -> None:
    headers = {**auth_headers(path, base), "Content-Type": "application/json"}
    status, _ = exchange(base, head(path, {**headers, "Content-Length": str(HUGE)}))
    assert status == 413  # answered although not one byte of the body was sent


def test_other_routes_have_the_small_default(base: str) -> None:
    status, _ = exchange(base, head("/healthz", {"Content-Length": str(DEFAULT_LIMIT + 1)}))
    assert status == 413


def test_a_malformed_content_length_is_refused(base: str) -> None:
    status, _ = exchange(base, head("/api/chat", {"Content-Length": "12abc"}))
    assert status == 400


def chunked(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield f"{CHUNK:x}\r\n".encode() + b"[" * CHUNK + b"\r\n"
        sent += CHUNK


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/chat", DEFAULT_LIMIT),
        ("/slack/events", slack.SPEC.body_limits["/slack/events"]),
        ("/telegram/webhook", telegram.SPEC.body_limits["/telegram/webhook"]),
        ("/alerts/alertmanager", alertmanager_hook.BODY_LIMITS["/alerts/alertmanager"]),
    ],
)
def test_a_streamed_body_is_cut_at_the_limit(base: str, path: str, limit: int) -> None:
    headers = {**auth_headers(path, base), "Transfer-Encoding": "chunked"}
    # two chunks past the limit, and no final chunk: a 413 can only come from the count
    status, _ = exchange(base, head(path, headers), chunked(limit + 2 * CHUNK))
    assert status == 413


def test_telegram_refuses_a_wrong_secret_before_reading(base: str) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong", "Content-Length": "1000"}
    status, _ = exchange(base, head("/telegram/webhook", headers))  # the body never comes
    assert status == 403


def test_streamed_bodies_under_the_limit_still_work(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/chat")

        def body() -> Iterator[bytes]:
            yield b'{"text": '
            yield json.dumps("a" * 30000).encode()
            yield b"}"

        res = client.post("/api/chat", content=body(), headers={"Content-Type": "application/json"})
        assert res.status_code == 200, res.text
        event = json.dumps({"token": "x", "challenge": "c1", "type": "url_verification"})
        signed = signed_headers(event.encode())
        res = client.post("/slack/events", content=iter([event.encode()]), headers=signed)
        assert res.status_code == 200 and res.json() == {"challenge": "c1"}
