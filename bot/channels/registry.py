"""Every chat channel of the product, as one list of specs: the only place that names
them. `helpdesk run` serves the enabled ones; the outbox paces each by its spec; the
scheduled posts go to the push ones. A new channel is one line here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.channels import console, slack, telegram, webchat, whatsapp
from bot.channels.base import ChannelSpec, StartHook
from bot.config import Settings
from bot.delivery import Pacing

#: in start order (the lifespan starts them one after the other)
CHANNELS: tuple[ChannelSpec[Any], ...] = (
    telegram.SPEC,
    slack.SPEC,
    whatsapp.SPEC,
    webchat.SPEC,
    console.SPEC,
)


def enabled_specs(
    settings: Settings, specs: Iterable[ChannelSpec[Any]] = CHANNELS
) -> list[ChannelSpec[Any]]:
    """The channels `helpdesk run` serves: each one whose settings are present."""
    return [s for s in specs if s.enabled(settings)]


def spec(name: str, specs: Iterable[ChannelSpec[Any]] = CHANNELS) -> ChannelSpec[Any]:
    specs = list(specs)
    for s in specs:
        if s.name == name:
            return s
    raise KeyError(f"no channel {name!r}; known: {', '.join(s.name for s in specs)}")


def push_channels(
    settings: Settings | None = None, specs: Iterable[ChannelSpec[Any]] = CHANNELS
) -> frozenset[str]:
    """Channels whose notices a transport sends (the rest pull them). With `settings`,
    only the enabled ones; without, every registered one, so a notice for a channel that
    is configured later waits in the outbox until it is."""
    chosen = enabled_specs(settings, specs) if settings is not None else specs
    return frozenset(s.name for s in chosen if s.capabilities.push)


def pull_channels(specs: Iterable[ChannelSpec[Any]] = CHANNELS) -> frozenset[str]:
    """Channels whose chats collect their notices themselves (web chat, console)."""
    return frozenset(s.name for s in specs if not s.capabilities.push)


def anonymous_channels(specs: Iterable[ChannelSpec[Any]] = CHANNELS) -> frozenset[str]:
    """Channels anyone can chat on without an account (the web chat): what the core's
    triage holds an unlinked reporter's P1/P2 for (runtime.build passes it on)."""
    return frozenset(s.name for s in specs if s.capabilities.anonymous)


def pacing(specs: Iterable[ChannelSpec[Any]] = CHANNELS) -> dict[str, Pacing]:
    """Each channel's pacing by name, for `Deliverer.from_settings`."""
    return {s.name: s.pacing for s in specs}


def starters_for(settings: Settings) -> list[StartHook[Any]]:
    """The start hooks of the enabled channels (mounting their routes is the web app's)."""
    return [s.start for s in enabled_specs(settings) if s.start is not None]
