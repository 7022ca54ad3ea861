"""The running channel: the Graph API client, the inbound side and the outbox
transport, and the `/whatsapp/webhook` route (Meta's verification handshake on GET,
signed change notifications on POST)."""

from __future__ import annotations

import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.channels.whatsapp._graph import Graph
from bot.channels.whatsapp._inbound import SIGNATURE_HEADER, Inbound, arrivals_of, signature_ok
from bot.channels.whatsapp._outgoing import Sender
from bot.channels.whatsapp._transport import WhatsAppTransport
from bot.config import Settings
from bot.runtime import Helpdesk

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/whatsapp/webhook"
#: Meta's notifications are a few kilobytes; batches stay well below this
MAX_BODY_BYTES = 1024 * 1024


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else ""


def build_graph(settings: Settings) -> Graph:
    if not (settings.whatsapp_access_token and settings.whatsapp_phone_number_id):
        raise ValueError("WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID must be set")
    return Graph(
        settings.whatsapp_api_base_url,
        settings.whatsapp_phone_number_id,
        _secret(settings.whatsapp_access_token),
    )


class WhatsAppChannel:
    def __init__(self, helpdesk: Helpdesk, graph: Graph) -> None:
        settings = helpdesk.settings
        self.graph = graph
        self.phone_number_id = str(settings.whatsapp_phone_number_id or "")
        self.sender = Sender(graph)
        self.inbound = Inbound(helpdesk.conversations, helpdesk.engine, self.sender)
        self.transport = WhatsAppTransport(self.sender, helpdesk.engine, settings)
        self._app_secret = _secret(settings.whatsapp_app_secret).encode()
        self._verify_token = _secret(settings.whatsapp_verify_token).encode()

    async def aclose(self) -> None:
        await self.graph.aclose()

    async def webhook(self, request: Request) -> Response:
        if request.method == "GET":
            return self.verify(request)
        body = await request.body()  # the body limit is enforced before this (bot.web.limits)
        if not signature_ok(self._app_secret, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning(
                "whatsapp webhook call with a wrong or missing signature from %s", request.client
            )
            return Response(status_code=401)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return Response(status_code=400)
        if not isinstance(data, dict) or data.get("object") != "whatsapp_business_account":
            return Response(status_code=400)
        arrivals = arrivals_of(data, self.phone_number_id)
        if arrivals:
            await self.inbound.put(arrivals)  # stored: processed by the inbox's workers
        return Response(status_code=200)

    def verify(self, request: Request) -> Response:
        """Meta's subscription handshake: the challenge back when the token is ours."""
        query = request.query_params
        given = query.get("hub.verify_token", "").encode("utf-8", "replace")
        if (
            query.get("hub.mode") == "subscribe"
            and self._verify_token
            and hmac.compare_digest(given, self._verify_token)
        ):
            return PlainTextResponse(query.get("hub.challenge", ""))
        log.warning("whatsapp webhook verification with a wrong token from %s", request.client)
        return Response(status_code=403)
