"""Outbox notices to Slack, and what a failed Web API call means for a retry.

`alert.post` returns the message ts (the channel is the notice's target), so the
Deliverer can record it and `alert.edit` can later `chat.update` the same message.
A post to a person (a user id, as change requests go to their approvers) lands in their
DM, and chat.update needs the DM's id, not the user's: the reference is then
"D…/ts" (`message_ref`, `edit_target`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import choices_of
from bot.channels.slack._blocks import message
from bot.delivery import EDIT_KINDS, TransportError
from bot.dialogue.messages import Reply
from storage.models import Notice

log = logging.getLogger(__name__)

#: Retrying cannot help: the channel is gone, the bot is not in it, the user left,
#: the token is dead, or the message itself is refused.
PERMANENT_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "account_inactive", "user_not_found",
    "user_disabled", "invalid_auth", "not_authed", "token_revoked", "token_expired", "no_permission",
    "missing_scope", "restricted_action", "cant_update_message", "message_not_found", "edit_window_closed",
    "msg_too_long", "invalid_blocks", "invalid_blocks_format", "no_text", "too_many_attachments",
})  # fmt: skip
DEFAULT_RETRY_AFTER = 5.0


def header(headers: Any, name: str) -> str | None:
    """A header from aiohttp's multidict or slack_sdk's dict of lists, case-insensitively."""
    if not headers:
        return None
    for key in headers:
        if str(key).lower() == name.lower():
            value = headers[key]
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            return None if value is None else str(value)
    return None


def retry_after(headers: Any) -> float:
    value = header(headers, "Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


class ShortRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """Waits out a short 429 in place (slack_sdk sleeps Retry-After, plus jitter); a long
    one goes back to the caller, so the outbox reschedules instead of holding a delivery
    pass, and a chat reply gives up rather than arriving minutes late."""

    def __init__(self, max_wait: float = 5.0, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        return retry_after(response.headers) <= self.max_wait


def retry_handlers(max_wait: float = 5.0) -> list[AsyncRetryHandler]:
    return [AsyncConnectionErrorRetryHandler(), ShortRateLimitRetry(max_wait)]


def transport_error(exc: Exception) -> TransportError:
    """The Deliverer's view of a failed call: give up, retry after N seconds, or back off."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        error = str(response.get("error", "")) if hasattr(response, "get") else ""
        status = getattr(response, "status_code", 0)
        if status == 429 or error == "ratelimited":
            return TransportError(
                "slack: ratelimited", retry_after=retry_after(getattr(response, "headers", None))
            )
        if error in PERMANENT_ERRORS:
            return TransportError(f"slack: {error}", permanent=True)
        return TransportError(f"slack: {error or f'HTTP {status}'}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return TransportError(f"slack unreachable: {exc.__class__.__name__}")
    return TransportError(f"slack: {exc!r}")


def message_ref(target: str, response: Any) -> str:
    """The ts of a post, with the channel it landed in when that is not the target."""
    ts, channel = str(response["ts"]), str(response.get("channel") or target)
    return ts if channel == target else f"{channel}/{ts}"


def edit_target(target: str, ref: str) -> tuple[str, str]:
    """(channel, ts) for chat.update from a kept reference."""
    channel, _, ts = ref.rpartition("/")
    return (channel or target), ts


class SlackTransport:
    """The Deliverer's adapter for channel "slack"; targets are channel or user ids."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def send(self, notice: Notice) -> str | None:
        payload = notice.payload or {}
        body = message([Reply(str(payload.get("text", "")), choices_of(payload.get("choices")))])
        try:
            if notice.kind in EDIT_KINDS:
                ref = payload.get("message_ref")
                if not ref:
                    raise TransportError(
                        f"slack: {notice.kind} without message_ref", permanent=True
                    )
                channel, ts = edit_target(notice.target, str(ref))
                await self.client.chat_update(channel=channel, ts=ts, **body)
                return str(ref)
            response = await self.client.chat_postMessage(channel=notice.target, **body)
            return message_ref(notice.target, response)
        except TransportError:
            raise
        except Exception as exc:
            raise transport_error(exc) from exc
