"""`/laporan KIND [FROM] [TO] [service]` in chat: coordinators get a report as a PDF
document with its key figures as text, built from the same records as the CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

from bot.core import catalog, usecases
from bot.dialogue.messages import Reply
from bot.dialogue.router import Flow
from bot.dialogue.turn import Turn
from bot.i18n import fmt_number
from bot.reports import KINDS, Table, build_report, to_pdf
from bot.reports.period import PERIOD_WORDS, containing, last_full
from bot.reports.registry import ALIASES, resolve_kind
from bot.reports.render import cell_text


def command(turn: Turn, text: str) -> list[Reply]:
    tz = turn.timezone
    if not usecases.may_summarise(turn.person):
        return turn.say(turn.t("summary.not_allowed"))
    words = text.split()
    kind = resolve_kind(words[0]) if words else None
    if kind is None:
        names = ", ".join(sorted(ALIASES))
        return turn.say(turn.t("report_chat.usage", kinds=names))
    today = turn.now.astimezone(ZoneInfo(tz)).date()
    dates: list[date] = []
    service_id = None
    period = None
    for word in words[1:]:
        if word.lower() in PERIOD_WORDS:
            period = PERIOD_WORDS[word.lower()]
            continue
        try:
            dates.append(date.fromisoformat(word))
        except ValueError:
            found = catalog.search_services(turn.session, word, limit=1)
            if not found:
                return turn.say(turn.t("report_chat.bad_argument", word=word[:40]))
            service_id = found[0][0].id
    if len(dates) > 1:
        start, end = dates[0], dates[1]
    elif dates:  # one day: the month (or the period named) it lies in
        start, end = containing(period or "month", dates[0])
    else:  # nothing: the last full calendar month (or quarter, or year)
        start, end = last_full(period or "month", today)
    if start > end or start.year < 2000 or (end - start).days > 3 * 366:
        return turn.say(turn.t("report_chat.bad_period"))
    report = build_report(
        kind,
        turn.session,
        start=start,
        end=end,
        tz=tz,
        now=turn.now,
        service_id=service_id,
        lang=turn.lang,  # the document in the language of the chat that asked for it
    )
    lines = [f"📑 {report.title}"]
    if KINDS[kind][2]:
        lines.append(turn.t("report_chat.period", start=start.isoformat(), end=end.isoformat()))
    for table in report.tables:
        lines += _table_lines(table, turn.lang, turn.t)
    lines += report.notes
    turn.say("\n".join(lines))
    turn.replies[-1].document = (
        f"{kind}-{start.isoformat()}-{end.isoformat()}.pdf",
        to_pdf(report),
    )
    return turn.replies


#: rows of each table shown in chat; the PDF has them all
ROWS_SHOWN = 5
ROW_CHARS = 300


def _table_lines(table: Table, lang: str, text: Callable[..., str]) -> list[str]:
    """A table in chat: its title and row count, then each row as "column: value"
    pairs, so a figure is never shown without saying what it is."""
    lines = ["", text("report_chat.rows", title=table.title, n=fmt_number(len(table.rows), lang))]
    if not table.rows:
        lines.append(text("reports.meta.no_data"))
    for row in table.rows[:ROWS_SHOWN]:
        pairs = " · ".join(
            f"{h}: {cell_text(c, lang)}" for h, c in zip(table.headers, row, strict=False)
        )
        line = "• " + pairs
        lines.append(line if len(line) <= ROW_CHARS else line[: ROW_CHARS - 1] + "…")
    if len(table.rows) > ROWS_SHOWN:
        rest = fmt_number(len(table.rows) - ROWS_SHOWN, lang)
        lines.append(text("report_chat.more_rows", n=rest))
    return lines


FLOW = Flow(name="report_documents", commands={("laporan", "reportdoc"): command})
