"""The web chat channel: the agency's own site talks to the same conversation engine.

Identity is an opaque random session cookie; the browser pulls notices (ticket updates)
by polling, so no push transport is needed.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.dialogue.engine import Conversations
from bot.dialogue.messages import Incoming, Reply

CHANNEL = "web"
COOKIE = "hd_sid"
MAX_BODY = 64 * 1024


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def session_id(request: Request) -> str | None:
    sid = request.cookies.get(COOKIE)
    if sid and 10 <= len(sid) <= 64 and sid.replace("-", "").replace("_", "").isalnum():
        return sid
    return None


def set_cookie(response: Response, sid: str, secure: bool) -> None:
    response.set_cookie(
        COOKIE, sid, max_age=60 * 60 * 24 * 180, httponly=True, samesite="lax", secure=secure
    )


def render(replies: list[Reply]) -> list[dict[str, Any]]:
    return [
        {
            "text": r.text,
            "kind": r.kind,
            "choices": [{"label": c.label, "action": c.action} for c in r.choices],
            "image": base64.b64encode(r.image).decode() if r.image else None,
            "document": {"name": r.document[0], "data": base64.b64encode(r.document[1]).decode()}
            if r.document
            else None,
        }
        for r in replies
    ]


async def post_message(request: Request, conversations: Conversations) -> Response:
    sid = session_id(request)
    if sid is None:
        return JSONResponse({"error": "no session; open /chat first"}, status_code=401)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "message too large"}, status_code=413)
    try:
        data = await request.json()
    except ValueError:
        return JSONResponse({"error": "invalid JSON"}, status_code=400)
    if not isinstance(data, dict):
        return JSONResponse({"error": "expected an object"}, status_code=400)
    text, action = data.get("text"), data.get("action")
    if not isinstance(text, str | None) or not isinstance(action, str | None):
        return JSONResponse({"error": "text and action must be strings"}, status_code=400)
    msg = Incoming(
        channel=CHANNEL,
        chat_id=sid,
        user_id=sid,
        text=text,
        action=(action or None) and action[:64],
    )
    replies = await asyncio.to_thread(conversations.handle, msg)
    return JSONResponse({"replies": render(replies)})


async def poll(request: Request, conversations: Conversations) -> Response:
    sid = session_id(request)
    if sid is None:
        return JSONResponse({"replies": []})
    replies = await asyncio.to_thread(conversations.pull_notices, CHANNEL, sid)
    return JSONResponse({"replies": render(replies)})
