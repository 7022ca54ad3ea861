"""Our web app under test with the WhatsApp channel started against a FakeCloudApi:
signed webhook POSTs into /whatsapp/webhook over real HTTP, and the outbox run by hand."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from pydantic import SecretStr

from tests.channels.fake_whatsapp import APP_SECRET, VERIFY_TOKEN, FakeCloudApi, Webhooks
from tests.channels.telegram_harness import AppServer


class WhatsAppUnderTest:
    def __init__(
        self, helpdesk: Any, api: FakeCloudApi, *, templates: dict[str, str] | None = None
    ) -> None:
        from bot.channels import whatsapp
        from bot.web.app import create_app

        settings = helpdesk.settings.model_copy(
            update={
                "whatsapp_access_token": SecretStr(api.token),
                "whatsapp_phone_number_id": api.phone_number_id,
                "whatsapp_app_secret": SecretStr(APP_SECRET),
                "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
                "whatsapp_api_base_url": api.base_url,
                "whatsapp_templates": templates or {},
                # the outbox's own pacing runs on the wall clock: tests deliver back to back
                "delivery_channel_rates": {},
                "delivery_target_intervals": {},
            }
        )
        self.helpdesk = dataclasses.replace(helpdesk, settings=settings)
        self.api = api
        self.hooks = Webhooks()
        self.app = create_app(self.helpdesk, channels=[whatsapp.SPEC], run_jobs=False)
        self.server = AppServer(self.app)

    def __enter__(self) -> WhatsAppUnderTest:
        self.server.start()
        self.channel.sender._sleep = _no_sleep  # replies' throttling waits: tested by count
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stop()

    @property
    def channel(self) -> Any:
        return self.app.state.channels["whatsapp"]

    @property
    def errors(self) -> list[BaseException]:
        return list(self.channel.inbound.errors)

    @property
    def url(self) -> str:
        return f"{self.server.url}/whatsapp/webhook"

    def post_raw(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return httpx.post(self.url, content=body, headers=headers, timeout=30)

    def post(self, data: dict[str, Any]) -> int:
        """A signed POST; returns once the inbox's workers have processed it."""
        body = self.hooks.encode(data)
        status = self.post_raw(body, self.hooks.sign(body)).status_code
        self.settle()
        return status

    def say(self, wa_id: str, text: str, **kwargs: Any) -> list[Any]:
        mark = self.api.mark()
        assert self.post(self.hooks.text(wa_id, text, **kwargs)) == 200
        return self.api.since(mark)

    def press(self, wa_id: str, action: str, **kwargs: Any) -> list[Any]:
        mark = self.api.mark()
        assert self.post(self.hooks.button(wa_id, action, **kwargs)) == 200
        return self.api.since(mark)

    def settle(self) -> None:
        self.server.run(self.app.state.intake.idle())

    def deliver(self, now: Any = None) -> int:
        return int(self.server.run(self.app.state.deliverer.tick(now)))


async def _no_sleep(_seconds: float) -> None:
    return None


def body_text(call: Any) -> str:
    """The text a sent message shows (a text's body, an interactive's body)."""
    b = call.body
    if b["type"] == "text":
        return str(b["text"]["body"])
    if b["type"] == "interactive":
        return str(b["interactive"]["body"]["text"])
    if b["type"] == "template":
        return str(b["template"]["components"][0]["parameters"][0]["text"])
    return ""


def actions_of(call: Any) -> list[str]:
    inter = call.body.get("interactive") or {}
    if inter.get("type") == "button":
        return [b["reply"]["id"] for b in inter["action"]["buttons"]]
    if inter.get("type") == "list":
        return [r["id"] for s in inter["action"]["sections"] for r in s["rows"]]
    return []


def titles_of(call: Any) -> list[str]:
    inter = call.body.get("interactive") or {}
    if inter.get("type") == "button":
        return [b["reply"]["title"] for b in inter["action"]["buttons"]]
    if inter.get("type") == "list":
        return [r["title"] for s in inter["action"]["sections"] for r in s["rows"]]
    return []
