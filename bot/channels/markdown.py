"""Knowledge-base answers are written in Markdown; each channel shows what it can.

Why one parser for all: articles use a small subset (bold, italics, inline code,
numbered and bulleted lists, links), and each platform's own syntax differs
(Slack mrkdwn has `*bold*` and `<url|label>`, Telegram plain text has none, the
web chat shows HTML). Parsing once with markdown-it-py (CommonMark, raw HTML
disabled) and writing each target from the tokens keeps `**` from ever reaching a
user, and keeps what the authors wrote from becoming markup it was not meant to be.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.dialogue.messages import Reply

# CommonMark without raw HTML: "<b>" in an article stays text.
_MD = MarkdownIt("commonmark", {"html": False})
SAFE_SCHEMES = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class Style:
    text: Callable[[str], str]
    strong: tuple[str, str]
    em: tuple[str, str]
    code: Callable[[str], str]
    link: Callable[[str, str], str]


def _plain_link(label: str, href: str) -> str:
    return label if label == href or not href else f"{label} ({href})"


def _html_link(label: str, href: str) -> str:
    if not href.startswith(SAFE_SCHEMES):
        return label
    return f'<a href="{html.escape(href)}" rel="noopener noreferrer" target="_blank">{label}</a>'


_PLAIN = Style(lambda s: s, ("", ""), ("", ""), lambda s: s, _plain_link)
_HTML = Style(
    html.escape,
    ("<strong>", "</strong>"),
    ("<em>", "</em>"),
    lambda s: f"<code>{html.escape(s)}</code>",
    _html_link,
)


def _inline(children: list[Token], style: Style) -> str:
    out: list[str] = []
    link: list[tuple[str, int]] = []  # (href, where the label starts in out)
    for tok in children:
        kind = tok.type
        if kind == "text":
            out.append(style.text(tok.content))
        elif kind == "code_inline":
            out.append(style.code(tok.content))
        elif kind in ("softbreak", "hardbreak"):
            out.append("<br>" if style is _HTML else "\n")
        elif kind == "strong_open":
            out.append(style.strong[0])
        elif kind == "strong_close":
            out.append(style.strong[1])
        elif kind == "em_open":
            out.append(style.em[0])
        elif kind == "em_close":
            out.append(style.em[1])
        elif kind == "link_open":
            link.append((str(tok.attrs.get("href", "")), len(out)))
        elif kind == "link_close" and link:
            href, start = link.pop()
            label = "".join(out[start:])
            del out[start:]
            out.append(style.link(label, href))
        elif kind == "image" or tok.content:
            out.append(style.text(tok.content))
    return "".join(out)


def _text_blocks(tokens: list[Token], style: Style) -> str:
    """Paragraphs as blank-line separated blocks, list items prefixed "1." or "•"."""
    blocks: list[str] = []
    lists: list[list[int]] = []  # per open list: [next number] or [-1] for bullets
    prefix = ""
    for tok in tokens:
        if tok.type == "ordered_list_open":
            lists.append([int(tok.attrs.get("start", 1) or 1)])
        elif tok.type == "bullet_list_open":
            lists.append([-1])
        elif tok.type in ("ordered_list_close", "bullet_list_close") and lists:
            lists.pop()
        elif tok.type == "list_item_open" and lists:
            n = lists[-1][0]
            prefix = "  " * (len(lists) - 1) + ("•" if n < 0 else f"{n}.") + " "
            if n >= 0:
                lists[-1][0] = n + 1
        elif tok.type == "paragraph_open" and not tok.hidden and blocks and not lists:
            blocks.append("")  # paragraphs apart, as the author wrote them
        elif tok.type == "inline":
            line = _inline(tok.children or [], style)
            blocks.append(prefix + line)
            prefix = ""
        elif tok.type in ("fence", "code_block"):
            blocks.append(style.code(tok.content.rstrip("\n")))
    return "\n".join(blocks)


def shown(reply: Reply, render: Callable[[str], str] = lambda s: to_plain(s)) -> str:
    """A reply's text as a channel shows it: Markdown replies rendered, others as they are."""
    return render(reply.text) if reply.markdown else reply.text


def to_plain(text: str) -> str:
    """What a channel without formatting shows (Telegram without parse_mode, console)."""
    return _text_blocks(_MD.parse(text), _PLAIN)


def render_text(text: str, style: Style) -> str:
    """Markdown as text in a platform's own syntax (Slack's mrkdwn gives its style)."""
    return _text_blocks(_MD.parse(text), style)


def to_html(text: str) -> str:
    """A safe HTML subset for the web chat: everything the author wrote is escaped;
    only strong, em, code, lists, line breaks and http(s)/mailto links are made."""
    out: list[str] = []
    for tok in _MD.parse(text):
        kind = tok.type
        if kind == "paragraph_open" and not tok.hidden:
            out.append("<p>")
        elif kind == "paragraph_close" and not tok.hidden:
            out.append("</p>")
        elif kind == "ordered_list_open":
            start = int(tok.attrs.get("start", 1) or 1)
            out.append("<ol>" if start == 1 else f'<ol start="{start}">')
        elif kind == "ordered_list_close":
            out.append("</ol>")
        elif kind == "bullet_list_open":
            out.append("<ul>")
        elif kind == "bullet_list_close":
            out.append("</ul>")
        elif kind == "list_item_open":
            out.append("<li>")
        elif kind == "list_item_close":
            out.append("</li>")
        elif kind == "inline":
            out.append(_inline(tok.children or [], _HTML))
        elif kind in ("fence", "code_block"):
            out.append(f"<pre><code>{html.escape(tok.content)}</code></pre>")
    return "".join(out)
