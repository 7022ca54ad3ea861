"""Maintenance times as coordinators write them in Indonesian chat.

"Sabtu 14 Des 22.00–02.00", "besok 20.00-22.00", "14/12 22:00 s.d. 15/12 02:00",
"lusa jam 21 sampai 23", "Senin depan 08.00-10.00 WIB".

`dateparser` was tried first: it drops the time of "besok 20.00" (dot as separator),
knows neither "lusa" nor "Senin depan", ignores a weekday that contradicts the date and
parses no ranges, so this small parser does the job, with tests. Times are local to
the agency's zone (or WIB/WITA/WIT when written) and returned in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.errors import HelpdeskError

MONTHS = {
    "jan": 1, "januari": 1, "january": 1, "feb": 2, "februari": 2, "pebruari": 2, "february": 2,
    "mar": 3, "maret": 3, "march": 3, "apr": 4, "april": 4, "mei": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6, "jul": 7, "juli": 7, "july": 7,
    "agu": 8, "agt": 8, "agus": 8, "agustus": 8, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "okt": 10, "oktober": 10, "oct": 10, "october": 10,
    "nov": 11, "nop": 11, "november": 11, "nopember": 11,
    "des": 12, "desember": 12, "dec": 12, "december": 12,
}  # fmt: skip
WEEKDAYS = {
    "senin": 0, "monday": 0, "selasa": 1, "tuesday": 1, "rabu": 2, "wednesday": 2,
    "kamis": 3, "thursday": 3, "jumat": 4, "jum'at": 4, "friday": 4,
    "sabtu": 5, "saturday": 5, "minggu": 6, "ahad": 6, "sunday": 6,
}  # fmt: skip
WEEKDAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
DAY_WORDS = {"hari ini": 0, "today": 0, "besok": 1, "tomorrow": 1, "lusa": 2}
ZONES = {"wib": "Asia/Jakarta", "wita": "Asia/Makassar", "wit": "Asia/Jayapura"}
FILLERS = {
    "pukul",
    "jam",
    "pkl",
    "pkl.",
    "at",
    "tanggal",
    "tgl",
    "tgl.",
    "hari",
    "mulai",
    "dari",
    "from",
    "on",
    ",",
}
SEPARATORS = {"-", "–", "—", "s.d.", "s.d", "s/d", "sd", "sampai", "hingga", "to", "until", "till"}
MAX_DURATION = timedelta(days=7)

_TIME = re.compile(r"^(\d{1,2})(?:[.:](\d{2}))?$")
_NUM_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class WhenError(HelpdeskError):
    """A time the parser could not read, with the reason in the user's language."""


@dataclass(frozen=True)
class Span:
    start: datetime  # UTC
    end: datetime  # UTC
    rest: str  # the words after the time expression (the expected impact, in one-liners)


@dataclass
class _Point:
    day: date | None = None
    rel: int | None = None  # hari ini 0, besok 1, lusa 2
    weekday: int | None = None
    next_week: bool = False
    clock: time | None = None
    zone: str | None = None


def _tokens(text: str) -> list[str]:
    text = text.replace("\u2013", " – ").replace("\u2014", " – ")
    # "20.00-22.00" → "20.00 - 22.00"; dates like 14-12-2026 keep their hyphens.
    text = re.sub(r"(\d{1,2}[.:]\d{2})-(\d{1,2}(?:[.:]\d{2})?)\b", r"\1 - \2", text)
    text = re.sub(r"\b(s\.d\.?|s/d)(?=\d)", r"\1 ", text, flags=re.I)
    return text.split()


def _word(tok: str) -> str:
    return tok.lower().strip(",")


@dataclass
class _Reader:
    """What the recognisers of one point share: the tokens, the point read so far, and
    whether a clock word ("jam", "pukul") has been seen, which lets a bare "21" be a time."""

    toks: list[str]
    need_clock: bool
    point: _Point = field(default_factory=_Point)
    saw_filler_clock: bool = False

    def word(self, i: int) -> str:
        return _word(self.toks[i]) if i < len(self.toks) else ""


#: A recogniser looks at toks[i:]; when it reads something into the point it returns the
#: index after it, otherwise None and the next recogniser is tried.
_Recogniser = Callable[[_Reader, int], int | None]

_CLOCK_FILLERS = ("pukul", "jam", "pkl", "pkl.", "at")


def _day_word(r: _Reader, i: int) -> int | None:
    """Day words ("hari ini", "besok", "lusa"); the two-word form first, so "hari" is not
    taken as a filler."""
    if r.point.rel is not None:
        return None
    two = f"{r.word(i)} {r.word(i + 1)}" if i + 1 < len(r.toks) else ""
    for n, words in ((2, two), (1, r.word(i))):
        if words in DAY_WORDS:
            r.point.rel = DAY_WORDS[words]
            return i + n
    return None


def _weekday(r: _Reader, i: int) -> int | None:
    """A weekday ("Sabtu"), optionally followed by "depan"/"next" for next calendar week."""
    w = r.word(i)
    if w not in WEEKDAYS or r.point.weekday is not None:
        return None
    r.point.weekday, i = WEEKDAYS[w], i + 1
    if i < len(r.toks) and r.word(i) in ("depan", "next"):
        r.point.next_week, i = True, i + 1
    return i


def _filler(r: _Reader, i: int) -> int | None:
    """Words that say nothing ("tanggal", "mulai"); remember the ones announcing a time."""
    w = r.word(i)
    if w not in FILLERS:
        return None
    r.saw_filler_clock = r.saw_filler_clock or w in _CLOCK_FILLERS
    return i + 1


def _zone(r: _Reader, i: int) -> int | None:
    """WIB/WITA/WIT, only after the time it qualifies."""
    w = r.word(i)
    if w not in ZONES or r.point.clock is None:
        return None
    r.point.zone = ZONES[w]
    return i + 1


def _iso_date(r: _Reader, i: int) -> int | None:
    m = _ISO_DATE.match(r.word(i))
    if not m or r.point.day is not None:
        return None
    r.point.day = _mkdate(int(m[1]), int(m[2]), int(m[3]))
    return i + 1


def _numeric_date(r: _Reader, i: int) -> int | None:
    """Numeric dates ("14/12", "14-12-2024", "14.12.24"); a yearless "14.12" before any
    time is the time 14.12, not a date."""
    w = r.word(i)
    m = _NUM_DATE.match(w)
    if not m or r.point.day is not None:
        return None
    if m[3] is None and "." in w and r.point.clock is None and _TIME.match(w):
        return None
    r.point.day = _mkdate(_full_year(m[3]), int(m[2]), int(m[1]))
    return i + 1


def _full_year(written: str | None) -> int:
    """A two-digit year is in this century; no year is 0, for _mkdate to choose later."""
    if not written:
        return 0
    return int(written) + (2000 if len(written) == 2 else 0)


def _day_month_name(r: _Reader, i: int) -> int | None:
    """A day and a month name ("14 Des", "14 des.", "14 Desember 2024")."""
    w = r.word(i)
    if not (w.isdigit() and i + 1 < len(r.toks)) or r.word(i + 1).rstrip(".") not in MONTHS:
        return None
    if r.point.day is not None:
        return None
    month = MONTHS[r.word(i + 1).rstrip(".")]
    i += 2
    year = 0
    if i < len(r.toks) and re.fullmatch(r"\d{4}", r.word(i)):
        year, i = int(r.word(i)), i + 1
    r.point.day = _mkdate(year, month, int(w))
    return i


def _clock(r: _Reader, i: int) -> int | None:
    """A time ("20.00", "20:00"), or a bare hour when the context says it is one."""
    m = _TIME.match(r.word(i))
    if not m or r.point.clock is not None or not _means_time(r, m):
        return None
    r.point.clock = _time_of(int(m[1]), int(m[2] or 0), r.toks[i])
    return i + 1


def _means_time(r: _Reader, m: re.Match[str]) -> bool:
    """A bare "21" is a time after a clock word, a date or weekday, or at the end of a
    span (where only a time can follow); at the start of a text it may be a day."""
    p = r.point
    return (
        m[2] is not None
        or r.saw_filler_clock
        or not r.need_clock
        or p.day is not None
        or p.weekday is not None
    )


def _time_of(hour: int, minute: int, written: str) -> time:
    """24.00 is the last minute of the day; anything past 23.59 is refused."""
    if hour == 24 and minute == 0:
        hour, minute = 23, 59
    if hour > 23 or minute > 59:
        raise WhenError("maintenance.when.bad_time", text=written)
    return time(hour, minute)


#: Tried in this order at every token; the first that reads something wins.
_RECOGNISERS: tuple[_Recogniser, ...] = (
    _day_word,
    _weekday,
    _filler,
    _zone,
    _iso_date,
    _numeric_date,
    _day_month_name,
    _clock,
)


def _read_one(r: _Reader, i: int) -> int | None:
    for recognise in _RECOGNISERS:
        after = recognise(r, i)
        if after is not None:
            return after
    return None


def _parse_point(toks: list[str], i: int, *, need_clock: bool) -> tuple[_Point, int]:
    """Read one date-and-time from toks[i:]; return it and the index after it.

    Reading stops at the first token no recogniser takes (a separator, the impact text),
    so the caller knows where the point ended."""
    r = _Reader(toks, need_clock)
    start = i
    while i < len(toks):
        after = _read_one(r, i)
        if after is None:
            break
        i = after
    if i == start:
        raise WhenError("maintenance.when.unreadable", text=" ".join(toks[start : start + 4]))
    return r.point, i


_NO_YEAR = 4  # a leap year no one writes, so "29/2" parses before the year is chosen


def _mkdate(year: int, month: int, day: int) -> date:
    try:
        return date(year or _NO_YEAR, month, day)
    except ValueError:
        raise WhenError("maintenance.when.bad_date", text=f"{day}/{month}") from None


def _resolve_day(p: _Point, today: date, clock: time, now_local: datetime) -> date:
    if p.rel is not None:
        return today + timedelta(days=p.rel)
    if p.day is not None:
        day = p.day
        if day.year == _NO_YEAR:  # no year written: the next such date from today on
            try:
                day = day.replace(year=today.year)
                if day < today:
                    day = day.replace(year=today.year + 1)
            except ValueError:
                raise WhenError(
                    "maintenance.when.bad_date", text=f"{day.day}/{day.month}"
                ) from None
        if p.weekday is not None and day.weekday() != p.weekday:
            raise WhenError(
                "maintenance.when.weekday_mismatch",
                date=f"{day.day}/{day.month}/{day.year}",
                actual=WEEKDAY_NAMES[day.weekday()],
                written=WEEKDAY_NAMES[p.weekday],
            )
        return day
    if p.weekday is not None:
        if p.next_week:  # the weekday of next calendar week (weeks start on Monday)
            return today - timedelta(days=today.weekday()) + timedelta(days=7 + p.weekday)
        ahead = (p.weekday - today.weekday()) % 7
        if ahead == 0 and datetime.combine(today, clock, now_local.tzinfo) <= now_local:
            ahead = 7
        return today + timedelta(days=ahead)
    day = today
    if datetime.combine(today, clock, now_local.tzinfo) <= now_local:
        day += timedelta(days=1)
    return day


def parse_span(text: str, now: datetime, tz: str = "Asia/Jakarta") -> Span:
    """Read "<start> <separator> <end> [rest]" at the start of `text`.

    The end may be a bare time ("22.00–02.00"): same day, or the next day when it is not
    after the start. Raises WhenError with a text key the chat can show."""
    toks = _tokens(text)
    if not toks:
        raise WhenError("maintenance.when.empty")
    first, i = _parse_point(toks, 0, need_clock=True)
    if first.clock is None:
        raise WhenError("maintenance.when.no_time")
    if i >= len(toks) or _word(toks[i]) not in SEPARATORS:
        raise WhenError("maintenance.when.no_end")
    second, j = _parse_point(toks, i + 1, need_clock=False)
    if second.clock is None:
        raise WhenError("maintenance.when.no_time")
    zone = ZoneInfo(first.zone or second.zone or tz)
    now_local = now.astimezone(zone)
    today = now_local.date()
    start_day = _resolve_day(first, today, first.clock, now_local)
    start = datetime.combine(start_day, first.clock, zone)
    if second.day is None and second.weekday is None:
        end = datetime.combine(start_day, second.clock, zone)
        if end <= start:
            end += timedelta(days=1)
    else:
        end = datetime.combine(
            _resolve_day(second, start_day, second.clock, start), second.clock, zone
        )
    if start <= now_local:
        raise WhenError("maintenance.when.in_past")
    if end <= start:
        raise WhenError("maintenance.when.end_before_start")
    if end - start > MAX_DURATION:
        raise WhenError("maintenance.when.too_long", days=MAX_DURATION.days)
    return Span(start.astimezone(UTC), end.astimezone(UTC), " ".join(toks[j:]).strip(" ,;:"))
