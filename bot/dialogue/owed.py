"""What a turn owes its chat: the replies, kept in the turn's own transaction with the
platform's delivery id, until the channel has sent them.

A crash between the turn's commit and the send used to lose the answer: the inbox ran
the event again, the turn found its delivery id recorded and did nothing. Now the re-run
gets the stored replies back (`Answer.replayed`) and sends those not yet marked sent;
the turn itself never runs twice.

What remains: a reply the platform accepted just before the crash, whose mark was not
committed yet, goes out a second time (at least once, not exactly once). Telegram's Bot
API, Slack's chat.postMessage and WhatsApp's Cloud API take no idempotency key for a
message a bot sends, so this window (one round trip and one commit) cannot be closed
on their side. The marks of an inbox run are written in batches (bot.intake), so the
window is the time since the last batch: the replies of the events in hand.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from bot.dialogue.messages import Choice, Reply


@dataclass
class Answer:
    """A turn's replies, and how many of them reached the chat already (a re-run)."""

    replies: list[Reply] = field(default_factory=list)
    #: the delivery's turn had run before: these are its stored replies
    replayed: bool = False
    #: how many of `replies` were sent before (skip them)
    sent: int = 0
    #: the delivery (channel, dedupe key) whose replies are stored, None when nothing is
    #: owed durably (no dedupe key, or a refusal whose turn was rolled back)
    delivery: tuple[str, str] | None = None

    @property
    def unsent(self) -> list[Reply]:
        return self.replies[self.sent :]

    @property
    def repeated_nothing_owed(self) -> bool:
        """A redelivery whose replies all went out: nothing to do (answer a button)."""
        return self.replayed and self.sent >= len(self.replies)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def to_json(reply: Reply) -> dict[str, Any]:
    data: dict[str, Any] = {"text": reply.text, "kind": reply.kind}
    if reply.choices:
        data["choices"] = [[c.label, c.action] for c in reply.choices]
    if reply.markdown:
        data["markdown"] = True
    if reply.image is not None:
        data["image"] = _b64(reply.image)
    if reply.document is not None:
        data["document"] = [reply.document[0], _b64(reply.document[1])]
    return data


def from_json(data: dict[str, Any]) -> Reply:
    document = data.get("document")
    return Reply(
        str(data.get("text", "")),
        [Choice(str(label), str(action)) for label, action in data.get("choices") or []],
        kind=str(data.get("kind", "text")),
        image=base64.b64decode(data["image"]) if data.get("image") else None,
        document=(str(document[0]), base64.b64decode(document[1])) if document else None,
        markdown=bool(data.get("markdown", False)),
    )
