"""A Bot API server for tests, on 127.0.0.1 (port 0), and a runner for our web app.

`FakeBotApi` answers the methods our bot uses (getMe, getUpdates with long polling,
sendMessage, sendPhoto, sendDocument, editMessageText, editMessageReplyMarkup, answerCallbackQuery, setWebhook,
deleteWebhook), records every call with its decoded parameters, and can be scripted to
answer 429 (with parameters.retry_after) or 403. It runs aiohttp in its own thread and
event loop, so the bot under test talks to it over real HTTP whatever loop it runs in.

`Updates` builds update payloads the way Telegram sends them; `telegram_harness` runs
our app against this server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token_for-the-fake"
BOT_ID = 123456
BOT_USERNAME = "helpdesk_test_bot"
#: parameters PTB sends JSON-encoded inside a form.
JSON_PARAMS = {
    "reply_markup",
    "allowed_updates",
    "entities",
    "reply_parameters",
    "link_preview_options",
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200
    #: what the fake answered (the Message for sendMessage and the edits)
    result: Any = None
    #: when it arrived (time.monotonic of the fake's process)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Rule:
    method: str
    status: int
    count: int
    retry_after: int | None = None
    description: str = ""
    chat_id: int | None = None


@dataclass
class FakeBotApi:
    token: str = TOKEN
    #: longest a getUpdates call is held open, whatever timeout the bot asks for.
    max_poll_wait: float = 0.3
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    #: seconds every sendMessage takes before it is answered (a slow or distant API)
    latency: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        #: (method, chat id, calls still to let through before the one held)
        self._holds: list[list[Any]] = []
        self.held = threading.Event()
        self._release: asyncio.Event | None = None
        self._updates: list[dict[str, Any]] = []
        self._served_offset = 0
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._message_ids = itertools.count(1000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._new_update: asyncio.Event | None = None
        self.webhook: dict[str, Any] | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> FakeBotApi:
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

        self._thread = threading.Thread(target=serve, name="fake-bot-api", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Bot API did not start")
        return self

    async def _start_site(self) -> None:
        self._new_update = asyncio.Event()
        self._release = asyncio.Event()
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # -- scripting and inspection ---------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        *,
        count: int = 1,
        retry_after: int | None = None,
        description: str = "",
        chat_id: int | None = None,
    ) -> None:
        """The next `count` calls of `method` (to `chat_id`, if given) answer an error."""
        default = {
            429: "Too Many Requests: retry after {n}",
            403: "Forbidden: bot was blocked by the user",
        }
        text = description or default.get(status, "Bad Request").format(n=retry_after)
        with self._lock:
            self._rules.append(Rule(method, status, count, retry_after, text, chat_id))

    def hold(self, method: str, chat_id: int, *, after: int = 0) -> None:
        """The call of `method` to `chat_id` after `after` others is held unanswered and
        not delivered (`held` is set when it comes), as if the process sending it died
        mid-request; `release` answers it with an error."""
        with self._lock:
            self._holds.append([method, str(chat_id), after])

    def release(self) -> None:
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    def _held(self, method: str, params: dict[str, Any]) -> bool:
        with self._lock:
            for hold in self._holds:
                if hold[0] == method and hold[1] == str(params.get("chat_id")):
                    if hold[2] > 0:
                        hold[2] -= 1
                        return False
                    self._holds.remove(hold)
                    self.calls.append(Call(method, params, 599))
                    return True
        return False

    def clear_failures(self) -> None:
        with self._lock:
            self._rules.clear()

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates."""
        with self._lock:
            self._updates.append(update)
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)

    def calls_of(self, *methods: str, ok: bool | None = True) -> list[Call]:
        with self._lock:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if (not methods or c.method in methods) and (ok is None or (c.status == 200) == ok)
        ]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage calls, optionally to one chat."""
        return [
            c
            for c in self.calls_of("sendMessage")
            if chat_id is None or int(c.params["chat_id"]) == chat_id
        ]

    def mark(self) -> int:
        """A position in the call log; `since(mark)` gives what came after."""
        with self._lock:
            return len(self.calls)

    def since(self, mark: int, *methods: str, ok: bool | None = True) -> list[Call]:
        with self._lock:
            calls = self.calls[mark:]
        return [
            c
            for c in calls
            if (not methods or c.method in methods) and (ok is None or (c.status == 200) == ok)
        ]

    def wait_for(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Poll until `check()` is truthy (the bot works in another thread)."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out; calls: {[(c.method, c.params) for c in self.calls[-10:]]}"
                )
            time.sleep(0.02)

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        with self._lock:
            return dict(self._messages[(chat_id, message_id)])

    # -- the Bot API ------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        if self._held(method, params):
            self.held.set()
            assert self._release is not None
            await self._release.wait()
            return web.json_response(
                {"ok": False, "error_code": 500, "description": "held"}, status=500
            )
        rule = self._matching_rule(method, params)
        if rule is not None:
            with self._lock:
                self.calls.append(Call(method, params, rule.status))
            body: dict[str, Any] = {
                "ok": False,
                "error_code": rule.status,
                "description": rule.description,
            }
            if rule.retry_after is not None:
                body["parameters"] = {"retry_after": rule.retry_after}
            return web.json_response(body, status=rule.status)
        if method == "sendMessage" and self.latency:
            await asyncio.sleep(self.latency)
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
            with self._lock:
                self.calls.append(Call(method, params))
            return web.json_response({"ok": True, "result": result})
        with self._lock:
            self.calls.append(Call(method, params))
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                status=404,
            )
        status, result = handler(params)
        with self._lock:
            call = next(c for c in reversed(self.calls) if c.params is params)
            call.status, call.result = status, result
        if status != 200:
            return web.json_response(
                {"ok": False, "error_code": status, "description": result}, status=status
            )
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update(dict(await request.post()))
        for key in JSON_PARAMS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        return params

    def _matching_rule(self, method: str, params: dict[str, Any]) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.method != method or rule.count <= 0:
                    continue
                if rule.chat_id is not None and str(params.get("chat_id")) != str(rule.chat_id):
                    continue
                rule.count -= 1
                return rule
        return None

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), self.max_poll_wait)
        deadline = time.monotonic() + wait
        assert self._new_update is not None
        while True:
            with self._lock:
                if offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
            if ready or time.monotonic() >= deadline:
                return ready
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._new_update.wait(), max(deadline - time.monotonic(), 0.001)
                )

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Helpdesk SPBE",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    @staticmethod
    def _chat(chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Pengguna"}
        return {"id": chat_id, "type": "supergroup", "title": "Grup Petugas"}

    def _api_getMe(self, _: dict[str, Any]) -> tuple[int, Any]:
        return 200, self._bot_user()

    def _api_setWebhook(self, params: dict[str, Any]) -> tuple[int, Any]:
        self.webhook = params
        return 200, True

    def _api_deleteWebhook(self, _: dict[str, Any]) -> tuple[int, Any]:
        self.webhook = None
        return 200, True

    def _api_answerCallbackQuery(self, _: dict[str, Any]) -> tuple[int, Any]:
        return 200, True

    def _api_sendMessage(self, params: dict[str, Any]) -> tuple[int, Any]:
        chat_id = int(params["chat_id"])
        text = str(params.get("text", ""))
        if not text or len(text.encode("utf-16-le")) // 2 > 4096:
            return 400, "Bad Request: message text is empty or too long"
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            "text": text,
        }
        if (
            isinstance(params.get("reply_markup"), dict)
            and "inline_keyboard" in params["reply_markup"]
        ):
            message["reply_markup"] = params["reply_markup"]
        with self._lock:
            self._messages[(chat_id, message["message_id"])] = message
        return 200, message

    def _upload(self, params: dict[str, Any], field: str) -> tuple[int, Any]:
        """sendPhoto / sendDocument arrive as multipart: keep the file's name and bytes."""
        upload = params.get(field)
        if not hasattr(upload, "file"):
            return 400, f"Bad Request: {field} is not a file"
        data = upload.file.read()
        params[field] = {"filename": upload.filename, "size": len(data), "head": data[:8]}
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
        }
        if field == "photo":
            message["photo"] = [
                {"file_id": "p1", "file_unique_id": "p1", "width": 800, "height": 400}
            ]
        else:
            message["document"] = {
                "file_id": "d1",
                "file_unique_id": "d1",
                "file_name": upload.filename,
            }
        return 200, message

    def _api_sendPhoto(self, params: dict[str, Any]) -> tuple[int, Any]:
        return self._upload(params, "photo")

    def _api_sendDocument(self, params: dict[str, Any]) -> tuple[int, Any]:
        return self._upload(params, "document")

    def _edit(self, params: dict[str, Any], text: str | None) -> tuple[int, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        markup = params.get("reply_markup")
        markup = markup if isinstance(markup, dict) and markup.get("inline_keyboard") else None
        with self._lock:
            message = self._messages.get(key)
            if message is None:
                return 400, "Bad Request: message to edit not found"
            new = dict(message)
            if text is not None:
                new["text"] = text
            new.pop("reply_markup", None)
            if markup:
                new["reply_markup"] = markup
            if new == message:
                return (
                    400,
                    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same",
                )
            self._messages[key] = new
        return 200, new

    def _api_editMessageText(self, params: dict[str, Any]) -> tuple[int, Any]:
        return self._edit(params, str(params.get("text", "")))

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> tuple[int, Any]:
        return self._edit(params, None)


def buttons(call: Call) -> list[tuple[str, str]]:
    """(label, callback_data) of the inline keyboard a call sent."""
    markup = call.params.get("reply_markup") or {}
    return [
        (b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row
    ]


class Updates:
    """Update payloads as Telegram sends them, with increasing update ids."""

    def __init__(self, start: int = 5000) -> None:
        self._ids = itertools.count(start)
        self._message_ids = itertools.count(1)

    @staticmethod
    def user(user_id: int, first: str, last: str | None = None) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first,
            "language_code": "id",
        }
        if last:
            user["last_name"] = last
        return user

    @staticmethod
    def private_chat(user: dict[str, Any]) -> dict[str, Any]:
        return {"id": user["id"], "type": "private", "first_name": user["first_name"]}

    @staticmethod
    def group_chat(chat_id: int, title: str = "Grup Petugas TI") -> dict[str, Any]:
        return {"id": chat_id, "type": "supergroup", "title": title}

    def _message(
        self, user: dict[str, Any], chat: dict[str, Any] | None, **fields: Any
    ) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "from": user,
            "chat": chat or self.private_chat(user),
            **fields,
        }

    def text(
        self,
        user: dict[str, Any],
        text: str,
        chat: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        if reply_to is not None:
            fields["reply_to_message"] = reply_to
        return {"update_id": next(self._ids), "message": self._message(user, chat, **fields)}

    def press(self, user: dict[str, Any], message: dict[str, Any], data: str) -> dict[str, Any]:
        update_id = next(self._ids)
        return {
            "update_id": update_id,
            "callback_query": {
                "id": f"cq{update_id}",
                "from": user,
                "message": message,
                "chat_instance": "ci-1",
                "data": data,
            },
        }

    def other(
        self, kind: str, user: dict[str, Any], chat: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Updates the bot does not act on, by kind."""
        update_id = next(self._ids)
        media = {
            "sticker": {
                "sticker": {
                    "file_id": "s1",
                    "file_unique_id": "u1",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                }
            },
            "voice": {"voice": {"file_id": "v1", "file_unique_id": "u2", "duration": 3}},
            "photo": {
                "photo": [{"file_id": "p1", "file_unique_id": "u3", "width": 90, "height": 90}],
                "caption": "layar error",
            },
            "document": {
                "document": {"file_id": "d1", "file_unique_id": "u4", "file_name": "log.txt"}
            },
        }
        if kind in media:
            return {"update_id": update_id, "message": self._message(user, chat, **media[kind])}
        if kind == "edited_message":
            message = self._message(user, chat, text="diubah", edit_date=int(time.time()))
            return {"update_id": update_id, "edited_message": message}
        if kind == "channel_post":
            channel = {"id": -1009999, "type": "channel", "title": "Kanal"}
            return {
                "update_id": update_id,
                "channel_post": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": channel,
                    "text": "pengumuman",
                },
            }
        if kind == "inline_query":
            return {
                "update_id": update_id,
                "inline_query": {"id": "iq1", "from": user, "query": "vpn", "offset": ""},
            }
        if kind == "new_chat_members":
            return {
                "update_id": update_id,
                "message": self._message(user, chat, new_chat_members=[user]),
            }
        if kind == "my_chat_member":
            bot = {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Helpdesk SPBE",
                "username": BOT_USERNAME,
            }
            return {
                "update_id": update_id,
                "my_chat_member": {
                    "chat": chat,
                    "from": user,
                    "date": int(time.time()),
                    "old_chat_member": {"user": bot, "status": "left"},
                    "new_chat_member": {"user": bot, "status": "member"},
                },
            }
        raise ValueError(kind)
