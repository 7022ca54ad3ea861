"""Which chat platforms start with `helpdesk run`: each one whose settings are present."""

from __future__ import annotations

from bot.config import Settings
from bot.web.app import ChannelStarter


def starters_for(settings: Settings) -> list[ChannelStarter]:
    starters: list[ChannelStarter] = []
    return starters
