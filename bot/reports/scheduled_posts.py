"""Scheduled posts to coordinators: the daily summary on working days, and the weekly
and monthly evaluation figures. Each post is an outbox notice keyed by its date, so a
second replica, a restart or a repeated tick posts nothing twice."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import notices, summary
from bot.core.business_calendar import Holidays
from bot.core.roles import Role
from bot.i18n import t
from bot.reports.registry import build_report
from storage.db import session_scope
from storage.models import Identity, Person

PUSH_CHANNELS = frozenset({"telegram", "slack"})


def targets(session: Session, extra: list[str]) -> list[tuple[str, str, str]]:
    """(channel, target, lang): configured coordinator channels ("telegram:-100…",
    "slack:C…"), then every service coordinator's linked chat accounts."""
    out = []
    for spec in extra:
        channel, _, target = spec.partition(":")
        if channel and target:
            out.append((channel, target, "id"))
    people = [
        p for p in session.exec(select(Person)) if Role.KOORDINATOR_LAYANAN in (p.roles or [])
    ]
    ids = {p.id: p for p in people}
    if ids:
        for ident in session.exec(select(Identity).where(col(Identity.person_id).in_(list(ids)))):
            if ident.channel in PUSH_CHANNELS:
                out.append((ident.channel, ident.external_id, ids[ident.person_id].lang or "id"))
    return list(dict.fromkeys(out))


def _post(
    session: Session, key: str, text: str, dests: list[tuple[str, str, str]], now: datetime
) -> int:
    sent = 0
    for channel, target, _lang in dests:
        sent += notices.enqueue(
            session,
            channel=channel,
            target=target,
            kind="report.scheduled",
            payload={"text": text},
            dedupe_key=f"{key}:{channel}:{target}",
            now=now,
        )
    return sent


def daily_summary(
    engine: Engine, now: datetime, tz: str, extra: list[str], holidays: Holidays
) -> int:
    """Skipped on weekends, national holidays and cuti bersama."""
    today = now.astimezone(ZoneInfo(tz)).date()
    if today.weekday() >= 5 or holidays.closed(today):
        return 0
    with session_scope(engine) as s:
        dests = targets(s, extra)
        if not dests:
            return 0
        text = summary.render(summary.build(s, now, tz), "id", tz, now)
        return _post(s, f"summary:daily:{today.isoformat()}", text, dests, now)


def _evaluation_text(
    session: Session, title: str, start: date, end: date, tz: str, now: datetime
) -> str:
    report = build_report("evaluation", session, start=start, end=end, tz=tz, now=now)
    figures = next(tb for tb in report.tables if tb.title == "Ringkasan").rows
    lines = [t("posts.period", "id", title=title, start=start.isoformat(), end=end.isoformat())]
    lines += [f"• {name}: {'-' if value is None else value}" for name, value in figures]
    lines.append(t("posts.more", "id", start=start.isoformat(), end=end.isoformat()))
    return "\n".join(lines)


def weekly_report(engine: Engine, now: datetime, tz: str, extra: list[str]) -> int:
    """Last week, Monday to Sunday."""
    today = now.astimezone(ZoneInfo(tz)).date()
    end = today - timedelta(days=today.weekday() + 1)
    start = end - timedelta(days=6)
    with session_scope(engine) as s:
        dests = targets(s, extra)
        if not dests:
            return 0
        text = _evaluation_text(s, t("posts.weekly", "id"), start, end, tz, now)
        return _post(s, f"report:weekly:{start.isoformat()}", text, dests, now)


def monthly_report(engine: Engine, now: datetime, tz: str, extra: list[str]) -> int:
    """Last calendar month."""
    today = now.astimezone(ZoneInfo(tz)).date()
    end = today.replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    with session_scope(engine) as s:
        dests = targets(s, extra)
        if not dests:
            return 0
        text = _evaluation_text(s, t("posts.monthly", "id"), start, end, tz, now)
        return _post(s, f"report:monthly:{start.isoformat()}", text, dests, now)
