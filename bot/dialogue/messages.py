"""What goes into the conversation engine and what comes out: plain data that every
channel adapter can parse into and render from."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Telegram's callback_data limit; every action string must fit.
MAX_ACTION_BYTES = 64


@dataclass(frozen=True)
class Choice:
    label: str
    action: str

    def __post_init__(self) -> None:
        if len(self.action.encode()) > MAX_ACTION_BYTES:
            raise ValueError(f"action longer than {MAX_ACTION_BYTES} bytes: {self.action!r}")


@dataclass
class Reply:
    text: str
    choices: list[Choice] = field(default_factory=list)
    #: "text" for conversation, "notice" for something the system tells unasked,
    #: "error" for a refusal (shown as an alert where the channel has them).
    kind: str = "text"
    #: a PNG chart for channels that show images; the text stands on its own without it.
    image: bytes | None = None
    #: a document to attach, as (file name, bytes): a report's PDF, for example.
    document: tuple[str, bytes] | None = None
    #: the text is Markdown (a knowledge-base answer): channels format it where they
    #: can and show it as plain text where they cannot (bot/channels/markdown.py)
    markdown: bool = False


@dataclass(frozen=True)
class Incoming:
    """One message or button press. `chat_id` is where to answer, `user_id` who spoke."""

    channel: str
    chat_id: str
    user_id: str
    text: str | None = None
    action: str | None = None
    display_name: str | None = None
    #: True in group chats: free text there is not a question to the bot.
    group: bool = False
    #: the platform's id of this delivery (Telegram update_id, Slack event_id): recorded in
    #: the turn's own transaction, so a redelivery changes nothing and a crash loses nothing.
    dedupe_key: str | None = None
    #: the client's network address where the channel knows it (the web chat): anonymous
    #: visitors are limited by it, since they can start new chats at will.
    address: str | None = None
