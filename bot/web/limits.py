"""Request body limits for every route, enforced before any handler reads a byte.

Handlers used to read the whole body and then compare its length, so an unsigned 250 MB
POST was held in memory before anyone looked at it. This middleware sits in front of
every route: a Content-Length above the route's limit is answered 413 at once (the body
is never read, and uvicorn never sends "100 Continue"); a chunked or under-declared body
is counted as the handler pulls it, and the first chunk past the limit ends the request
with 413, so a handler never holds more than its limit. Handlers that can authenticate
from the headers (Telegram's secret token, Alertmanager's bearer token, the web chat's
cookie) refuse before they read at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: a route's limit unless the web app or its channel declares another (the web chat's
#: messages, status and health calls need far less)
DEFAULT_LIMIT = 64 * 1024


class BodyTooLarge(Exception):
    """Raised from `receive` to unwind the handler that asked for more than its limit."""


class BodyLimit:
    """ASGI middleware: `limits` maps exact paths to their largest body in bytes; other
    paths get `default`."""

    def __init__(
        self, app: ASGIApp, limits: Mapping[str, int] | None = None, default: int = DEFAULT_LIMIT
    ) -> None:
        self.app = app
        self.limits = dict(limits or {})
        self.default = default

    def limit_for(self, path: str) -> int:
        return self.limits.get(path, self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is None:
            await _refuse(send, 400, "invalid Content-Length")
            return
        if declared > limit:
            await _refuse(send, 413, "request too large")
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:  # a response that streams while it reads: nothing left to answer
                raise
            await _refuse(send, 413, "request too large")


def _content_length(scope: Scope) -> int | None:
    """The declared length, -1 when none is declared (chunked), None when it is not a
    plain non-negative number (h11 refuses those already; this keeps other servers honest)."""
    values = [v for k, v in scope["headers"] if k == b"content-length"]
    if not values:
        return -1
    if len(set(values)) != 1 or not values[0].isdigit() or len(values[0]) > 18:
        return None
    return int(values[0])


async def _refuse(send: Send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
