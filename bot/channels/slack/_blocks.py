"""Block Kit built from the core's plain replies: messages with buttons, the report and
resolve modals, and the App Home view.

Every mrkdwn text is escaped here, in one place, so no caller can forget it. Labels are
`plain_text`, which Slack never parses for mentions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.channels.markdown import to_plain
from bot.channels.slack._mrkdwn import escape, from_markdown
from bot.core.ticket_states import GANGGUAN, TYPES, requires_root_cause
from bot.core.usecases import MIN_DESCRIPTION, MIN_NOTE
from bot.dialogue.messages import Choice, Reply
from bot.i18n import fmt_dt, t
from storage.models import Ticket

REPORT_VIEW = "hd_report"
RESOLVE_VIEW = "hd_resolve"
ACTION_PREFIX = "hd."

MAX_SECTION = 3000
#: the notification text; the blocks carry the whole message.
MAX_FALLBACK = 3000
MAX_MESSAGE_BLOCKS = 50
#: ~30,000 characters of text per reply, so a long text never pushes its buttons out.
MAX_SECTIONS_PER_REPLY = 10
MAX_VIEW_BLOCKS = 100
BUTTONS_PER_ROW = 5
MAX_LABEL = 75
_MD_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
#: a raw character escapes to at most 5 ("&" → "&amp;"): 600 raw always fit a section.
_HARD_SPLIT = MAX_SECTION // 5


def plain(text: str, limit: int = MAX_LABEL) -> dict[str, Any]:
    text = text.strip() or "-"
    return {
        "type": "plain_text",
        "text": text if len(text) <= limit else text[: limit - 1] + "…",
        "emoji": True,
    }


def _as_is(text: str) -> str:
    return text


def chunks(text: str, esc: Callable[[str], str] = escape) -> list[str]:
    """The text escaped (unless `esc` says it is already), cut at line ends into
    pieces that fit one section block."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        parts = [line[i : i + _HARD_SPLIT] for i in range(0, len(line), _HARD_SPLIT)] or [""]
        for part in parts:
            candidate = f"{current}\n{esc(part)}" if current else esc(part)
            if len(candidate) > MAX_SECTION:
                pieces.append(current)
                candidate = esc(part)
            current = candidate
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def section(mrkdwn_escaped: str) -> dict[str, Any]:
    mrkdwn_escaped = _MD_BOLD.sub(
        r"*\1*", mrkdwn_escaped
    )  # articles are Markdown; Slack bolds with one *
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn_escaped}}


def button(choice: Choice, action_id: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": plain(choice.label),
        "action_id": action_id,
        "value": choice.action,
    }


def button_rows(choices: Sequence[Choice], key: str) -> list[dict[str, Any]]:
    """Actions blocks of at most five buttons; block_id and action_id unique in the message."""
    rows = []
    for row, start in enumerate(range(0, len(choices), BUTTONS_PER_ROW)):
        block_id = f"{ACTION_PREFIX}{key}.{row}"
        elements = [
            button(c, f"{block_id}.{n}")
            for n, c in enumerate(choices[start : start + BUTTONS_PER_ROW])
        ]
        rows.append({"type": "actions", "block_id": block_id, "elements": elements})
    return rows


def message(replies: Iterable[Reply]) -> dict[str, Any]:
    """One Slack message for a whole turn (fewer calls against the 1 msg/s channel limit):
    keyword arguments for chat.postMessage / chat.update / chat.postEphemeral / respond."""
    blocks: list[dict[str, Any]] = []
    texts: list[str] = []
    for n, reply in enumerate(replies):
        if reply.text.strip() and reply.markdown:
            texts.append(to_plain(reply.text))
            pieces = chunks(from_markdown(reply.text), esc=_as_is)
            blocks += [section(c) for c in pieces[:MAX_SECTIONS_PER_REPLY]]
        elif reply.text.strip():
            texts.append(reply.text)
            blocks += [section(c) for c in chunks(reply.text)[:MAX_SECTIONS_PER_REPLY]]
        blocks += button_rows(reply.choices, str(n))
    raw = "\n\n".join(texts)
    fallback = escape(raw if len(raw) <= MAX_FALLBACK else raw[: MAX_FALLBACK - 1] + "…")
    return {"text": fallback or " ", "blocks": blocks[:MAX_MESSAGE_BLOCKS]}


def _options(items: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"text": plain(label), "value": value} for value, label in items][:100]


def _select(
    block_id: str,
    label: str,
    options: list[dict[str, Any]],
    initial: str | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return {"type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element}


def _text_input(
    block_id: str,
    label: str,
    hint: str,
    *,
    initial: str = "",
    min_length: int = 0,
    optional: bool = False,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": 3000,
        "placeholder": plain(hint, 150),
    }
    if min_length:
        element["min_length"] = min_length
    if initial:
        element["initial_value"] = initial[:3000]
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }


def report_modal(
    services: list[tuple[str, str]], lang: str, description: str = ""
) -> dict[str, Any]:
    """The guided report of the chat flow as one form: the same services and plain-word
    impact and urgency options, so the priority is computed the same way."""
    levels = ("3", "2", "1")
    return {
        "type": "modal",
        "callback_id": REPORT_VIEW,
        "title": plain(t("slack.modal.report_title", lang), 24),
        "submit": plain(t("slack.modal.submit", lang), 24),
        "close": plain(t("slack.modal.close", lang), 24),
        "blocks": [
            _select(
                "service",
                t("slack.modal.service", lang),
                _options([*services[:99], ("-", t("report.no_service", lang))]),
                placeholder=t("slack.modal.service_placeholder", lang),
            ),
            _select(
                "type",
                t("slack.modal.type", lang),
                _options((k, t(f"type.{k}", lang)) for k in TYPES),
                initial=GANGGUAN,
            ),
            _text_input(
                "description",
                t("slack.modal.description", lang),
                t("slack.modal.description_hint", lang),
                initial=description,
                min_length=MIN_DESCRIPTION,
            ),
            _select(
                "impact",
                t("report.ask_impact", lang),
                _options((v, t(f"impact.{v}", lang)) for v in levels),
            ),
            _select(
                "urgency",
                t("report.ask_urgency", lang),
                _options((v, t(f"urgency.{v}", lang)) for v in levels),
            ),
        ],
    }


def resolve_modal(number: str, title: str, type_: str, lang: str, origin: str) -> dict[str, Any]:
    """Resolution note, and for incidents the root cause the guideline requires."""
    blocks = [
        section(escape(t("slack.modal.resolve_intro", lang, number=number, title=title))),
        _text_input(
            "note",
            t("slack.modal.note", lang),
            t("slack.modal.note_hint", lang),
            min_length=MIN_NOTE,
        ),
    ]
    if requires_root_cause(type_):
        blocks.append(
            _text_input(
                "cause",
                t("slack.modal.cause", lang),
                t("slack.modal.cause_hint", lang),
                min_length=MIN_NOTE,
            )
        )
    return {
        "type": "modal",
        "callback_id": RESOLVE_VIEW,
        "private_metadata": json.dumps({"number": number, "type": type_, "origin": origin}),
        "title": plain(t("slack.modal.resolve_title", lang), 24),
        "submit": plain(t("slack.modal.submit", lang), 24),
        "close": plain(t("slack.modal.close", lang), 24),
        "blocks": blocks,
    }


def submitted(view: dict[str, Any]) -> dict[str, str]:
    """The values of a submitted modal by block_id (select value or typed text)."""
    out: dict[str, str] = {}
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        field = actions.get("value") or {}
        if field.get("type") == "static_select":
            out[block_id] = ((field.get("selected_option") or {}).get("value")) or ""
        else:
            out[block_id] = field.get("value") or ""
    return out


def view_form(view: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """A submitted modal's values and its private metadata."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    return submitted(view), meta if isinstance(meta, dict) else {}


def _ticket_block(ticket: Ticket, lang: str, tz: str, key: str, mark: str = "") -> dict[str, Any]:
    text = t(
        "slack.home.ticket",
        lang,
        mark=mark,
        number=ticket.number,
        priority=ticket.priority,
        state=t(f"state.{ticket.state}", lang),
        title=ticket.title,
        response=fmt_dt(ticket.response_due_at, lang, tz),
        resolution=fmt_dt(ticket.resolution_due_at, lang, tz),
    )
    block = section(chunks(text)[0])
    block["block_id"] = f"{ACTION_PREFIX}home.{key}"
    block["accessory"] = button(
        Choice(t("menu.status", lang), f"t:status:{ticket.number}"), f"{ACTION_PREFIX}home.{key}.0"
    )
    return block


def home_view(
    lang: str, tz: str, own: list[Ticket], queue: list[Ticket] | None, me: int | None
) -> dict[str, Any]:
    """Open tickets with state and SLA due times; operators also see their queue."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(t("slack.home.title", lang), 150)},
        section(escape(t("slack.home.intro", lang))),
        *button_rows(
            [
                Choice(t("menu.report", lang), "menu:report"),
                Choice(t("menu.help", lang), "menu:help"),
            ],
            "menu",
        ),
        {"type": "divider"},
        {"type": "header", "text": plain(t("slack.home.open_header", lang), 150)},
    ]
    if not own:
        blocks.append(section(escape(t("slack.home.none_open", lang))))
    blocks += [_ticket_block(tk, lang, tz, f"own{n}") for n, tk in enumerate(own)]
    if queue is not None:
        blocks += [
            {"type": "divider"},
            {"type": "header", "text": plain(t("slack.home.queue_header", lang), 150)},
        ]
        if not queue:
            blocks.append(section(escape(t("slack.home.queue_empty", lang))))
        for n, tk in enumerate(queue):
            mark = "★ " if me is not None and tk.assignee_id == me else "○ "
            blocks.append(_ticket_block(tk, lang, tz, f"q{n}", mark))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}
