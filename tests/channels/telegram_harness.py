"""Our web app under test: uvicorn on 127.0.0.1 (port 0) in its own thread and loop,
with the Telegram channel started in the lifespan against a FakeBotApi."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Coroutine
from typing import Any

import uvicorn

from tests.channels.fake_telegram import FakeBotApi


class AppServer:
    """Our ASGI app under uvicorn on 127.0.0.1 (port 0), in a thread with its own loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> AppServer:
        def serve() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            with contextlib.suppress(SystemExit):  # uvicorn exits when the lifespan fails to start
                self.loop.run_until_complete(self.server.serve())
            self.loop.close()

        self._thread = threading.Thread(target=serve, name="app-under-test", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start (see the log for the lifespan error)")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        """Run a coroutine in the app's loop (the Deliverer's tick, for example)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(20)


class BotUnderTest:
    """Our whole web app with the Telegram channel started against a FakeBotApi."""

    SECRET = "s3cret-webhook_token"

    def __init__(
        self,
        helpdesk: Any,
        api: FakeBotApi,
        *,
        webhook: bool = True,
        operator_chats: tuple[int, ...] = (),
        chat_rate: float = 100.0,
    ) -> None:
        import dataclasses

        from pydantic import SecretStr

        from bot.channels import telegram
        from bot.web.app import create_app

        settings = helpdesk.settings.model_copy(
            update={
                "telegram_bot_token": SecretStr(api.token),
                "telegram_api_base_url": api.url,
                "telegram_webhook_url": "https://helpdesk.example.go.id/telegram/webhook"
                if webhook
                else None,
                "telegram_webhook_secret": SecretStr(self.SECRET) if webhook else None,
                "telegram_operator_chats": list(operator_chats),
                # the outbox's own pacing runs on the wall clock: tests deliver back to back
                "delivery_channel_rates": {},
                "delivery_target_intervals": {},
            }
        )
        self.helpdesk = dataclasses.replace(helpdesk, settings=settings)
        self.api = api
        self.webhook = webhook
        self.chat_rate = chat_rate
        self.app = create_app(self.helpdesk, channels=[telegram.SPEC], run_jobs=False)
        self.server = AppServer(self.app)

    def __enter__(self) -> BotUnderTest:
        from bot.channels.telegram import ChatPacer

        self.server.start()
        # private-chat pacing is tested on its own; here it would only make tests slow
        self.channel.sender.pacer = ChatPacer(rate=self.chat_rate, burst=3)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stop()

    @property
    def channel(self) -> Any:
        return self.app.state.channels["telegram"]

    @property
    def errors(self) -> list[BaseException]:
        return list(self.channel.inbound.errors)

    def post(self, update: dict[str, Any] | bytes, secret: str | None = SECRET) -> int:
        """POST to our webhook route; it answers once the update is stored in the inbox,
        and this returns once the inbox's workers have processed it."""
        import httpx

        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers["Content-Type"] = "application/json"
        response = httpx.post(
            f"{self.server.url}/telegram/webhook", content=body, headers=headers, timeout=30
        )
        self.settle()
        return response.status_code

    def settle(self) -> None:
        """Until the inbox has no unfinished event (what the workers do after the ack)."""
        self.server.run(self.app.state.intake.idle())
        self.server.run(self.channel.inbound.answered())

    def send(self, update: dict[str, Any]) -> None:
        """Deliver an update the way the mode does: webhook POST, or getUpdates."""
        if self.webhook:
            assert self.post(update) == 200
        else:
            self.api.push_update(update)

    def deliver(self, now: Any = None) -> int:
        """One outbox pass (the scheduler's job, run by hand)."""
        return int(self.server.run(self.app.state.deliverer.tick(now)))
