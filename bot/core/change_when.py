"""The window of an emergency change that is already under way (sudah berjalan), read
from chat text: a start that has passed and an expected end.

`bot.core.when.parse_span` reads times ahead of now (maintenance is planned), so this
reads the same words against the start of today ("hari ini 08.00-12.00", "08.00-12.00"),
and a written-out date against a week back ("7/12 22.00 - 8/12 03.00"). What it gives
is checked like any change request in bot.core.changes (the start of an emergency
change may lie in the past; its review is due N working days after the window).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.core.errors import HelpdeskError
from bot.core.when import DAY_WORDS, MAX_DURATION, MONTHS, WEEKDAYS, Span, WhenError, parse_span

#: how far back an emergency change under way may have begun
LOOKBACK = MAX_DURATION
#: the words that say the change has begun, typed where a platform has no buttons
STARTED_WORDS = frozenset({"sudah berjalan", "sudah mulai", "berjalan", "already started"})
#: "7/12", "7-12-2026", "2026-12-07": a day written out with its month
_DATE = re.compile(
    r"^(\d{1,2}[/-]\d{1,2}([/-]\d{2,4})?|\d{1,2}\.\d{1,2}\.\d{2,4}|\d{4}-\d{2}-\d{2})$"
)


def says_started(text: str) -> bool:
    return " ".join(text.lower().split()).strip(" .!") in STARTED_WORDS


def started_span(text: str, now: datetime, tz: str = "Asia/Jakarta") -> Span:
    zone = ZoneInfo(tz)
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), zone)
    try:
        span: Span | None = parse_span(text, midnight, tz)
    except WhenError as exc:
        if exc.key != "maintenance.when.in_past" or not _dated(text):
            raise
        span = None
    if (span is None or span.start > now) and _dated(text):
        # began before today ("6/12 22.00", which read from today is next year's 6/12)
        span = parse_span(text, midnight - LOOKBACK, tz)
    if span is None or span.start > now:
        raise HelpdeskError("changes.started_future")
    return span


def _dated(text: str) -> bool:
    """The text writes its days out and names none relative to today ("hari ini",
    "besok", a weekday), so reading it against an earlier moment cannot move it."""
    words = [w.lower().strip(",") for w in text.split()]
    relative = {w for phrase in DAY_WORDS for w in phrase.split()} - {"hari"} | set(WEEKDAYS)
    if any(w in relative for w in words):
        return False
    return any(
        _DATE.match(w) or (w.rstrip(".") in MONTHS and n and words[n - 1].isdigit())
        for n, w in enumerate(words)
    )
