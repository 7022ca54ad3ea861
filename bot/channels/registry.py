"""Which chat platforms start with `helpdesk run`: each one whose settings are present."""

from __future__ import annotations

from bot.config import Settings
from bot.web.app import ChannelStarter


def starters_for(settings: Settings) -> list[ChannelStarter]:
    starters: list[ChannelStarter] = []
    if settings.telegram_bot_token:
        from bot.channels import telegram

        starters.append(telegram.start)
    if settings.slack_bot_token and settings.slack_signing_secret:
        from bot.channels import slack

        starters.append(slack.start)
    return starters
