"""A local Slack Web API for tests and benchmarks: a real HTTP server on 127.0.0.1
(port 0) that slack_sdk talks to over the wire, recording every call.

It answers auth.test, chat.postMessage, chat.update, chat.postEphemeral, views.open,
views.publish, users.info and conversations.open, accepts posts to response_url paths,
and can be scripted to fail a method (for example 429 with Retry-After).

`SlackHarness` runs our real web app (Starlette TestClient, lifespan included) with the
Slack channel pointed at this server, and sends it signed events, commands and
interactions.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier

BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T0001"
APP_ID = "A0001"
SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)

    def text(self) -> str:
        """Everything this call would show: text, blocks, view, as one JSON string."""
        return json.dumps(self.params, ensure_ascii=False)


@dataclass
class Failure:
    error: str
    status: int
    retry_after: int | None


def _decode(raw: str) -> Any:
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, list[Failure]] = defaultdict(list)
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        #: as Slack does: a message posted to a user id lands in the DM (D…), which its
        #: answer names, and chat.update needs that DM id (a user id is channel_not_found)
        self.dm_channels = False

    # -- scripting ------------------------------------------------------------------

    def add_user(self, user_id: str, *, email: str | None = None, name: str | None = None) -> None:
        profile = {"real_name": name or user_id, "display_name": name or user_id}
        if email:
            profile["email"] = email
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM,
            "name": (name or user_id).lower(),
            "real_name": name or user_id,
            "is_bot": False,
            "deleted": False,
            "profile": profile,
        }

    def fail(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` fail with `error` (429 for ratelimited)."""
        status = status or (429 if error == "ratelimited" else 200)
        with self._lock:
            self._failures[method] += [Failure(error, status, retry_after)] * times

    # -- reading --------------------------------------------------------------------

    def calls_to(self, method: str, where: Callable[[Call], bool] | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (where is None or where(c))]

    def wait_for(
        self,
        method: str,
        where: Callable[[Call], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 15.0,
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls_to(method, where)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [(c.method, c.params.get("channel")) for c in self.calls]
                raise AssertionError(f"no {count}× {method} within {timeout}s; calls: {seen}")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self) -> str:
        return f"{self.url}/response/{uuid.uuid4().hex[:12]}"

    # -- serving --------------------------------------------------------------------

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self)

            def do_POST(self) -> None:
                fake._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-slack", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _params(self, req: BaseHTTPRequestHandler) -> dict[str, Any]:
        url = urlsplit(req.path)
        params: dict[str, Any] = dict(parse_qsl(url.query))
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length).decode() if length else ""
        if raw:
            if "json" in (req.headers.get("Content-Type") or ""):
                params.update(json.loads(raw))
            else:
                params.update({k: _decode(v) for k, v in parse_qsl(raw)})
        return params

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        path = urlsplit(req.path).path
        params = self._params(req)
        if path.startswith("/response/"):
            self._record(Call("response_url", {**params, "_path": path}))
            return self._send(req, 200, b"ok", "text/plain")
        method = path.removeprefix("/api/")
        if (
            not (req.headers.get("Authorization") or "").startswith("Bearer ")
            and "token" not in params
        ):
            self._record(Call(method, params, 200))
            return self._json(req, 200, {"ok": False, "error": "not_authed"})
        with self._lock:
            failure = self._failures[method].pop(0) if self._failures[method] else None
        if failure is not None:
            self._record(Call(method, params, failure.status))
            headers = (
                {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            )
            return self._json(req, failure.status, {"ok": False, "error": failure.error}, headers)
        self._record(Call(method, params))
        self._json(req, 200, self._answer(method, params))

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        ts = f"{1_700_000_000 + next(self._ts)}.000100"
        if method == "auth.test":
            return {
                "ok": True,
                "url": "http://127.0.0.1/",
                "team": "Kementerian Contoh",
                "user": "helpdesk",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            if not p.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            if self.dm_channels and str(p["channel"])[:1] in ("U", "W"):
                if method == "chat.update":
                    return {"ok": False, "error": "channel_not_found"}
                if method == "chat.postMessage":
                    p = {**p, "channel": "D" + str(p["channel"])[1:]}
            if not p.get("text") and not p.get("blocks"):
                return {"ok": False, "error": "no_text"}
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": ts}
            if method == "chat.update":
                return {
                    "ok": True,
                    "channel": p["channel"],
                    "ts": p.get("ts"),
                    "text": p.get("text"),
                }
            return {
                "ok": True,
                "channel": p["channel"],
                "ts": ts,
                "message": {"type": "message", "text": p.get("text"), "ts": ts, "bot_id": BOT_ID},
            }
        if method == "views.open":
            if not p.get("trigger_id"):
                return {"ok": False, "error": "invalid_trigger_id"}
            return {"ok": True, "view": {"id": f"V{next(self._ts)}", **(p.get("view") or {})}}
        if method == "views.publish":
            return {"ok": True, "view": {"id": f"V{next(self._ts)}", **(p.get("view") or {})}}
        if method == "users.info":
            user = self.users.get(str(p.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "conversations.open":
            users = str(p.get("users") or "")
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0].lstrip("U")}}
        return {"ok": False, "error": "unknown_method"}

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _json(
        self,
        req: BaseHTTPRequestHandler,
        status: int,
        data: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        self._send(
            req, status, json.dumps(data).encode(), "application/json; charset=utf-8", headers
        )

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        ctype: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        req.send_response(status)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(body)


# -- signed requests ----------------------------------------------------------------


def signed_headers(
    body: bytes,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> bytes:
    envelope = {
        "token": "legacy",
        "team_id": TEAM,
        "api_app_id": APP_ID,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        "event": event,
    }
    return json.dumps(envelope).encode()


def dm_event(user: str, text: str, channel: str | None = None) -> dict[str, Any]:
    ts = f"{time.time():.6f}"
    return {
        "type": "message",
        "channel": channel or "D" + user.lstrip("U"),
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
    }


def buttons(call: Call) -> dict[str, str]:
    """value → label of every button in a recorded message or view."""
    blocks = call.params.get("blocks") or (call.params.get("view") or {}).get("blocks") or []
    out = {}
    for block in blocks:
        for el in block.get("elements", []) + (
            [block["accessory"]] if "accessory" in block else []
        ):
            if el.get("type") == "button":
                out[el["value"]] = el["text"]["text"]
    return out


def interaction_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


class SlackHarness:
    """Our app, its Slack channel and the fake Web API, driven like Slack drives them."""

    def __init__(self, client: Any, fake: FakeSlack) -> None:
        self.client = client
        self.fake = fake
        self.app = client.app

    @property
    def channel(self) -> Any:
        return self.app.state.channels["slack"]

    def post(
        self,
        body: bytes,
        *,
        content_type: str = "application/json",
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        secret: str = SECRET,
    ) -> Any:
        sent = signed_headers(body, secret=secret, timestamp=timestamp, content_type=content_type)
        return self.client.post("/slack/events", content=body, headers={**sent, **(headers or {})})

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0) -> Any:
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else {}
        )
        return self.post(event_body(event, event_id=event_id), headers=headers)

    def dm(self, user: str, text: str, **kw: Any) -> Any:
        return self.event(dm_event(user, text), **kw)

    def command(self, user: str, text: str, *, channel: str = "CGENERAL") -> tuple[Any, str, str]:
        """Returns (response, response_url, trigger_id)."""
        response_url, trigger = self.fake.response_url(), f"trigger-{uuid.uuid4().hex[:8]}"
        body = urlencode(
            {
                "token": "legacy",
                "team_id": TEAM,
                "team_domain": "contoh",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/helpdesk",
                "text": text,
                "api_app_id": APP_ID,
                "response_url": response_url,
                "trigger_id": trigger,
            }
        ).encode()
        return (
            self.post(body, content_type="application/x-www-form-urlencoded"),
            response_url,
            trigger,
        )

    def press(
        self,
        user: str,
        value: str,
        *,
        channel: str,
        message_ts: str = "1700000000.000100",
        ephemeral: bool = False,
        response_url: str | None = None,
    ) -> tuple[Any, str]:
        """Press a button whose value is a core action; returns (response, trigger_id)."""
        trigger = f"trigger-{uuid.uuid4().hex[:8]}"
        container = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        }
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": APP_ID,
            "team": {"id": TEAM, "domain": "contoh"},
            "trigger_id": trigger,
            "container": container,
            "channel": {"id": channel, "name": "ops"},
            "response_url": response_url or self.fake.response_url(),
            "actions": [
                {
                    "type": "button",
                    "block_id": "hd.0.0",
                    "action_id": "hd.0.0.0",
                    "value": value,
                    "text": {"type": "plain_text", "text": value},
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        if not ephemeral:
            payload["message"] = {
                "type": "message",
                "ts": message_ts,
                "bot_id": BOT_ID,
                "text": "…",
            }
        return self.post(
            interaction_body(payload), content_type="application/x-www-form-urlencoded"
        ), trigger

    def submit(
        self,
        user: str,
        view: dict[str, Any],
        values: dict[str, str],
        *,
        trigger_id: str | None = None,
    ) -> Any:
        """Submit a modal as opened (from views.open) with the given values by block_id:
        a select's option value, a text, a datetimepicker's Unix time, or the chosen
        checkbox values joined by commas. The same `trigger_id` twice is a redelivery."""
        state: dict[str, Any] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input" or block["block_id"] not in values:
                continue
            element, value = block["element"], values[block["block_id"]]
            if element["type"] == "static_select":
                option = next(o for o in element["options"] if o["value"] == value)
                state[block["block_id"]] = {
                    element["action_id"]: {"type": "static_select", "selected_option": option}
                }
            elif element["type"] == "datetimepicker":
                state[block["block_id"]] = {
                    element["action_id"]: {
                        "type": "datetimepicker",
                        "selected_date_time": int(value) if value else None,
                    }
                }
            elif element["type"] == "checkboxes":
                chosen = [o for o in element["options"] if o["value"] in value.split(",")]
                state[block["block_id"]] = {
                    element["action_id"]: {"type": "checkboxes", "selected_options": chosen}
                }
            else:
                state[block["block_id"]] = {
                    element["action_id"]: {"type": element["type"], "value": value}
                }
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "contoh"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": APP_ID,
            "trigger_id": trigger_id or f"trigger-{uuid.uuid4().hex[:8]}",
            "view": {**view, "id": "V1", "team_id": TEAM, "state": {"values": state}},
        }
        return self.post(
            interaction_body(payload), content_type="application/x-www-form-urlencoded"
        )

    def report(self, user: str, **values: str) -> Any:
        """Report through `/helpdesk lapor` and the modal; returns the new Ticket."""
        from sqlmodel import Session, select

        from storage.models import Ticket

        done = self.channel.stats["view"]
        response, _, trigger = self.command(user, "lapor")
        assert response.status_code == 200
        opened = self.fake.wait_for("views.open", lambda c: c.params["trigger_id"] == trigger)[0]
        form = {
            "service": "vpn",
            "type": "gangguan",
            "description": "VPN putus terus sejak pagi",
            "impact": "3",
            "urgency": "3",
            **values,
        }
        assert self.submit(user, opened.params["view"], form).status_code == 200
        self.wait("view", done + 1)
        with Session(self.channel.engine) as s:
            ticket = s.exec(select(Ticket).order_by(Ticket.id.desc())).first()  # type: ignore[union-attr]
        assert ticket is not None
        return ticket

    def tick(self) -> int:
        """One pass of the outbox, in the app's event loop."""
        return self.client.portal.call(self.app.state.deliverer.tick)

    def wait(self, kind: str, count: int = 1, timeout: float = 15.0) -> None:
        """Until the channel finished `count` units of work of `kind` (event, command, ...)."""
        deadline = time.monotonic() + timeout
        while self.channel.stats[kind] < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"slack {kind}: {self.channel.stats[kind]} of {count} done; {self.channel.stats}"
                )
            time.sleep(0.01)


@contextmanager
def slack_harness(
    helpdesk: Any,
    *,
    operator_channels: tuple[str, ...] = (),
    app_token: str | None = None,
    run_jobs: bool = False,
) -> Iterator[SlackHarness]:
    """Our real web app with the Slack channel against a fresh fake Web API."""
    from starlette.testclient import TestClient

    from bot.channels import slack
    from bot.web.app import create_app

    with FakeSlack() as fake:
        settings = helpdesk.settings.model_copy(
            update={
                "slack_bot_token": SecretStr(TOKEN),
                "slack_signing_secret": SecretStr(SECRET),
                "slack_api_base_url": fake.base_url,
                "slack_operator_channels": list(operator_channels),
                "slack_app_token": SecretStr(app_token) if app_token else None,
            }
        )
        app = create_app(
            dataclasses.replace(helpdesk, settings=settings),
            channels=[slack.SPEC],
            run_jobs=run_jobs,
        )
        with TestClient(app) as client:
            yield SlackHarness(client, fake)
