"""Hands outbox notices to the push channels (Telegram, Slack) with bounded retries.

A channel registers a `Transport`; `delivery_tick(now)` claims due notices, sends them,
and records sent, retry-later with exponential backoff, or failed with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from bot.core import alerts, notices
from storage.db import session_scope
from storage.models import Notice, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=30)


class TransportError(Exception):
    """A send that failed; `permanent` means retrying cannot help (blocked bot, bad chat)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Transport(Protocol):
    """Sends one notice. Kinds: "alert.post" (return the platform's message reference, so
    the post can be edited later), "alert.edit" (payload["message_ref"] to edit), anything
    else is a plain message: payload["text"] with optional payload["choices"]."""

    async def send(self, notice: Notice) -> str | None: ...


@dataclass
class Deliverer:
    engine: Engine
    transports: dict[str, Transport] = field(default_factory=dict)

    def register(self, channel: str, transport: Transport) -> None:
        self.transports[channel] = transport

    async def tick(self, now: datetime | None = None, limit: int = 50) -> int:
        """One delivery pass; returns how many notices were sent."""
        if not self.transports:
            return 0
        now = now or utcnow()
        batch = await asyncio.to_thread(self._claim, now, limit)
        sent = 0
        for notice in batch:
            transport = self.transports[notice.channel]
            try:
                ref = await transport.send(notice)
            except TransportError as exc:
                await asyncio.to_thread(self._failed, notice, exc, now)
            except Exception as exc:  # an adapter bug must not stop delivery of the rest
                log.exception("transport %s crashed on notice %s", notice.channel, notice.id)
                await asyncio.to_thread(self._failed, notice, TransportError(repr(exc)), now)
            else:
                await asyncio.to_thread(self._sent, notice, ref)
                sent += 1
        return sent

    def _claim(self, now: datetime, limit: int) -> list[Notice]:
        with session_scope(self.engine) as s:
            batch = notices.claim(s, channels=set(self.transports), now=now, limit=limit)
            for notice in batch:
                if notice.kind.startswith("alert."):
                    alerts.refresh_payload(s, notice)
            return batch

    def _sent(self, notice: Notice, ref: str | None) -> None:
        with session_scope(self.engine) as s:
            notices.mark_sent(s, notice.id or 0)
            if notice.kind == "alert.post":
                alerts.record_post(
                    s, notice.payload["alert_id"], notice.channel, notice.target, ref, notice.payload.get("text", "")
                )

    def _failed(self, notice: Notice, exc: TransportError, now: datetime) -> None:
        give_up = exc.permanent or notice.attempts >= MAX_ATTEMPTS
        if exc.retry_after is not None:
            delay = timedelta(seconds=exc.retry_after)
        else:
            delay = min(BASE_BACKOFF * (2 ** max(notice.attempts - 1, 0)), MAX_BACKOFF)
        log.warning("notice %s to %s failed (attempt %s): %s", notice.id, notice.channel, notice.attempts, exc)
        with session_scope(self.engine) as s:
            notices.mark_failed(s, notice.id or 0, str(exc), permanent=give_up, retry_at=now + delay)
