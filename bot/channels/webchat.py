"""The web chat channel: the agency's own site talks to the same conversation engine.

Identity is an opaque random session cookie; the browser pulls notices (ticket updates)
by polling, so no push transport is needed. Its page and API are this channel's routes:
GET /chat, POST /api/chat, GET /api/chat/notices (the page's script and style are the
web app's /static).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from bot.channels.base import Capabilities, ChannelSpec, Slot
from bot.config import Settings
from bot.dialogue.engine import Conversations
from bot.dialogue.messages import Incoming, Reply
from bot.i18n import catalogue
from bot.runtime import Helpdesk

CHANNEL = "web"
COOKIE = "hd_sid"
MAX_BODY = 64 * 1024
#: the page lives with the web app's other templates
templates = Jinja2Templates(
    directory=str(Path(__file__).resolve().parent.parent / "web" / "templates")
)


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


def chat_page(request: Request, secure_cookie: bool) -> Response:
    """The chat page; a first visit gets its session cookie here."""
    lang = request.query_params.get("lang", "id")
    lang = lang if lang in ("id", "en") else "id"
    response = templates.TemplateResponse(
        request, "chat.html", {"lang": lang, "texts": catalogue(lang)}
    )
    if session_id(request) is None:
        set_cookie(response, new_session_id(), secure_cookie)
    return response


def routes(helpdesk: Helpdesk, _slot: Slot[None]) -> Sequence[BaseRoute]:
    conversations = helpdesk.conversations
    secure_cookie = helpdesk.settings.public_url.startswith("https://")

    async def page(request: Request) -> Response:
        return chat_page(request, secure_cookie)

    async def api(request: Request) -> Response:
        return await post_message(request, conversations)

    async def notices(request: Request) -> Response:
        return await poll(request, conversations)

    return [
        Route("/chat", page),
        Route("/api/chat", api, methods=["POST"]),
        Route("/api/chat/notices", notices),
    ]


def enabled(_settings: Settings) -> bool:
    """Always served: the agency's own site needs no platform account."""
    return True


SPEC: ChannelSpec[None] = ChannelSpec(
    name=CHANNEL,
    enabled=enabled,
    capabilities=Capabilities(delivery="pull", buttons=True, images=True, documents=True),
    routes=routes,
)
