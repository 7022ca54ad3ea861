"""The ASGI app: health, the web chat, and (when configured) the platform endpoints.

The scheduler and the chat platforms start and stop in the lifespan, in this one event
loop, so a single `helpdesk run` process is the whole product.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.channels import webchat
from bot.core import summary
from bot.delivery import Deliverer
from bot.i18n import catalogue
from bot.jobs import Jobs
from bot.runtime import Helpdesk
from bot.web import status
from storage.models import utcnow

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))

#: Hooks that start a channel inside the lifespan: (helpdesk, app, deliverer, stack) -> None.
ChannelStarter = Callable[[Helpdesk, Starlette, Deliverer, AsyncExitStack], Awaitable[None]]


def create_app(
    helpdesk: Helpdesk,
    *,
    channel_starters: list[ChannelStarter] | None = None,
    run_jobs: bool = True,
) -> Starlette:
    conversations = helpdesk.conversations
    secure_cookie = helpdesk.settings.public_url.startswith("https://")

    async def healthz(_: Request) -> Response:
        def ping() -> None:
            with helpdesk.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

        try:
            await asyncio.to_thread(ping)
        except Exception as exc:
            log.warning("health check: database unreachable: %s", exc.__class__.__name__)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": helpdesk.engine.dialect.name})

    async def chat_page(request: Request) -> Response:
        lang = request.query_params.get("lang", "id")
        lang = lang if lang in ("id", "en") else "id"
        response = templates.TemplateResponse(
            request, "chat.html", {"lang": lang, "texts": catalogue(lang)}
        )
        if webchat.session_id(request) is None:
            webchat.set_cookie(response, webchat.new_session_id(), secure_cookie)
        return response

    async def chat_api(request: Request) -> Response:
        return await webchat.post_message(request, conversations)

    async def chat_poll(request: Request) -> Response:
        return await webchat.poll(request, conversations)

    charts: dict[str, tuple[float, bytes | None]] = {}

    async def availability_chart(request: Request) -> Response:
        """Public like the status page: channels that show images by URL (Slack) link here.
        Drawn at most every five minutes per scope, so the URL cannot load the database."""
        scope = request.query_params.get("scope", "")[:100]

        def draw() -> bytes | None:
            with Session(helpdesk.engine) as session:
                return summary.chart(
                    summary.build(session, utcnow(), helpdesk.settings.timezone, scope)
                )

        cached = charts.get(scope)
        if cached is not None and time.monotonic() - cached[0] < 300:
            png = cached[1]
        else:
            png = await asyncio.to_thread(draw)
            if len(charts) > 500:
                charts.clear()
            charts[scope] = (time.monotonic(), png)
        if png is None:
            return Response(status_code=404)
        return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=300"})

    async def root(_: Request) -> Response:
        return RedirectResponse("/chat")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        deliverer = Deliverer.from_settings(helpdesk.engine, helpdesk.settings)
        app.state.deliverer = deliverer
        async with AsyncExitStack() as stack:
            for start in channel_starters or []:
                await start(helpdesk, app, deliverer, stack)
            if run_jobs:
                jobs = Jobs(helpdesk, deliverer)
                jobs.start()
                stack.callback(jobs.shutdown)
            yield

    routes = [
        Route("/", root),
        Route("/healthz", healthz),
        Route("/charts/availability-7d.png", availability_chart),
        Route("/chat", chat_page),
        Route("/api/chat", chat_api, methods=["POST"]),
        Route("/api/chat/notices", chat_poll),
        Mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static"),
    ]
    routes += status.routes(helpdesk)  # /status, /api/status, /alerts/alertmanager
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.helpdesk = helpdesk
    return app
