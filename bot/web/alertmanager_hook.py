"""POST /alerts/alertmanager: Alertmanager's webhook. A post is checked (token, size,
shape), written to the inbox and answered at once; a worker applies it to the outages
(bot.core.alertmanager.ingest). Posts share one lane, so firing and resolved arrive at
the outages in the order Alertmanager sent them. A refused token reaches the admins."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.core import alertmanager
from bot.intake import Intake
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.inbox import Arrival
from storage.models import utcnow

log = logging.getLogger(__name__)

PATH = "/alerts/alertmanager"
SOURCE = LANE = "alertmanager"
#: a group of 5,000 alerts with labels, annotations and links runs to about 4 MiB
BODY_LIMITS = {PATH: 8 << 20}


def _authorized(request: Request, token: str | None) -> bool:
    if not token:
        return False
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def routes(helpdesk: Helpdesk) -> list[Route]:
    settings = helpdesk.settings

    rules = alertmanager.Rules.from_settings(settings)
    told: set[int] = set()  # intervals this process already told the admins of

    def refused(address: str) -> None:
        """Admins hear of refused posts once per notice interval, and this process touches
        the database for it once per interval at most, so a flood costs no writes."""
        now = utcnow()
        bucket = int(now.timestamp() // max(1.0, rules.notice_interval.total_seconds()))
        if bucket in told:
            return
        told.clear()
        told.add(bucket)
        log.warning("alertmanager: refused a post with a bad token from %s", address)
        with session_scope(helpdesk.engine) as s:
            alertmanager.tell_admins(
                s, "refused_token", now, rules.notice_interval, address=address[:64]
            )

    async def hook(request: Request) -> Response:
        token = (
            settings.alertmanager_token.get_secret_value() if settings.alertmanager_token else None
        )
        if not _authorized(request, token):
            await asyncio.to_thread(refused, request.client.host if request.client else "?")
            return JSONResponse(
                {"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        body = await request.body()
        try:
            payload = alertmanager.parse(body)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        intake: Intake | None = getattr(request.app.state, "intake", None)
        if intake is None:
            return JSONResponse({"error": "starting"}, status_code=503)
        # the same post again (Alertmanager's own retry) is the same event
        key = hashlib.sha256(body).hexdigest()
        await intake.put(Arrival(SOURCE, key, LANE, json.dumps(payload)))
        return JSONResponse({"status": "accepted"})

    return [Route(PATH, hook, methods=["POST"])]


def register(helpdesk: Helpdesk, intake: Intake) -> None:
    """The worker side: apply a stored post to the outages, in its own transaction."""
    rules = alertmanager.Rules.from_settings(helpdesk.settings)

    def apply(payload: str) -> None:
        with session_scope(helpdesk.engine) as s:  # the whole group in one transaction
            result = alertmanager.ingest(s, json.loads(payload), utcnow(), rules=rules)
        if result["ignored"]:  # the admins have a notice (rate limited) as well
            log.info("alertmanager: %d alerts for unknown services", len(result["ignored"]))

    async def handle(payload: str) -> None:
        await asyncio.to_thread(apply, payload)

    intake.register(SOURCE, handle)
