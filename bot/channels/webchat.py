"""The web chat channel: the agency's own site talks to the same conversation engine.

Identity is a random session token the server issues (bot.core.web_sessions: only its
hash is stored, and the hash is the chat's id); the browser pulls notices (ticket
updates) by polling, so no push transport is needed. The API takes JSON from this site
only (Origin checked), and limits per address apply (bot.core.limits; an IPv6 address
counts as its /64). When a message changes whom the session speaks for (`/tautkan`), the
answer carries a new cookie and the old token is dead (bot.core.web_sessions.rotate): a
token planted in the browser beforehand never speaks for the person. Behind HTTPS the
cookie is `__Host-hd_sid` (Secure, Path=/, no Domain: a sibling domain cannot set it). Its page and API are this channel's routes:
GET /chat, POST /api/chat, GET /api/chat/notices, GET /api/chat/history (the lines the
page showed, drawn again after a reload: bot.core.web_history), GET
/api/chat/documents/ID (a document a reply carried, to its own session, while its link
holds: the live reply and the history link to it alike) and POST /chat/subscribe
(the status page's "Langganan" form; the page's script and style are the web app's
/static).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from bot.channels.base import Capabilities, ChannelSpec, Slot
from bot.channels.markdown import shown, to_html
from bot.config import Settings
from bot.core import subscriptions, web_history, web_sessions
from bot.core.errors import HelpdeskError
from bot.core.limits import Limits, check_new_session
from bot.dialogue.engine import Conversations, Record
from bot.dialogue.messages import Incoming, Reply
from bot.i18n import catalogue, norm_lang, t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import utcnow

CHANNEL = web_sessions.CHANNEL
#: the session cookie over plain http (development, tests) and behind HTTPS
COOKIE = "hd_sid"
HOST_COOKIE = "__Host-hd_sid"
#: the notices poll is a fetch of our own page; these Sec-Fetch-Site values are not
FOREIGN_FETCH_SITES = ("cross-site", "same-site")
#: the page lives with the web app's other templates
templates = Jinja2Templates(
    directory=str(Path(__file__).resolve().parent.parent / "web" / "templates")
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Guard:
    """What every request of this channel is checked against."""

    engine: Engine
    policy: web_sessions.SessionPolicy
    limits: Limits
    public_origin: str
    secure_cookie: bool

    @classmethod
    def from_helpdesk(cls, helpdesk: Helpdesk) -> Guard:
        settings = helpdesk.settings
        return cls(
            engine=helpdesk.engine,
            policy=web_sessions.SessionPolicy(
                idle=timedelta(hours=settings.web_session_idle_hours),
                operator_idle=timedelta(minutes=settings.web_operator_session_idle_minutes),
            ),
            limits=Limits.from_settings(settings),
            public_origin=origin_of(settings.public_url),
            secure_cookie=settings.public_url.startswith("https://"),
        )

    @property
    def cookie(self) -> str:
        """The cookie's name: `__Host-` behind HTTPS, so only this host can set it."""
        return HOST_COOKIE if self.secure_cookie else COOKIE

    def token(self, request: Request) -> str | None:
        return request.cookies.get(self.cookie)

    def live_session(self, token: str | None, now: datetime) -> str | None:
        """The chat id of the request's session, or None: never issued, expired, ended."""
        if not token:
            return None
        with session_scope(self.engine) as session:
            return web_sessions.touch(session, token, self.policy, now)

    def new_session(self, address: str | None, now: datetime) -> str | None:
        """A new session's token; None when the address opened too many this hour."""
        with session_scope(self.engine) as session:
            if address and not check_new_session(session, self.limits, address, now):
                return None
            return web_sessions.issue(session, self.policy, now, address)

    def live_session_and_link(
        self, token: str | None, now: datetime
    ) -> tuple[str | None, int | None]:
        """`live_session` and the person it speaks for, in one transaction: on SQLite every
        transaction queues for the write lock, so a chat message opens as few as it can."""
        if not token:
            return None, None
        with session_scope(self.engine) as session:
            key = web_sessions.touch(session, token, self.policy, now)
            if key is None:
                return None, None
            person = web_sessions.person_of(session, key)
            return key, person.id if person else None

    def link_of(self, key: str, now: datetime) -> tuple[bool, int | None]:
        """Whether the session `key` is live, and the person it speaks for."""
        with session_scope(self.engine) as session:
            person = web_sessions.person_of(session, key)
            return web_sessions.is_live(session, key, now), person.id if person else None

    def rotate(self, key: str, address: str | None, now: datetime) -> str | None:
        """A new token for the chat `key` (see web_sessions.rotate)."""
        with session_scope(self.engine) as session:
            return web_sessions.rotate(session, key, self.policy, now, address)

    def same_origin(self, request: Request) -> bool:
        """No Origin (not a browser's cross-site request) or ours: the public URL's origin
        or the host the request was sent to."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        origin = origin.lower()
        host = request.headers.get("host", "").lower()
        return origin == self.public_origin or (bool(host) and urlsplit(origin).netloc == host)

    def own_fetch(self, request: Request) -> bool:
        """A request our page's script made: not a navigation (a link or a redirect to the
        URL), not sent from another site, from our origin when it says one."""
        if request.headers.get("sec-fetch-mode", "").lower() == "navigate":
            return False
        if request.headers.get("sec-fetch-site", "").lower() in FOREIGN_FETCH_SITES:
            return False
        return self.same_origin(request)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def client_address(request: Request) -> str | None:
    """The peer's address, as per-address limits count it: an IPv4 address as it is, an
    IPv6 address as its /64 (one subscriber's prefix holds 2**64 addresses). Behind a
    proxy, HELPDESK_FORWARDED_ALLOW_IPS makes this the visitor's, not the proxy's."""
    return normalise_address(request.client.host) if request.client else None


def normalise_address(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an address (a test client's name, a unix socket)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def set_cookie(response: Response, token: str, guard: Guard) -> None:
    response.set_cookie(
        guard.cookie,
        token,
        max_age=int(guard.policy.idle.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=guard.secure_cookie,
    )


def no_session() -> Response:
    """The page reloads /chat on this answer, which issues a new session."""
    return JSONResponse(
        {"error": "session unknown or expired; reload /chat", "reload": True}, status_code=401
    )


DOCUMENTS = "/api/chat/documents/"


def lines_of(replies: list[Reply]) -> list[web_history.Line]:
    """The replies as the page's history keeps them (an image is not kept; a document is,
    while its link holds: bot.core.web_history.DOCUMENT_TTL)."""
    return [
        web_history.Line(
            who="bot",
            text=shown(r),
            kind=r.kind,
            html=to_html(r.text) if r.markdown else None,
            choices=tuple((c.label, c.action) for c in r.choices),
            document=r.document[0] if r.document else None,
            document_data=r.document[1] if r.document else None,
        )
        for r in replies
    ]


def line_json(line: web_history.Line) -> dict[str, Any]:
    document = None
    if line.document:
        live = not line.document_expired and line.id is not None
        document = {
            "name": line.document,
            "data": None,
            "url": f"{DOCUMENTS}{line.id}" if live else None,
            "expired": not live,
        }
    return {
        "who": line.who,
        "text": line.text,
        "html": line.html,
        "kind": line.kind,
        "choices": [{"label": label, "action": action} for label, action in line.choices],
        "document": document,
    }


def recorder(key: str, said: str | None, now: datetime) -> tuple[Record, list[int | None]]:
    """Records a turn's lines in the turn's own transaction (Conversations.answer), so a
    request that dies after the commit, before the page got its answer, still shows the
    answer on the next reload. A turn that ended its session (logging out) keeps none.
    The list fills with the ids of the replies' lines (a document's link names its line)."""
    ids: list[int | None] = []

    def record(session: Session, replies: list[Reply]) -> None:
        if not web_sessions.is_live(session, key, now):
            return
        lines = [web_history.Line(who="user", text=said)] if said else []
        lines += lines_of(replies)
        if not lines:
            return
        got = web_history.record(session, key, lines, now)
        if len(got) == len(lines):
            ids.extend(got[len(got) - len(replies) :])

    return record, ids


def keep(
    guard: Guard, key: str, said: str | None, replies: list[Reply], now: datetime
) -> list[int | None]:
    """Record what the page shows outside a turn (notices fetched by a poll). The ids of
    the replies' lines, in order (a document's link names its line)."""
    lines = [web_history.Line(who="user", text=said)] if said else []
    lines += lines_of(replies)
    if not lines:
        return []
    with session_scope(guard.engine) as session:
        ids = web_history.record(session, key, lines, now)
    return list(ids[len(ids) - len(replies) :]) if len(ids) == len(lines) else []


def history_of(
    guard: Guard, conversations: Conversations, key: str
) -> tuple[str, list[web_history.Line]]:
    with session_scope(guard.engine) as session:
        lines = web_history.recent(session, key, utcnow())
    return conversations.lang(Incoming(channel=CHANNEL, chat_id=key, user_id=key)), lines


def render(replies: list[Reply], ids: Sequence[int | None] = ()) -> list[dict[str, Any]]:
    """The replies as the page's script takes them; `ids`: their recorded lines, so a
    document links to the route a reload links to as well."""
    links = [f"{DOCUMENTS}{i}" if i is not None else None for i in ids]
    links += [None] * (len(replies) - len(links))
    return [
        {
            "text": shown(r),
            # Markdown answers also as a safe HTML subset (everything escaped first)
            "html": to_html(r.text) if r.markdown else None,
            "kind": r.kind,
            "choices": [{"label": c.label, "action": c.action} for c in r.choices],
            "image": base64.b64encode(r.image).decode() if r.image else None,
            "document": {
                "name": r.document[0],
                "data": base64.b64encode(r.document[1]).decode(),
                "url": link,
            }
            if r.document
            else None,
        }
        for r, link in zip(replies, links, strict=True)
    ]


async def post_message(request: Request, conversations: Conversations, guard: Guard) -> Response:
    if not guard.same_origin(request):
        return JSONResponse({"error": "cross-origin request refused"}, status_code=403)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return JSONResponse({"error": "send application/json"}, status_code=415)
    now = utcnow()
    sid, before = await asyncio.to_thread(guard.live_session_and_link, guard.token(request), now)
    if sid is None:
        return no_session()
    try:  # the body's size is bounded by bot.web.limits (the default 64 KiB)
        data = await request.json()
    except ValueError:
        return JSONResponse({"error": "invalid JSON"}, status_code=400)
    if not isinstance(data, dict):
        return JSONResponse({"error": "expected an object"}, status_code=400)
    text, action = data.get("text"), data.get("action")
    label, quiet = data.get("label"), data.get("quiet", False)
    if not all(isinstance(v, str | None) for v in (text, action, label)):
        return JSONResponse({"error": "text, action and label must be strings"}, status_code=400)
    if not isinstance(quiet, bool):
        return JSONResponse({"error": "quiet must be true or false"}, status_code=400)
    address = client_address(request)
    msg = Incoming(
        channel=CHANNEL,
        chat_id=sid,
        user_id=sid,
        text=text,
        action=(action or None) and action[:64],
        address=address,
    )
    # a quiet turn (the page setting its language) is not shown
    record, ids = (None, []) if quiet else recorder(sid, label if action else text, now)
    answer = await asyncio.to_thread(conversations.answer, msg, now, record=record)
    response = JSONResponse({"replies": render(answer.replies, ids)})
    live, after = await asyncio.to_thread(guard.link_of, sid, now)
    if live and after != before:  # linked (or relinked): the old token must not follow
        fresh = await asyncio.to_thread(guard.rotate, sid, address, now)
        if fresh is not None:
            set_cookie(response, fresh, guard)
    return response


async def poll(request: Request, conversations: Conversations, guard: Guard) -> Response:
    if not guard.own_fetch(request):  # refused before anything is read, let alone taken
        return JSONResponse({"error": "not a request of the chat page"}, status_code=403)
    sid = await asyncio.to_thread(guard.live_session, guard.token(request), utcnow())
    if sid is None:
        return no_session()
    replies = await asyncio.to_thread(conversations.pull_notices, CHANNEL, sid)
    ids: list[int | None] = []
    if replies:
        ids = await asyncio.to_thread(keep, guard, sid, None, replies, utcnow())
    return JSONResponse({"replies": render(replies, ids)})


async def history(request: Request, conversations: Conversations, guard: Guard) -> Response:
    """The session's last lines and its language: the page draws them on load and sends
    `/mulai` only when there are none, so a reload continues the flow in progress."""
    if not guard.own_fetch(request):
        return JSONResponse({"error": "not a request of the chat page"}, status_code=403)
    sid = await asyncio.to_thread(guard.live_session, guard.token(request), utcnow())
    if sid is None:
        return no_session()
    lang, lines = await asyncio.to_thread(history_of, guard, conversations, sid)
    return JSONResponse({"lang": lang, "lines": [line_json(x) for x in lines]})


def document_of(
    guard: Guard, key: str, line_id: int, now: datetime
) -> tuple[str, bytes | None] | None:
    with session_scope(guard.engine) as session:
        return web_history.document(session, key, line_id, now)


async def download(
    request: Request, conversations: Conversations, guard: Guard, line_id: int
) -> Response:
    """A document of the session's own lines, as an attachment. The link is clicked (a
    navigation), so it is not held to `own_fetch`; another site's request is refused,
    and another session's line is not found."""
    if request.headers.get("sec-fetch-site", "").lower() in FOREIGN_FETCH_SITES:
        return PlainTextResponse("cross-site request refused", status_code=403)
    now = utcnow()
    sid = await asyncio.to_thread(guard.live_session, guard.token(request), now)
    if sid is None:
        return PlainTextResponse("session unknown or expired; reload /chat", status_code=401)
    found = await asyncio.to_thread(document_of, guard, sid, line_id, now)
    if found is None:
        return PlainTextResponse("not found", status_code=404)
    name, data = found
    if data is None:  # the page says so too; the text here is for a bookmarked link
        lang = conversations.lang(Incoming(channel=CHANNEL, chat_id=sid, user_id=sid))
        return PlainTextResponse(t("webchat_documents.expired", lang), status_code=410)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def chat_page(request: Request, guard: Guard) -> Response:
    """The chat page. A visitor without a live session gets a new one here: a cookie the
    server did not issue (or that expired) is replaced, never adopted."""
    lang = request.query_params.get("lang", "id")
    lang = lang if lang in ("id", "en") else "id"
    now = utcnow()
    token = guard.token(request)
    fresh: str | None = None
    if await asyncio.to_thread(guard.live_session, token, now) is None:
        fresh = await asyncio.to_thread(guard.new_session, client_address(request), now)
        if fresh is None:
            log.warning("web sessions: address %s over its limit", client_address(request))
            return PlainTextResponse(t("limit.sessions", lang), status_code=429)
    response = templates.TemplateResponse(
        request, "chat.html", {"lang": lang, "texts": catalogue(lang)}
    )
    if fresh is not None:
        set_cookie(response, fresh, guard)
    return response


def subscribe_session(
    guard: Guard, key: str, service_id: str, lang: str, now: datetime
) -> str | None:
    """Subscribe the chat `key` to the service; the refusal's text, if any."""
    try:
        with session_scope(guard.engine) as session:
            chat = subscriptions.Chat(CHANNEL, key, web_sessions.person_of(session, key), lang)
            sub, _ = subscriptions.subscribe(session, service_id, chat, via="status_page", now=now)
            subscriptions.confirm_by_notice(session, sub, lang, now)
    except HelpdeskError as exc:
        return t(exc.key, lang, **exc.params)
    return None


async def subscribe_form(request: Request, guard: Guard) -> Response:
    """The status page's "Langganan" button: a plain form (the page runs no script of its
    own), which subscribes the visitor's web chat session, a new one if it has none, and
    opens the chat, where the notices arrive. Only from our own pages: a form another
    site posts is refused before anything is read."""
    if not guard.same_origin(request) or (
        request.headers.get("sec-fetch-site", "").lower() in FOREIGN_FETCH_SITES
    ):
        return PlainTextResponse("cross-origin request refused", status_code=403)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return PlainTextResponse("send a form", status_code=415)
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=4)
    lang = norm_lang((form.get("lang") or ["id"])[0])
    service_id = (form.get("service") or [""])[0].strip()[:64]
    now = utcnow()
    fresh: str | None = None
    key = await asyncio.to_thread(guard.live_session, guard.token(request), now)
    if key is None:
        fresh = await asyncio.to_thread(guard.new_session, client_address(request), now)
        if fresh is None:
            return PlainTextResponse(t("limit.sessions", lang), status_code=429)
        key = web_sessions.chat_key(fresh)
    refusal = await asyncio.to_thread(subscribe_session, guard, key, service_id, lang, now)
    response: Response
    if refusal is None:
        response = RedirectResponse("/chat" if lang == "id" else "/chat?lang=en", status_code=303)
    else:
        response = PlainTextResponse(refusal, status_code=404)
    if fresh is not None:
        set_cookie(response, fresh, guard)
    return response


def routes(helpdesk: Helpdesk, _slot: Slot[None]) -> Sequence[BaseRoute]:
    conversations = helpdesk.conversations
    guard = Guard.from_helpdesk(helpdesk)

    async def page(request: Request) -> Response:
        return await chat_page(request, guard)

    async def api(request: Request) -> Response:
        return await post_message(request, conversations, guard)

    async def notices(request: Request) -> Response:
        return await poll(request, conversations, guard)

    async def past(request: Request) -> Response:
        return await history(request, conversations, guard)

    async def subscribe(request: Request) -> Response:
        return await subscribe_form(request, guard)

    async def document(request: Request) -> Response:
        return await download(request, conversations, guard, request.path_params["line_id"])

    return [
        Route("/chat", page),
        Route("/chat/subscribe", subscribe, methods=["POST"]),
        Route("/api/chat", api, methods=["POST"]),
        Route("/api/chat/notices", notices),
        Route("/api/chat/history", past),
        Route(DOCUMENTS + "{line_id:int}", document),
    ]


def enabled(_settings: Settings) -> bool:
    """Always served: the agency's own site needs no platform account."""
    return True


SPEC: ChannelSpec[None] = ChannelSpec(
    name=CHANNEL,
    enabled=enabled,
    capabilities=Capabilities(
        delivery="pull", buttons=True, images=True, documents=True, anonymous=True
    ),
    routes=routes,
)
