"""Business calendars: hand-worked due times across weekends, national holidays, cuti
bersama and opening hours, and properties that must hold for any start and target."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.business_calendar import CalendarError, calendar, parse_hours

WIB = ZoneInfo("Asia/Jakarta")
OFFICE = "senin-jumat 07:30-16:00"


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=WIB)


def office(cuti: frozenset[date] = frozenset(), package: bool = True):  # type: ignore[no-untyped-def]
    return calendar(OFFICE, "Asia/Jakarta", cuti, package)


def H(hours: float) -> timedelta:  # noqa: N802 - reads like the unit
    return timedelta(hours=hours)


# --- hand-worked cases ------------------------------------------------------------------


def test_friday_afternoon_runs_over_the_weekend() -> None:
    # Fri 6 Mar 2026 15:00: 1 h left on Friday, Sat/Sun closed, 3 h on Monday from 07:30.
    assert office().add(wib(2026, 3, 6, 15), H(4)) == wib(2026, 3, 9, 10, 30)
    assert office().business_time(wib(2026, 3, 6, 15), wib(2026, 3, 9, 10, 30)) == H(4)


def test_opened_on_saturday_starts_monday_morning() -> None:
    assert office().add(wib(2026, 3, 7, 9), timedelta(minutes=30)) == wib(2026, 3, 9, 8)


def test_landing_on_closing_time_is_due_at_closing() -> None:
    # 8.5 h from Monday 07:30 is Monday 16:00, not Tuesday 07:30.
    assert office().add(wib(2026, 3, 9, 7, 30), H(8.5)) == wib(2026, 3, 9, 16)


def test_independence_day_monday_is_closed() -> None:
    # Fri 14 Aug 2026 15:00 + 4 h: 1 h Friday; Mon 17 Aug (Hari Kemerdekaan) closed;
    # Tue 18 Aug 07:30 + 3 h.
    assert office().add(wib(2026, 8, 14, 15), H(4)) == wib(2026, 8, 18, 10, 30)


def test_nyepi_and_idul_fitri_with_the_packages_cuti_bersama() -> None:
    # Tue 17 Mar 2026 14:00 + 24 h of business time. Closed: Wed 18 (cuti bersama Nyepi),
    # Thu 19 (Nyepi), Fri 20 (cuti bersama Idul Fitri), Sat 21/Sun 22, Mon 23 and Tue 24
    # (cuti bersama). Tue 2 h, Wed 25 8.5 h, Thu 26 8.5 h = 19 h; Fri 27 07:30 + 5 h.
    assert office().add(wib(2026, 3, 17, 14), H(24)) == wib(2026, 3, 27, 12, 30)


def test_without_cuti_bersama_only_national_holidays_close() -> None:
    # Tue 2 h, Wed 18 8.5 h, Thu 19 Nyepi closed, Fri 20 8.5 h = 19 h; Mon 23 07:30 + 5 h.
    assert office(package=False).add(wib(2026, 3, 17, 14), H(24)) == wib(2026, 3, 23, 12, 30)


def test_configured_cuti_bersama_days_close() -> None:
    # Only Wed 18 Mar configured: Tue 2 h, Fri 20 8.5 h, Mon 23 8.5 h = 19 h; Tue 24 + 5 h.
    cal = office(frozenset({date(2026, 3, 18)}), package=False)
    assert cal.add(wib(2026, 3, 17, 14), H(24)) == wib(2026, 3, 24, 12, 30)
    assert cal.business_time(wib(2026, 3, 17, 14), wib(2026, 3, 24, 12, 30)) == H(24)


def test_24x7_ignores_weekends_and_holidays() -> None:
    cal = calendar("24x7")
    assert cal.add(wib(2026, 3, 19, 10), H(4)) == wib(2026, 3, 19, 14)  # on Nyepi
    assert cal.business_time(wib(2026, 3, 21), wib(2026, 3, 23)) == H(48)


def test_split_week_and_overnight_hours() -> None:
    cal = calendar("senin-kamis 07:30-16:00; jumat 07:30-11:30, 13:00-16:30")
    # Fri 6 Mar 11:00: 30 min before the Friday prayer break, then 13:00 + 30 min.
    assert cal.add(wib(2026, 3, 6, 11), H(1)) == wib(2026, 3, 6, 13, 30)
    night = calendar("setiap hari 22:00-06:00", package_cuti_bersama=False)
    # Mon 9 Mar 21:00 + 3 h: opens 22:00, runs past midnight to 01:00 Tuesday.
    assert night.add(wib(2026, 3, 9, 21), H(3)) == wib(2026, 3, 10, 1)


def test_catalog_strings_parse() -> None:
    for spec in (
        "24x7",
        "senin-jumat 07:00-19:00",
        "senin-jumat 06:00-20:00",
        OFFICE,
        "Senin-Jumat 07.30-16.00",
    ):
        parse_hours(spec)
    for bad in (
        "kadang-kadang",
        "senin-jumat 25:00-26:00",
        "senin-funday 07:00-08:00",
        "senin 08:00-08:00",
    ):
        with pytest.raises(CalendarError):
            parse_hours(bad)


# --- properties -------------------------------------------------------------------------

SPECS = st.sampled_from(
    [
        OFFICE,
        "senin-jumat 07:00-19:00",
        "senin-jumat 06:00-20:00",
        "24x7",
        "senin-kamis 07:30-16:00; jumat 07:30-11:30, 13:00-16:30",
        "setiap hari 22:00-06:00",
    ]
)
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)
AMOUNTS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=120))
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(SPECS, INSTANTS, AMOUNTS, AMOUNTS)
def test_due_time_is_monotone_in_the_target(
    spec: str, start: datetime, a: timedelta, b: timedelta
) -> None:
    cal = calendar(spec)
    lo, hi = sorted((a, b))
    assert cal.add(start, lo) <= cal.add(start, hi)


@FAST
@given(SPECS, INSTANTS, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
def test_business_time_never_exceeds_wall_time(spec: str, start: datetime, span: timedelta) -> None:
    assert timedelta(0) <= calendar(spec).business_time(start, start + span) <= span


@FAST
@given(SPECS, INSTANTS, AMOUNTS)
def test_add_and_business_time_agree(spec: str, start: datetime, amount: timedelta) -> None:
    cal = calendar(spec)
    assert cal.business_time(start, cal.add(start, amount)) == amount


@FAST
@given(
    SPECS,
    INSTANTS,
    AMOUNTS,
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)),
)
def test_pausing_never_makes_a_ticket_due_earlier(
    spec: str, created: datetime, target: timedelta, pause_after: timedelta, pause_for: timedelta
) -> None:
    cal = calendar(spec)
    paused = cal.business_time(created + pause_after, created + pause_after + pause_for)
    assert cal.add(created, target + paused) >= cal.add(created, target)


@FAST
@given(INSTANTS, AMOUNTS, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
def test_24x7_is_wall_clock_arithmetic(start: datetime, amount: timedelta, span: timedelta) -> None:
    cal = calendar("24x7")
    assert cal.add(start, amount) == start + amount
    assert cal.business_time(start, start + span) == span
