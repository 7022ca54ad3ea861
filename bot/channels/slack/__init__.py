"""The Slack channel: direct messages, app mentions, `/helpdesk`, App Home, and operator
channels whose alerts are edited in place.

`SPEC` is what `helpdesk run` serves when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are
set: HTTP mode at POST /slack/events of our web app, or Socket Mode when SLACK_APP_TOKEN
is set too. The Deliverer sends outbox notices through the channel's transport under the
name "slack". Import from here; the underscored modules may move.
"""

from __future__ import annotations

from bot.channels.slack._channel import CHANNEL, SlackChannel, Where, dm_text
from bot.channels.slack._mrkdwn import escape, from_slack
from bot.channels.slack._spec import SPEC, open_channel, register_operator_channels, start
from bot.channels.slack._transport import SlackTransport, transport_error

__all__ = [
    "CHANNEL", "SPEC", "SlackChannel", "SlackTransport", "Where", "dm_text", "escape",
    "from_slack", "open_channel", "register_operator_channels", "start", "transport_error",
]  # fmt: skip
