"""Fields python-telegram-bot 22 requires that some senders leave out.

Telegram itself always sends them, but the samples in Telegram's own documentation (and
the tools and proxies built from them) do not: `from.is_bot`, `chat.type`,
`file_unique_id`, `callback_query.chat_instance`. PTB then refuses the whole update.
Each default here is what the field means when it is absent in practice (a user, a chat
whose kind its id tells, a file known by its one id), so filling it in loses nothing;
an update that is still unreadable after this is kept in the inbox as dead.
"""

from __future__ import annotations

from typing import Any

#: keys whose object is a chat; Telegram's chat ids are positive for private chats,
#: -100… for supergroups and channels, other negatives for basic groups
_CHAT_KEYS = frozenset({"chat", "sender_chat", "forward_from_chat"})
#: deeper than any real update (a reply's quoted message's chat is four levels down)
MAX_DEPTH = 12


def _chat_type(chat_id: object) -> str:
    text = str(chat_id)
    if not text.startswith("-"):
        return "private"
    return "supergroup" if text.startswith("-100") else "group"


def with_defaults(update: dict[str, Any]) -> dict[str, Any]:
    """The update with the missing fields filled in, in place (and returned)."""
    query = update.get("callback_query")
    if isinstance(query, dict):
        query.setdefault("chat_instance", "")
    todo: list[tuple[str, object, int]] = [("", update, 0)]
    while todo:
        key, value, depth = todo.pop()
        if depth > MAX_DEPTH:
            continue
        if isinstance(value, list):
            todo.extend((key, item, depth + 1) for item in value)
            continue
        if not isinstance(value, dict):
            continue
        if key in _CHAT_KEYS and "id" in value:
            value.setdefault("type", _chat_type(value["id"]))
        elif "id" in value and "first_name" in value:  # a User
            value.setdefault("is_bot", False)
        if "file_id" in value:
            value.setdefault("file_unique_id", value["file_id"])
        todo.extend((k, v, depth + 1) for k, v in value.items() if isinstance(v, dict | list))
    return update
