"""The terminal channel (`helpdesk chat`): the same conversation, choices as numbers."""

from __future__ import annotations

from collections.abc import Callable

from bot.channels.base import Capabilities, ChannelSpec
from bot.channels.markdown import shown
from bot.config import Settings
from bot.dialogue.engine import Conversations
from bot.dialogue.messages import Incoming, Reply

CHANNEL = "console"


def render(replies: list[Reply]) -> str:
    out = []
    for r in replies:
        prefix = "🔔 " if r.kind == "notice" else ""
        out.append(prefix + shown(r))
        for n, choice in enumerate(r.choices, start=1):
            out.append(f"  [{n}] {choice.label}")
    return "\n".join(out)


def run(
    conversations: Conversations,
    user_id: str,
    *,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
    display_name: str | None = None,
) -> None:
    """Read lines until EOF or /keluar; numbers pick from the last choices."""

    def turn(text: str) -> None:
        msg = Incoming(
            channel=CHANNEL, chat_id=user_id, user_id=user_id, text=text, display_name=display_name
        )
        write(render(conversations.handle(msg)))

    turn("/mulai")
    while True:
        notices = conversations.pull_notices(CHANNEL, user_id)
        if notices:
            write(render(notices))
        try:
            line = read("> ")
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        if line.strip().lower() in ("/keluar", "/exit", "/quit"):
            return
        turn(line)


def enabled(_settings: Settings) -> bool:
    """Never served by the web app: `helpdesk chat` runs it in the terminal."""
    return False


#: choices are offered as numbers, not buttons; images and documents are not shown
SPEC: ChannelSpec[None] = ChannelSpec(
    name=CHANNEL, enabled=enabled, capabilities=Capabilities(delivery="pull")
)
