"""`/laporan KIND [FROM] [TO] [service]` in chat: coordinators get a report as a PDF
document with its key figures as text, built from the same records as the CLI."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.core import catalog, usecases
from bot.dialogue.messages import Reply
from bot.dialogue.router import Flow
from bot.dialogue.turn import Turn
from bot.reports import KINDS, build_report, to_pdf
from bot.reports.registry import ALIASES, resolve_kind


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
    for word in words[1:]:
        try:
            dates.append(date.fromisoformat(word))
        except ValueError:
            found = catalog.search_services(turn.session, word, limit=1)
            if not found:
                return turn.say(turn.t("report_chat.bad_argument", word=word[:40]))
            service_id = found[0][0].id
    end = dates[1] if len(dates) > 1 else (dates[0] if dates else today)
    if end.year < 2000:
        return turn.say(turn.t("report_chat.bad_period"))
    start = dates[0] if len(dates) > 1 else end - timedelta(days=29)
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
    first = report.tables[0] if report.tables else None
    if first is not None:
        lines.append(turn.t("report_chat.rows", title=first.title, n=len(first.rows)))
        lines += [
            " · ".join("-" if c is None else str(c) for c in row)[:200] for row in first.rows[:8]
        ]
    turn.say("\n".join(lines))
    turn.replies[-1].document = (
        f"{kind}-{start.isoformat()}-{end.isoformat()}.pdf",
        to_pdf(report),
    )
    return turn.replies


FLOW = Flow(name="report_documents", commands={("laporan", "reportdoc"): command})
