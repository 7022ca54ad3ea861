"""Slack's text rules, both ways.

Outgoing: Slack parses `&`, `<` and `>` in every mrkdwn text, so `<!channel>` typed by a
user and echoed back would ping the whole channel. Every text we send goes through
`escape`, which is Slack's own rule: only those three characters, nothing else.

Incoming: Slack has already encoded what the user typed (mentions as `<@U123>`, links as
`<https://…|label>`, the three characters as entities); `from_slack` turns that back into
the plain words the core stores and matches.
"""

from __future__ import annotations

import re

from bot.channels.markdown import SAFE_SCHEMES, Style, render_text

_SPECIAL = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*")


def escape(text: str) -> str:
    """`&` first, so the entities we introduce are not escaped twice."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):  # <@U123> or <@U123|name>
        return "@" + (label or target[1:])
    if target.startswith("#"):  # <#C123|general>
        return "#" + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S123|@team>
        word = label or target[1:].split("^", 1)[0]
        return word if word.startswith("@") else "@" + word
    return label or target


def from_slack(text: str | None) -> str:
    """Mentions and links as plain words, entities decoded (`&amp;` last)."""
    if not text:
        return ""
    plain = _SPECIAL.sub(_plain, text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def strip_leading_mention(text: str | None) -> str:
    """`<@UBOT> lupa sandi` in an app mention is addressed to us; the question follows."""
    return _LEADING_MENTION.sub("", text or "", count=1)


def _link(label: str, href: str) -> str:
    return f"<{escape(href)}|{label}>" if href.startswith(SAFE_SCHEMES) else label


_MRKDWN = Style(escape, ("*", "*"), ("_", "_"), lambda s: f"`{escape(s)}`", _link)


def from_markdown(text: str) -> str:
    """An article's Markdown as mrkdwn (`**bold**` -> `*bold*`), escaped by `escape`."""
    return render_text(text, _MRKDWN)
