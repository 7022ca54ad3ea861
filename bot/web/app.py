"""The ASGI app: health, the status page, and the routes of the chat channels it serves.

The scheduler and the chat channels start and stop in the lifespan, in this one event
loop, so one process can be the whole product; `helpdesk run` adds worker processes
(`run_worker`) that run the same lifespan without serving HTTP. Channels come as specs
(bot.channels.base.ChannelSpec): the app mounts the routes each declares and runs each
start hook, knowing no platform by name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.channels import registry
from bot.channels.base import ChannelSpec, Slot
from bot.core import summary
from bot.delivery import Deliverer
from bot.intake import Intake, IntakePolicy
from bot.jobs import Jobs
from bot.reports.charts import summary_availability
from bot.runtime import Helpdesk
from bot.web import alertmanager_hook, calendar_feed, metrics, status
from bot.web.chart_cache import ChartCache, ScopeKey
from bot.web.headers import SecurityHeaders
from bot.web.limits import BodyLimit
from storage.db import read_session
from storage.models import utcnow

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent


def channel_routes(
    helpdesk: Helpdesk,
    specs: Sequence[ChannelSpec[Any]],
    slots: Sequence[Slot[Any]],
    reserved: Iterable[BaseRoute],
) -> list[BaseRoute]:
    """The routes the channels declare; a path claimed twice (by two channels, or by a
    channel and the app itself) is a mistake, refused when the app is built."""
    routes: list[BaseRoute] = []
    claimed = {getattr(r, "path", ""): "the web app" for r in reserved}
    for spec, slot in zip(specs, slots, strict=True):
        for route in spec.routes(helpdesk, slot):
            path = getattr(route, "path", "")
            if path in claimed:
                raise ValueError(f"{spec.name} and {claimed[path]} both declare {path}")
            claimed[path] = spec.name
            routes.append(route)
    return routes


def create_app(
    helpdesk: Helpdesk,
    *,
    channels: Sequence[ChannelSpec[Any]] | None = None,
    run_jobs: bool = True,
    work: bool = True,
) -> Starlette:
    """`channels`: the channels to serve; by default those the settings enable
    (bot.channels.registry). Their running objects end up in `app.state.channels`.
    `work=False`: a web process beside worker processes (`helpdesk run` with
    HELPDESK_WORKER_PROCESSES): it stores and acknowledges what platforms post and
    answers the web chat, and leaves the inbox's events to the workers."""
    specs = list(registry.enabled_specs(helpdesk.settings) if channels is None else channels)
    slots: list[Slot[Any]] = [Slot(spec.name) for spec in specs]

    async def healthz(_: Request) -> Response:
        def ping() -> None:
            with read_session(helpdesk.engine) as session:  # not behind SQLite's writer
                session.execute(sa.text("SELECT 1"))

        try:
            await asyncio.to_thread(ping)
            stale_after = timedelta(seconds=helpdesk.settings.scheduler_stale_seconds)
            found = await asyncio.to_thread(metrics.health, helpdesk.engine, utcnow(), stale_after)
        except Exception as exc:
            log.warning("health check: database unreachable: %s", exc.__class__.__name__)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        # a stale scheduler is reported, not failed: the web process does not run the jobs
        return JSONResponse(
            {
                "status": "degraded" if found.scheduler == "stale" else "ok",
                "database": helpdesk.engine.dialect.name,
                **found.as_json(),
            }
        )

    charts = ChartCache()

    async def availability_chart(request: Request) -> Response:
        """Public like the status page: channels that show images by URL (Slack) link here.
        Drawn at most every five minutes per resolved scope (bot.web.chart_cache), so the
        URL cannot load the process; a scope that names no service is 404, not a draw."""
        scope = request.query_params.get("scope", "")[:100]

        def resolve() -> summary.Scope:
            with read_session(helpdesk.engine) as session:
                return summary.scope_for(session, scope)

        name, ids = await asyncio.to_thread(resolve)
        if ids == []:
            return Response(status_code=404)
        key: ScopeKey = None if ids is None else tuple(sorted(ids))

        def draw() -> bytes | None:
            # from the resolved scope, never the raw spelling: the chart is the key's
            resolved = (name, None if key is None else list(key))
            with read_session(helpdesk.engine) as session:
                built = summary.build(
                    session, utcnow(), helpdesk.settings.timezone, resolved=resolved
                )
            return summary_availability(built)

        png = await charts.get(key, draw)
        if png is None:
            return Response(status_code=404)
        return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=300"})

    async def root(_: Request) -> Response:
        return RedirectResponse("/chat")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        deliverer = Deliverer.from_settings(
            helpdesk.engine, helpdesk.settings, registry.pacing(specs)
        )
        app.state.deliverer = deliverer
        intake = Intake(helpdesk.engine, IntakePolicy.from_settings(helpdesk.settings, claims=work))
        app.state.intake = intake
        async with AsyncExitStack() as stack:
            await intake.start()
            stack.push_async_callback(intake.stop)  # after the channels stopped putting
            alertmanager_hook.register(helpdesk, intake)
            for spec, slot in zip(specs, slots, strict=True):
                if spec.start is None:
                    continue
                channel = await spec.start(helpdesk, deliverer, intake, stack)
                slot.put(channel)
                stack.callback(slot.clear)  # unwound first: routes refuse before it stops
                app.state.channels[spec.name] = channel
            if run_jobs:
                jobs = Jobs(helpdesk, deliverer)
                jobs.start()
                stack.callback(jobs.shutdown)
            yield

    routes: list[BaseRoute] = [
        Route("/", root),
        Route("/healthz", healthz),
        Route("/charts/availability-7d.png", availability_chart),
        Mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static"),
    ]
    routes += status.routes(helpdesk)  # /status, /api/status
    routes += alertmanager_hook.routes(helpdesk)
    routes += metrics.routes(helpdesk)  # /metrics
    routes += calendar_feed.routes(helpdesk)  # /maintenance.ics
    routes += channel_routes(helpdesk, specs, slots, reserved=routes)
    limits = {**alertmanager_hook.BODY_LIMITS}
    for spec in specs:
        limits.update(spec.body_limits)
    middleware = [
        Middleware(SecurityHeaders, https=helpdesk.settings.public_url.startswith("https://")),
        Middleware(BodyLimit, limits=limits),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.helpdesk = helpdesk
    app.state.charts = charts
    app.state.channels = {}
    return app
