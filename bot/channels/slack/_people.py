"""Who a Slack user is: linked to a known person by the e-mail of their Slack profile
(users.info), otherwise an unlinked pengguna until they send the one-time code.

Two small in-process caches, both safe across replicas because they only save calls:
the DM channel of a user (never changes) and users whose e-mail matched nobody (retried
after `MISS_TTL`).
"""

from __future__ import annotations

import asyncio
import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine

from bot.channels.base import is_linked, link_by_email, person_lang

log = logging.getLogger(__name__)

CHANNEL = "slack"
MISS_TTL = 600.0


class SlackPeople:
    def __init__(self, client: AsyncWebClient, engine: Engine) -> None:
        self.client = client
        self.engine = engine
        self._dm: dict[str, str] = {}
        self._misses: dict[str, tuple[float, str | None]] = {}

    async def dm_channel(self, user: str) -> str:
        """The bot's DM with the user: where their conversation and notices live. Without
        im:write the user id stands in (chat.postMessage to a user id lands in the DM too)."""
        if user not in self._dm:
            try:
                response = await self.client.conversations_open(users=user)
                self._dm[user] = str(response["channel"]["id"])
            except SlackApiError as exc:
                log.warning(
                    "slack conversations.open %s failed: %s", user, exc.response.get("error")
                )
                return user
        return self._dm[user]

    def remember_dm(self, user: str, channel: str) -> None:
        self._dm.setdefault(user, channel)

    async def link(self, user: str) -> str | None:
        """Link an unknown user by e-mail if possible; returns their Slack name when it
        was looked up (the core names a new pengguna after it)."""
        if await asyncio.to_thread(is_linked, self.engine, CHANNEL, user):
            return None
        missed = self._misses.get(user)
        if missed and missed[0] > time.monotonic():
            return missed[1]
        name: str | None = None
        email: str | None = None
        try:
            info = (await self.client.users_info(user=user))["user"]
            profile = info.get("profile") or {}
            name = profile.get("real_name") or info.get("real_name") or info.get("name")
            if not info.get("is_bot") and not info.get("deleted"):
                email = profile.get("email")
        except SlackApiError as exc:
            log.info("slack users.info %s failed: %s", user, exc.response.get("error"))
        except Exception as exc:  # an unreachable API must not stop the conversation
            log.warning("slack users.info %s failed: %r", user, exc)
        if email:
            linked: bool = await asyncio.to_thread(
                link_by_email, self.engine, CHANNEL, user, email, name
            )
            if linked:
                return name
        self._misses[user] = (time.monotonic() + MISS_TTL, name)
        return name

    def lang(self, user: str) -> str:
        """Language for texts we render ourselves (modals, App Home, summaries)."""
        return person_lang(self.engine, CHANNEL, user)
