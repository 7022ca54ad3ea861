"""What a chat channel is to the rest of the product, and the pieces every adapter shares.

A channel is one `ChannelSpec`: its name, whether the settings turn it on, what the
platform can show, how fast the outbox may send to it, the HTTP routes it answers and a
start hook run in the web app's lifespan. The web app, the Deliverer and the scheduled
posts read specs from `bot.channels.registry`; none of them names a platform, so a new
channel is its own package plus one line in the registry.

The shared pieces below exist because every adapter needs them the same way: platforms
redeliver (first-delivery dedupe in the database), cap message lengths in their own
units (`split_text` with a length measure), and know users by their own ids (language,
choices from outbox payloads, linking a platform account to a known person by e-mail).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.config import Settings
from bot.core import people
from bot.delivery import Deliverer, Pacing
from bot.dialogue.messages import Choice
from bot.i18n import norm_lang
from bot.intake import Intake
from bot.runtime import Helpdesk
from storage.db import insert_for, session_scope
from storage.inbound import KEY_LENGTH, first_delivery
from storage.models import Identity, Person, utcnow

log = logging.getLogger(__name__)

C = TypeVar("C")
#: the length of a text in a platform's own units (characters, UTF-16 code units, …)
Measure = Callable[[str], int]
#: runs in the web app's lifespan: starts the channel (registering its outbox transport
#: with the Deliverer when it is a push channel, and the handlers of its inbox events
#: with the Intake when its routes put events there), pushes its stop onto the stack,
#: and returns the running channel, which the channel's routes reach through its Slot.
StartHook = Callable[[Helpdesk, Deliverer, Intake, AsyncExitStack], Awaitable[C]]
#: the routes a channel answers in this app, given the helpdesk and the Slot its running
#: channel will be in; declared when the app is built, so nothing is added later.
RouteFactory = Callable[[Helpdesk, "Slot[C]"], Sequence[BaseRoute]]


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Capabilities:
    """What the platform can show. `delivery`: "push" channels get outbox notices sent
    by a transport; "pull" channels (web chat, console) collect them when the user is
    there. `max_length`: the longest text the platform shows as one unit (a Telegram
    message, a Slack section block), in `measure` units; None for no limit.
    `anonymous`: anyone can open a chat without an account (the web chat), so the P1/P2
    of a reporter not linked to a known person waits for an operator's triage
    (bot.core.triage) instead of paging."""

    delivery: Literal["push", "pull"]
    anonymous: bool = False
    buttons: bool = False
    edits: bool = False
    images: bool = False
    documents: bool = False
    max_length: int | None = None
    measure: Measure = len

    @property
    def push(self) -> bool:
        return self.delivery == "push"

    def split(self, text: str) -> list[str]:
        """The text in pieces the platform takes (one piece when there is no limit)."""
        if self.max_length is None:
            return [text.strip()] if text.strip() else []
        return split_text(text, self.max_length, self.measure)


class Slot(Generic[C]):
    """Where one web app keeps a channel's running object. The routes exist from the
    moment the app is built, the channel only once the lifespan started it: a route
    reaches it through the slot, and answers 503 before the start or after the stop.
    One slot per app, so two apps in one process (replicas in a test) never share one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._channel: C | None = None

    @property
    def channel(self) -> C | None:
        return self._channel

    def put(self, channel: C) -> None:
        self._channel = channel

    def clear(self) -> None:
        self._channel = None

    def route(
        self,
        path: str,
        endpoint: Callable[[C, Request], Awaitable[Response]],
        *,
        methods: Sequence[str] = ("POST",),
    ) -> Route:
        """A route whose handler gets the running channel and the request."""

        async def handle(request: Request) -> Response:
            channel = self._channel
            if channel is None:
                log.warning("%s: %s called while the channel is not running", self.name, path)
                return Response(status_code=503)
            return await endpoint(channel, request)

        return Route(path, handle, methods=list(methods))


def no_routes(_helpdesk: Helpdesk, _slot: Slot[Any]) -> Sequence[BaseRoute]:
    return []


@dataclass(frozen=True)
class ChannelSpec(Generic[C]):
    """One chat channel as the product sees it.

    - `name`: the channel column of conversations, identities, notices (≤ 20 characters).
    - `enabled(settings)`: whether `helpdesk run` serves it (its settings are present).
    - `capabilities`, `pacing`: what the platform shows, how fast notices may go to it
      (the settings DELIVERY_CHANNEL_RATES / DELIVERY_TARGET_INTERVALS may replace it).
    - `routes(helpdesk, slot)`: the HTTP routes it answers, mounted when it is enabled.
    - `start`: the hook run in the lifespan (None: nothing to start, e.g. the web chat).
    - `body_limits`: the largest request body, in bytes, of those routes that take more
      than the web app's default (bot.web.limits); enforced before the handler reads.
    """

    name: str
    enabled: Callable[[Settings], bool]
    capabilities: Capabilities
    pacing: Pacing = Pacing()
    routes: RouteFactory[C] = no_routes
    start: StartHook[C] | None = None
    body_limits: Mapping[str, int] = field(default_factory=dict)


# -- shared pieces --------------------------------------------------------------------


def _fitting_prefix(text: str, limit: int, measure: Measure) -> int:
    """How many characters from the start measure at most `limit` (at least one, so a
    single character wider than the limit still goes, alone)."""
    if measure(text) <= limit:
        return len(text)
    if measure is len:
        return max(limit, 1)
    low, high = 0, min(len(text), limit)  # no measure counts a character as less than one
    while low < high:  # the longest prefix that fits; measures grow with the prefix
        mid = (low + high + 1) // 2
        if measure(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return max(low, 1)


def split_text(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Pieces of at most `limit` in `measure` units, cut at a paragraph, line or word
    break when one is in the second half of the piece. Cuts fall between characters,
    so a character outside the BMP (a surrogate pair in UTF-16) is never split."""
    parts: list[str] = []
    rest = text.strip()
    while measure(rest) > limit:
        cut = _fitting_prefix(rest, limit, measure)
        window = rest[:cut]
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at > cut // 2:
                cut = at
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def choices_of(raw: Iterable[Mapping[str, str]] | None) -> list[Choice]:
    """Outbox payloads carry choices as plain {"label", "action"} dicts."""
    return [Choice(c["label"], c["action"]) for c in raw or []]


def lang_of(person: Person | None) -> str:
    """A person's language for texts an adapter renders itself; unknown people get the
    default."""
    return norm_lang(person.lang if person else None)


def person_lang(engine: Engine, channel: str, external_id: str) -> str:
    """The language of the person behind a platform account."""
    with Session(engine) as session:
        return lang_of(people.identify(session, channel, external_id))


def is_linked(engine: Engine, channel: str, external_id: str) -> bool:
    """Whether the platform account speaks for a person already."""
    with Session(engine) as session:
        return people.identify(session, channel, external_id) is not None


def link_by_email(
    engine: Engine, channel: str, external_id: str, email: str, display_name: str | None = None
) -> bool:
    """Link a platform account to the known person with this e-mail (taken from the
    platform's verified profile, e.g. Slack's users.info); False when nobody has it, or
    when the account was unlinked (/keluar, /lepaskan, `helpdesk people unlink`) and not
    linked by code since. An account linked meanwhile, on another replica, stays as it
    is. Accounts without a profile e-mail link with the one-time code instead, which the
    conversation's /tautkan redeems (bot.core.people.redeem_link_code) in every channel
    alike."""
    with session_scope(engine) as session:
        if people.email_link_blocked(session, channel, external_id):
            log.info("%s user %s was unlinked: not linked by e-mail again", channel, external_id)
            return False
        person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
        if person is None:
            return False
        session.execute(
            insert_for(session)(Identity)
            .values(
                person_id=person.id,
                channel=channel,
                external_id=external_id,
                display_name=(display_name or "")[:200] or None,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        )
        log.info("%s user %s linked to person %s by e-mail", channel, external_id, person.id)
        return True


__all__ = [
    "KEY_LENGTH",
    "Capabilities",
    "ChannelSpec",
    "Measure",
    "Pacing",
    "RouteFactory",
    "Slot",
    "StartHook",
    "choices_of",
    "first_delivery",
    "is_linked",
    "lang_of",
    "link_by_email",
    "no_routes",
    "person_lang",
    "split_text",
    "utf16_len",
]
