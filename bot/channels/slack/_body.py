"""Whether a signed request body is one bolt can read.

A valid signature says who sent a body, not that it is well formed; bolt parses it
without guarding (broken JSON, a JSON array, an `event` that is a list, a `user` that is
a number all raise inside its request handling, a 500 with a traceback). We parse it the
way bolt will, with bolt's own function, and check the envelope fields bolt reads before
any listener runs; a body that fails is a 400 for its sender.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.request.internals import parse_body

#: fields bolt's context extraction reads as an id string or an object with an id
_ID_FIELDS = ("user", "team", "channel", "enterprise", "view", "container")
#: fields it descends into, as objects, to extract the same ids again
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")


def readable(body: bytes, content_type: str | None) -> bool:
    try:
        payload = parse_body(body.decode("utf-8"), content_type)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return _envelope(payload, depth=0)


def _envelope(payload: Any, depth: int) -> bool:
    if not isinstance(payload, dict):
        return False
    if any(not isinstance(payload.get(key), str | dict | None) for key in _ID_FIELDS):
        return False
    authorizations = payload.get("authorizations", [])
    if not isinstance(authorizations, list) or not all(isinstance(a, dict) for a in authorizations):
        return False
    return all(
        payload.get(key) is None or (depth < 3 and _envelope(payload[key], depth + 1))
        for key in _NESTED
    )
