"""A WhatsApp Business Cloud API server for tests, on 127.0.0.1 (port 0).

`FakeCloudApi` answers what our channel calls — POST /{version}/{phone_number_id}/messages
(text, interactive button and list, image, document, template) and POST …/media
(multipart upload) — with the Graph API's shapes: `{"messaging_product", "contacts",
"messages": [{"id": "wamid…"}]}`, `{"id": media id}`, and on failure `{"error":
{"message", "type", "code", "error_subcode", "fbtrace_id"}}` with Meta's HTTP status.
It checks the bearer token and the message limits the real API enforces (3 buttons of
20 characters, 10 list rows of 24, 4,096 characters of text, 1,024 of an interactive
body), records every call, and can be scripted to fail by error code.

`Webhooks` builds the change notifications Meta POSTs to our webhook, and signs them
with the app secret as Meta does (X-Hub-Signature-256).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

VERSION = "v21.0"
TOKEN = "EAAG-test-access-token"
PHONE_NUMBER_ID = "109876543210"
WABA_ID = "102030405060"
APP_SECRET = "app-secret-for-the-fake"
VERIFY_TOKEN = "verify-me-please"

#: what Meta answers for each code we script (HTTP status, type, message)
ERRORS: dict[int, tuple[int, str, str]] = {
    130429: (400, "OAuthException", "Rate limit hit"),
    131056: (400, "OAuthException", "(Business Account, Consumer Account) pair rate limit hit"),
    131047: (400, "OAuthException", "Re-engagement message"),
    190: (401, "OAuthException", "Error validating access token: Session has expired"),
    131026: (400, "OAuthException", "Message undeliverable"),
    100: (400, "OAuthException", "Invalid parameter"),
    131000: (500, "OAuthException", "Something went wrong"),
}


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)
    #: the wamid or media id answered
    result: str | None = None
    #: an uploaded file's bytes
    file: bytes | None = None


@dataclass
class Rule:
    kind: str  # "messages" or "media"
    code: int
    count: int
    http_status: int | None = None
    retry_after: int | None = None
    to: str | None = None
    message_type: str | None = None


@dataclass
class FakeCloudApi:
    token: str = TOKEN
    phone_number_id: str = PHONE_NUMBER_ID
    calls: list[Call] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"{self.url}/{VERSION}"

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> FakeCloudApi:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._start_site())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-cloud-api", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Cloud API did not start")
        return self

    async def _start_site(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post(f"/{VERSION}/{{phone}}/messages", self._messages)
        app.router.add_post(f"/{VERSION}/{{phone}}/media", self._media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # -- scripting and inspection -----------------------------------------------------

    def fail(
        self,
        code: int,
        *,
        kind: str = "messages",
        count: int = 1,
        http_status: int | None = None,
        retry_after: int | None = None,
        to: str | None = None,
        message_type: str | None = None,
    ) -> None:
        """The next `count` calls (to `to`, of `message_type`, if given) answer Meta's
        error `code`."""
        with self._lock:
            self._rules.append(Rule(kind, code, count, http_status, retry_after, to, message_type))

    def sent(self, to: str | None = None, type_: str | None = None) -> list[Call]:
        """Messages accepted, optionally to one number and of one type."""
        with self._lock:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if c.path == "messages"
            and c.status == 200
            and (to is None or c.body.get("to") == to)
            and (type_ is None or c.body.get("type") == type_)
        ]

    def refused(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.status != 200]

    def uploads(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path == "media" and c.status == 200]

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def since(self, mark: int) -> list[Call]:
        with self._lock:
            return [c for c in self.calls[mark:] if c.status == 200 and c.path == "messages"]

    def wait_for(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[c.body for c in self.calls[-5:]]}")
            time.sleep(0.02)

    # -- the Cloud API ----------------------------------------------------------------

    def _error(self, code: int, http_status: int | None, retry_after: int | None) -> web.Response:
        status, type_, message = ERRORS.get(code, (400, "OAuthException", "Error"))
        body = {
            "error": {
                "message": f"({'#' + str(code)}) {message}",
                "type": type_,
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": message},
                "fbtrace_id": "AbCdEf123",
            }
        }
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return web.json_response(body, status=http_status or status, headers=headers)

    def _rule_for(self, kind: str, body: dict[str, Any]) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.kind != kind or rule.count <= 0:
                    continue
                if rule.to is not None and body.get("to") != rule.to:
                    continue
                if rule.message_type is not None and body.get("type") != rule.message_type:
                    continue
                rule.count -= 1
                return rule
        return None

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(190, None, None)
        if request.match_info["phone"] != self.phone_number_id:
            return self._error(100, None, None)
        body = await request.json()
        problem = invalid(body)
        if problem is not None:
            with self._lock:
                self.calls.append(Call("messages", body, 400))
            return web.json_response(
                {"error": {"message": problem, "type": "OAuthException", "code": 100}},
                status=400,
            )
        rule = self._rule_for("messages", body)
        if rule is not None:
            with self._lock:
                self.calls.append(
                    Call("messages", body, rule.http_status or ERRORS.get(rule.code, (400,))[0])
                )
            return self._error(rule.code, rule.http_status, rule.retry_after)
        wamid = f"wamid.FAKE{next(self._ids):06d}"
        with self._lock:
            self.calls.append(Call("messages", body, result=wamid))
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": wamid}],
            }
        )

    async def _media(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(190, None, None)
        form = await request.post()
        upload = form.get("file")
        fields = {k: str(v) for k, v in form.items() if k != "file"}
        if fields.get("messaging_product") != "whatsapp" or not hasattr(upload, "file"):
            return self._error(100, None, None)
        data = upload.file.read()  # type: ignore[union-attr]
        fields["filename"] = upload.filename  # type: ignore[union-attr]
        fields["content_type"] = upload.content_type  # type: ignore[union-attr]
        rule = self._rule_for("media", fields)
        if rule is not None:
            with self._lock:
                self.calls.append(Call("media", fields, 400))
            return self._error(rule.code, rule.http_status, rule.retry_after)
        media_id = f"{next(self._ids):015d}"
        with self._lock:
            self.calls.append(Call("media", fields, result=media_id, file=data))
        return web.json_response({"id": media_id})


def invalid(body: dict[str, Any]) -> str | None:
    """What the real API refuses in a message (None: accepted)."""
    if body.get("messaging_product") != "whatsapp" or not body.get("to"):
        return "messaging_product and to are required"
    kind = body.get("type")
    if kind == "text":
        text = body.get("text", {}).get("body", "")
        return None if 0 < len(text) <= 4096 else "text body must be 1-4096 characters"
    if kind == "interactive":
        inter = body["interactive"]
        if not 0 < len(inter.get("body", {}).get("text", "")) <= 1024:
            return "interactive body must be 1-1024 characters"
        action = inter.get("action", {})
        if inter.get("type") == "button":
            buttons = action.get("buttons", [])
            titles = [b["reply"]["title"] for b in buttons]
            if not 0 < len(buttons) <= 3 or any(not 0 < len(t) <= 20 for t in titles):
                return "1-3 buttons with titles of 1-20 characters"
            if len(set(titles)) != len(titles) or len({b["reply"]["id"] for b in buttons}) != len(
                buttons
            ):
                return "button titles and ids must be unique"
            return None
        if inter.get("type") == "list":
            rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
            if not 0 < len(rows) <= 10 or any(not 0 < len(r["title"]) <= 24 for r in rows):
                return "1-10 rows with titles of 1-24 characters"
            if any(len(r.get("description", "")) > 72 for r in rows):
                return "row descriptions at most 72 characters"
            if not 0 < len(action.get("button", "")) <= 20:
                return "list button text must be 1-20 characters"
            return None
        return "unknown interactive type"
    if kind in ("image", "document"):
        return None if body.get(kind, {}).get("id") else f"{kind} needs a media id"
    if kind == "template":
        template = body.get("template", {})
        if not template.get("name") or not template.get("language", {}).get("code"):
            return "template name and language are required"
        for comp in template.get("components", []):
            for p in comp.get("parameters", []):
                text = p.get("text", "")
                if "\n" in text or "\t" in text or "     " in text or len(text) > 1024:
                    return "(#132018) template parameter has new lines, tabs or too many spaces"
        return None
    return f"unsupported message type {kind!r}"


class Webhooks:
    """Change notifications as Meta POSTs them to our webhook."""

    def __init__(self, phone_number_id: str = PHONE_NUMBER_ID, secret: str = APP_SECRET) -> None:
        self.phone_number_id = phone_number_id
        self.secret = secret
        self._ids = itertools.count(1)
        #: message ids are unique across Webhooks objects, as Meta's are
        self._run = uuid.uuid4().hex[:8].upper()
        #: the Unix time of the next message, as Meta stamps it (the 24-hour window runs
        #: from it); now, so what a test sends opens the window
        self.clock = int(time.time())

    def _wrap(self, value: dict[str, Any]) -> dict[str, Any]:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": "628001234567",
                "phone_number_id": self.phone_number_id,
            },
            **value,
        }
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
        }

    def message(
        self,
        wa_id: str,
        content: dict[str, Any],
        *,
        name: str = "Budi",
        message_id: str | None = None,
    ) -> dict[str, Any]:
        self.clock += 1
        message = {
            "from": wa_id,
            "id": message_id or f"wamid.IN{self._run}{next(self._ids):06d}",
            "timestamp": str(self.clock),
            **content,
        }
        return self._wrap(
            {"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]}
        )

    def text(self, wa_id: str, body: str, **kwargs: Any) -> dict[str, Any]:
        return self.message(wa_id, {"type": "text", "text": {"body": body}}, **kwargs)

    def button(self, wa_id: str, action: str, title: str = "", **kwargs: Any) -> dict[str, Any]:
        reply = {"type": "button_reply", "button_reply": {"id": action, "title": title or action}}
        return self.message(wa_id, {"type": "interactive", "interactive": reply}, **kwargs)

    def row(self, wa_id: str, action: str, title: str = "", **kwargs: Any) -> dict[str, Any]:
        reply = {"type": "list_reply", "list_reply": {"id": action, "title": title or action}}
        return self.message(wa_id, {"type": "interactive", "interactive": reply}, **kwargs)

    def status(
        self, wamid: str, status: str, recipient: str, *, errors: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        self.clock += 1
        entry: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(self.clock),
            "recipient_id": recipient,
        }
        if errors:
            entry["errors"] = errors
        return self._wrap({"statuses": [entry]})

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    @staticmethod
    def encode(data: dict[str, Any]) -> bytes:
        return json.dumps(data, ensure_ascii=False).encode()
