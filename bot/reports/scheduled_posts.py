"""Scheduled posts to coordinators: the daily summary on working days, and the weekly
and monthly evaluation figures. Each post is an outbox notice keyed by its date, so a
second replica, a restart or a repeated tick posts nothing twice.

Every recipient reads the post in their own language (the person's, else Indonesian);
each language is rendered once per post, however many recipients share it. The posts
live with the reports (not in bot.core) because they are built from them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import notices, summary
from bot.core.business_calendar import Holidays
from bot.core.roles import Role
from bot.i18n import DEFAULT_LANG, norm_lang, t
from bot.reports.registry import build_report
from bot.reports.render import cell_text
from storage.db import session_scope
from storage.models import Identity, Person


def targets(
    session: Session, extra: list[str], push_channels: Collection[str]
) -> list[tuple[str, str, str]]:
    """(channel, target, lang): configured coordinator channels ("telegram:-100…",
    "slack:C…"), then every service coordinator's linked chat accounts."""
    out = []
    for spec in extra:
        channel, _, target = spec.partition(":")
        if channel and target:
            out.append((channel, target, DEFAULT_LANG))
    people = [
        p for p in session.exec(select(Person)) if Role.KOORDINATOR_LAYANAN in (p.roles or [])
    ]
    ids = {p.id: p for p in people}
    if ids:
        for ident in session.exec(select(Identity).where(col(Identity.person_id).in_(list(ids)))):
            if ident.channel in push_channels:
                lang = ids[ident.person_id].lang or DEFAULT_LANG
                out.append((ident.channel, ident.external_id, lang))
    return list(dict.fromkeys(out))


def _post(
    session: Session,
    key: str,
    render: Callable[[str], str],
    dests: list[tuple[str, str, str]],
    now: datetime,
) -> int:
    """Enqueues the post for every destination, in order; `render(lang)` runs once per
    language, the first time a recipient needs it."""
    texts: dict[str, str] = {}
    sent = 0
    for channel, target, lang in dests:
        lang = norm_lang(lang)
        if lang not in texts:
            texts[lang] = render(lang)
        sent += notices.enqueue(
            session,
            channel=channel,
            target=target,
            kind="report.scheduled",
            payload={"text": texts[lang]},
            dedupe_key=f"{key}:{channel}:{target}",
            now=now,
        )
    return sent


def daily_summary(
    engine: Engine,
    now: datetime,
    tz: str,
    extra: list[str],
    holidays: Holidays,
    *,
    push_channels: Collection[str],
) -> int:
    """Skipped on weekends, national holidays and cuti bersama."""
    today = now.astimezone(ZoneInfo(tz)).date()
    if today.weekday() >= 5 or holidays.closed(today):
        return 0
    with session_scope(engine) as s:
        dests = targets(s, extra, push_channels)
        if not dests:
            return 0
        figures = summary.build(s, now, tz)
        return _post(
            s,
            f"summary:daily:{today.isoformat()}",
            lambda lang: summary.render(figures, lang, tz, now),
            dests,
            now,
        )


def _evaluation_text(
    session: Session, title_key: str, start: date, end: date, tz: str, now: datetime, lang: str
) -> str:
    report = build_report("evaluation", session, start=start, end=end, tz=tz, now=now, lang=lang)
    figures = next(tb for tb in report.tables if tb.name == "summary").rows
    title = t(title_key, lang)
    lines = [t("posts.period", lang, title=title, start=start.isoformat(), end=end.isoformat())]
    lines += [f"• {name}: {cell_text(value, lang)}" for name, value in figures]
    lines.append(t("posts.more", lang, start=start.isoformat(), end=end.isoformat()))
    return "\n".join(lines)


def _evaluation_post(
    engine: Engine,
    key: str,
    title_key: str,
    start: date,
    end: date,
    now: datetime,
    tz: str,
    extra: list[str],
    push_channels: Collection[str],
) -> int:
    with session_scope(engine) as s:
        dests = targets(s, extra, push_channels)
        if not dests:
            return 0
        return _post(
            s,
            key,
            lambda lang: _evaluation_text(s, title_key, start, end, tz, now, lang),
            dests,
            now,
        )


def weekly_report(
    engine: Engine,
    now: datetime,
    tz: str,
    extra: list[str],
    *,
    push_channels: Collection[str],
) -> int:
    """Last week, Monday to Sunday."""
    today = now.astimezone(ZoneInfo(tz)).date()
    end = today - timedelta(days=today.weekday() + 1)
    start = end - timedelta(days=6)
    key = f"report:weekly:{start.isoformat()}"
    return _evaluation_post(engine, key, "posts.weekly", start, end, now, tz, extra, push_channels)


def monthly_report(
    engine: Engine,
    now: datetime,
    tz: str,
    extra: list[str],
    *,
    push_channels: Collection[str],
) -> int:
    """Last calendar month."""
    today = now.astimezone(ZoneInfo(tz)).date()
    end = today.replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    key = f"report:monthly:{start.isoformat()}"
    return _evaluation_post(engine, key, "posts.monthly", start, end, now, tz, extra, push_channels)
